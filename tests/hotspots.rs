//! Hot spots (Getis-Ord Gi* with Benjamini–Hochberg): the core against a brute-force oracle
//! written from the formula (haversine distances over all n² pairs, its own normal tail and
//! its own step-up procedure), named edge cases, and the `needmap hotspots` command.

use needmap::hotspots::{HotspotError, HotspotParams, gi_star, hotspots};
use needmap::progress::Progress;
use needmap::sphere::{Xyz, distance_m, xyz_from_lonlat};

/// A small deterministic generator (xorshift64*), so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Households in three places — Lima, across the antimeridian in Fiji, near the North Pole —
/// with duplicate coordinates, need rising towards one corner of each place, and a few
/// missing values.
fn survey(seed: u64, n: usize) -> (Vec<(f64, f64)>, Vec<f64>) {
    let mut rng = Rng(seed);
    let mut ll = Vec::with_capacity(n);
    let mut v = Vec::with_capacity(n);
    for i in 0..n {
        let (lon0, lat0, span) = match i % 3 {
            0 => (-77.03, -12.05, 0.03),
            1 => (180.0, -17.0, 0.03),
            _ => (10.0, 89.99, 0.3),
        };
        let (a, b) = (rng.next(), rng.next());
        let (mut lon, lat) = (lon0 + (a - 0.5) * span, lat0 + (b - 0.5) * span * 0.2);
        if lon > 180.0 {
            lon -= 360.0;
        }
        if i % 17 == 5 && !ll.is_empty() {
            // A duplicate of an earlier household's coordinates.
            let j = (rng.next() * ll.len() as f64) as usize;
            ll.push(ll[j]);
        } else {
            ll.push((lon, lat));
        }
        let value = if i % 41 == 7 { f64::NAN } else { 3.0 * a * b + rng.next() };
        v.push(value);
    }
    (ll, v)
}

/// Standard normal upper tail by Simpson's rule on the density (independent of erfc).
fn upper_tail(z: f64) -> f64 {
    let z = z.abs();
    let (a, b) = (z, z + 40.0);
    let m = 40_000;
    let h = (b - a) / m as f64;
    let f = |x: f64| (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let mut s = f(a) + f(b);
    for k in 1..m {
        s += f(a + k as f64 * h) * if k % 2 == 1 { 4.0 } else { 2.0 };
    }
    s * h / 3.0
}

struct Oracle {
    z: Vec<Option<f64>>,
    p: Vec<Option<f64>>,
    w: Vec<u32>,
    hot: Vec<i8>,
}

/// Gi* straight from the formula over all pairs.
fn oracle(ll: &[(f64, f64)], v: &[f64], band_m: f64, q: f64) -> Oracle {
    let n_all = ll.len();
    let have: Vec<usize> = (0..n_all).filter(|&i| v[i].is_finite()).collect();
    let n = have.len() as f64;
    let mean = have.iter().map(|&i| v[i]).sum::<f64>() / n;
    let s = (have.iter().map(|&i| (v[i] - mean).powi(2)).sum::<f64>() / n).sqrt();
    let mut z = vec![None; n_all];
    let mut w = vec![0u32; n_all];
    for &i in &have {
        let mut wi = 0.0;
        let mut sum = 0.0;
        for &j in &have {
            if distance_m(ll[i].0, ll[i].1, ll[j].0, ll[j].1) <= band_m {
                wi += 1.0;
                sum += v[j];
            }
        }
        w[i] = wi as u32;
        if wi > 1.0 && wi < n {
            z[i] = Some((sum - mean * wi) / (s * ((n * wi - wi * wi) / (n - 1.0)).sqrt()));
        }
    }
    let p: Vec<Option<f64>> = z.iter().map(|z| z.map(|z| 2.0 * upper_tail(z))).collect();
    // Benjamini–Hochberg: reject the k smallest, k the largest rank with p(k) ≤ k q / m.
    let mut tested: Vec<(f64, usize)> = p.iter().enumerate().filter_map(|(i, p)| p.map(|p| (p, i))).collect();
    tested.sort_by(|a, b| a.0.total_cmp(&b.0));
    let m = tested.len() as f64;
    let k = (0..tested.len()).rev().find(|&k| tested[k].0 <= (k + 1) as f64 * q / m).map_or(0, |k| k + 1);
    let mut hot = vec![0i8; n_all];
    for &(_, i) in &tested[..k] {
        hot[i] = if z[i].unwrap() > 0.0 { 1 } else { -1 };
    }
    Oracle { z, p, w, hot }
}

fn xyz(ll: &[(f64, f64)]) -> Vec<Xyz> {
    ll.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect()
}

#[test]
fn gi_star_matches_brute_force_oracle_across_antimeridian_and_pole() {
    for (seed, n, band_m) in [(1, 900, 400.0), (2, 1500, 250.0), (3, 600, 1_200.0)] {
        let (ll, v) = survey(seed, n);
        let got = gi_star(&xyz(&ll), &v, band_m, 0.05, &Progress::new()).unwrap();
        let want = oracle(&ll, &v, band_m, 0.05);
        assert_eq!(got.neighbours, want.w, "seed {seed}");
        for i in 0..n {
            match (got.z[i], want.z[i]) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9 * b.abs().max(1.0), "z[{i}] {a} vs {b}"),
                (None, None) => {}
                (a, b) => panic!("seed {seed}, household {i}: z {a:?} vs {b:?}"),
            }
            match (got.p[i], want.p[i]) {
                (Some(a), Some(b)) => assert!((a - b).abs() < 1e-11 + 1e-8 * b, "p[{i}] {a} vs {b}"),
                (None, None) => {}
                (a, b) => panic!("seed {seed}, household {i}: p {a:?} vs {b:?}"),
            }
        }
        assert_eq!(got.hot, want.hot, "seed {seed}");
        let c = got.counts;
        assert!(c.hot > 0 && c.cold > 0, "seed {seed}: the data has hot and cold places: {c:?}");
        assert_eq!(c.hot + c.cold + c.not_significant, c.tested);
        assert_eq!(c.tested + c.not_tested(), n);
        assert_eq!(c.missing_value, v.iter().filter(|x| x.is_nan()).count());
        // Neighbours across the antimeridian count: some Fiji household east of 180° has one west of it.
        let across = (0..n).any(|i| {
            ll[i].0 > 179.99
                && (0..n).any(|j| ll[j].0 < -179.99 && distance_m(ll[i].0, ll[i].1, ll[j].0, ll[j].1) <= band_m)
        });
        assert!(across, "seed {seed}: the data crosses the antimeridian");
    }
}

