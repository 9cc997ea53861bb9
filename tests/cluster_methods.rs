//! k-means and HDBSCAN through the public API on generated cities larger than the unit
//! tests': labels independent of the thread count, neighbourhoods of uneven density found
//! by HDBSCAN, and a scale run (ignored by default: `cargo test --release
//! --no-default-features --test cluster_methods -- --ignored`).

use needmap::cluster::hdbscan::{HdbscanParams, hdbscan};
use needmap::cluster::kmeans::{KMeansParams, kmeans};
use needmap::progress::Progress;
use needmap::sphere::{Xyz, xyz_from_lonlat};

/// SplitMix64 uniforms in [0, 1).
struct Rng(u64);

impl Rng {
    fn f(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly normal (sum of four uniforms), mean 0, standard deviation 1.
    fn normal(&mut self) -> f64 {
        ((self.f() + self.f() + self.f() + self.f()) - 2.0) * 3f64.sqrt()
    }
}

/// Metres to degrees near Lima.
const LAT_DEG_PER_M: f64 = 1.0 / 110_600.0;
const LON_DEG_PER_M: f64 = 1.0 / 108_900.0;

/// `n` households around (lon, lat) with a spread of `sd_m` metres.
fn neighbourhood(r: &mut Rng, lon: f64, lat: f64, sd_m: f64, n: usize) -> Vec<Xyz> {
    (0..n)
        .map(|_| xyz_from_lonlat(lon + r.normal() * sd_m * LON_DEG_PER_M, lat + r.normal() * sd_m * LAT_DEG_PER_M))
        .collect()
}

/// A city: `hoods` neighbourhoods on a grid 4 km apart, spreads from 80 m to 400 m, and
/// `scattered` households anywhere in the 20 km square.
fn city(seed: u64, hoods: usize, per: usize, scattered: usize) -> (Vec<Xyz>, Vec<usize>) {
    let mut r = Rng(seed);
    let (mut pts, mut hood) = (Vec::new(), Vec::new());
    for h in 0..hoods {
        let (lon, lat) = (-77.08 + 0.036 * (h % 5) as f64, -12.10 + 0.036 * (h / 5) as f64);
        let sd_m = 80.0 + 320.0 * (h % 3) as f64 / 2.0;
        pts.extend(neighbourhood(&mut r, lon, lat, sd_m, per));
        hood.extend(std::iter::repeat_n(h, per));
    }
    for _ in 0..scattered {
        pts.push(xyz_from_lonlat(-77.10 + 0.18 * r.f(), -12.12 + 0.18 * r.f()));
        hood.push(usize::MAX);
    }
    (pts, hood)
}

fn on_threads<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap().install(f)
}

#[test]
fn hdbscan_finds_neighbourhoods_of_uneven_density() {
    let (pts, hood) = city(7, 10, 800, 1500);
    let labels = hdbscan(&pts, &HdbscanParams { min_cluster_size: 100, min_samples: 10 }, &Progress::new()).unwrap();
    for h in 0..10 {
        let members: Vec<i32> = (0..pts.len()).filter(|&i| hood[i] == h).map(|i| labels[i]).collect();
        let clustered: Vec<i32> = members.iter().copied().filter(|&l| l >= 0).collect();
        assert!(clustered.len() * 10 >= members.len() * 8, "neighbourhood {h}: {} of 800 clustered", clustered.len());
        // Each cluster lies in one neighbourhood (scattered households aside).
        for &l in &clustered {
            assert!(
                (0..pts.len()).all(|i| labels[i] != l || hood[i] == h || hood[i] == usize::MAX),
                "cluster {l} spans neighbourhoods"
            );
        }
    }
    // Most scattered households are noise; those close to a neighbourhood join it when its
    // cluster is born, as in scikit-learn.
    let scattered_noise = (0..pts.len()).filter(|&i| hood[i] == usize::MAX && labels[i] < 0).count();
    assert!(scattered_noise * 3 >= 1500 * 2, "{scattered_noise} of 1500 scattered households are noise");
}

#[test]
fn hdbscan_labels_do_not_depend_on_the_thread_count() {
    let (pts, _) = city(11, 25, 1600, 10_000);
    let p = HdbscanParams::default();
    let one = on_threads(1, || hdbscan(&pts, &p, &Progress::new()).unwrap());
    let two = on_threads(2, || hdbscan(&pts, &p, &Progress::new()).unwrap());
    assert!(one == two, "labels differ between one and two threads");
    assert!(one.iter().any(|&l| l >= 25), "finds many clusters");
}

#[test]
fn kmeans_weighted_labels_do_not_depend_on_the_thread_count() {
    let (pts, _) = city(13, 25, 6000, 20_000);
    let mut r = Rng(5);
    let w: Vec<f64> = (0..pts.len()).map(|_| (r.f() * 4.0).floor()).collect();
    let p = KMeansParams { k: 30, seed: 9, ..Default::default() };
    let one = on_threads(1, || kmeans(&pts, Some(&w), &p, &Progress::new()).unwrap());
    let two = on_threads(2, || kmeans(&pts, Some(&w), &p, &Progress::new()).unwrap());
    assert!(one.labels == two.labels, "labels differ between one and two threads");
    assert_eq!(one.inertia_m2.to_bits(), two.inertia_m2.to_bits());
    assert_eq!(one.centres_lonlat, two.centres_lonlat);
}

#[test]
#[ignore = "a million households: run with --ignored (release recommended)"]
fn a_million_households() {
    let (pts, _) = city(17, 25, 36_000, 100_000);
    let t = std::time::Instant::now();
    let labels = hdbscan(&pts, &HdbscanParams::default(), &Progress::new()).unwrap();
    eprintln!("HDBSCAN, {} households: {:.2} s", pts.len(), t.elapsed().as_secs_f64());
    assert_eq!(labels.len(), pts.len());
    let t = std::time::Instant::now();
    let out = kmeans(&pts, None, &KMeansParams { k: 20, seed: 1, ..Default::default() }, &Progress::new()).unwrap();
    eprintln!(
        "k-means k 20, {} households: {:.2} s, {} iterations",
        pts.len(),
        t.elapsed().as_secs_f64(),
        out.iterations
    );
    let one = on_threads(1, || hdbscan(&pts, &HdbscanParams::default(), &Progress::new()).unwrap());
    assert!(one == labels, "HDBSCAN labels differ between one thread and all");
}