#[test]
fn same_output_with_one_and_two_threads() {
    let (ll, v) = survey(7, 20_000);
    let pts = xyz(&ll);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| hotspots(&pts, &v, &HotspotParams::default(), &Progress::new()).unwrap())
    };
    let one = run(1);
    let two = run(2);
    assert!(one == two, "results differ between 1 and 2 threads");
    assert!(one.band_note.contains("suggested"), "{}", one.band_note);
}

#[test]
fn zero_variance_is_an_error_that_says_so() {
    let pts: Vec<Xyz> = (0..20).map(|i| xyz_from_lonlat(-77.0 + i as f64 * 1e-4, -12.0)).collect();
    let v = vec![0.1; 20];
    let e = gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap_err();
    assert_eq!(e, HotspotError::ZeroVariance { value: 0.1, n: 20 });
    assert_eq!(
        e.to_string(),
        "the value is 0.1 for all 20 households that have one: Gi* compares each neighbourhood with the whole \
         survey and needs a value that varies; choose another value"
    );
    // A missing value does not make it vary.
    let mut v = v;
    v[3] = f64::NAN;
    assert_eq!(
        gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap_err(),
        HotspotError::ZeroVariance { value: 0.1, n: 19 }
    );
}

#[test]
fn isolated_household_is_not_tested_and_counted() {
    // Nine households in a 30 m row, one 5 km away.
    let mut pts: Vec<Xyz> = (0..9).map(|i| xyz_from_lonlat(-77.0 + i as f64 * 3e-5, -12.0)).collect();
    pts.push(xyz_from_lonlat(-76.95, -12.0));
    let v: Vec<f64> = (0..10).map(|i| i as f64).collect();
    let r = gi_star(&pts, &v, 100.0, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.neighbours[9], 1);
    assert_eq!((r.z[9], r.p[9], r.hot[9], r.bin[9]), (None, None, 0, 0));
    assert_eq!(r.counts.isolated, 1);
    assert_eq!(r.counts.tested, 9);
    assert!(
        r.notes.iter().any(|n| n.starts_with("1 households have no other household within 100 m")),
        "{:?}",
        r.notes
    );
    assert!(r.z[..9].iter().all(|z| z.is_some_and(f64::is_finite)));
}

#[test]
fn band_holding_everyone_is_not_tested() {
    let pts: Vec<Xyz> = (0..5).map(|i| xyz_from_lonlat(i as f64 * 1e-4, 0.0)).collect();
    let r = gi_star(&pts, &[1.0, 2.0, 3.0, 4.0, 5.0], 10_000.0, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.counts.whole_band, 5);
    assert_eq!(r.counts.tested, 0);
    assert!(r.z.iter().all(Option::is_none) && r.hot.iter().all(|&h| h == 0));
    assert_eq!(r.p_cutoff, None);
    assert!(r.notes[0].contains("every household within 10000 m"), "{:?}", r.notes);
}

#[test]
fn a_band_over_half_the_earth_is_whole_band_not_a_panic() {
    let pts = [xyz_from_lonlat(0.0, 0.0), xyz_from_lonlat(180.0, 0.0), xyz_from_lonlat(90.0, 45.0)];
    let r = gi_star(&pts, &[1.0, 2.0, 4.0], 3.0e7, 0.05, &Progress::new()).unwrap();
    assert_eq!(r.neighbours, [3, 3, 3]);
    assert_eq!(r.counts.whole_band, 3);
}
