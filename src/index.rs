//! The `rstar` R-tree over households' unit vectors, and the queries the stages need:
//! households within a radius (zone statistics, the app's hover and click), k-th neighbour
//! distances (the k-distance plot and the suggested DBSCAN eps).
//!
//! Radii are great-circle metres turned into chords, so the tree's Euclidean queries answer
//! the great-circle ones exactly.

use rayon::prelude::*;
use rstar::RTree;
use rstar::primitives::GeomWithData;

use crate::sphere::{Xyz, chord_from_metres, metres_from_chord};

type Entry = GeomWithData<[f64; 3], u32>;

/// A bulk-loaded R-tree; entries carry the household's index.
pub struct Index {
    tree: RTree<Entry>,
}

impl Index {
    pub fn new(points: &[Xyz]) -> Self {
        let entries: Vec<Entry> = points.iter().enumerate().map(|(i, p)| GeomWithData::new(*p, i as u32)).collect();
        Self { tree: RTree::bulk_load(entries) }
    }

    pub fn len(&self) -> usize {
        self.tree.size()
    }

    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }

    /// Indices of the households within `radius_m` metres of `centre`.
    pub fn within(&self, centre: Xyz, radius_m: f64) -> impl Iterator<Item = u32> + '_ {
        let r = chord_from_metres(radius_m);
        self.tree.locate_within_distance(centre, r * r).map(|e| e.data)
    }

    /// The nearest household to `p` and its distance in metres.
    pub fn nearest(&self, p: Xyz) -> Option<(u32, f64)> {
        self.tree.nearest_neighbor(p).map(|e| (e.data, metres_from_chord(crate::sphere::chord2(p, *e.geom()).sqrt())))
    }

    /// Distance in metres from `p` to its k-th nearest household (k = 1 is the nearest,
    /// which is `p` itself when `p` is in the index).
    pub fn kth_distance_m(&self, p: Xyz, k: usize) -> Option<f64> {
        let e = self.tree.nearest_neighbor_iter(p).nth(k.checked_sub(1)?)?;
        Some(metres_from_chord(crate::sphere::chord2(p, *e.geom()).sqrt()))
    }
}

/// The sorted k-distance curve of (a deterministic sample of at most `max_sample` of)
/// `points`: for each, the distance to its `min_points`-th nearest point, itself included.
pub fn k_distances(points: &[Xyz], min_points: usize, max_sample: usize) -> Vec<f64> {
    if points.len() < 2 || min_points < 2 {
        return Vec::new();
    }
    let tree = KdTree::new(points);
    let step = points.len().div_ceil(max_sample.max(1));
    let k = min_points.min(points.len());
    let mut d: Vec<f64> =
        points.par_iter().step_by(step).map(|&p| metres_from_chord(tree.kth_chord2(p, k).sqrt())).collect();
    d.sort_by(f64::total_cmp);
    d
}

/// Slices this short are scanned rather than split.
const KD_LEAF: usize = 16;

/// An implicit k-d tree: only a permutation of the households' indices (4 bytes each), the
/// median of each slice on its axis (x, y, z in turn) at the slice's middle, the smaller
/// values before it, the larger after. For the k-distance curve, where an R-tree of a
/// million households (~90 bytes each with its bulk-load copies) was most of `needmap
/// cluster`'s memory. Distances are the same `chord2` as [`Index`]'s, so the k-th distance is
/// the same number.
struct KdTree<'a> {
    pts: &'a [Xyz],
    idx: Vec<u32>,
}

impl<'a> KdTree<'a> {
    fn new(pts: &'a [Xyz]) -> Self {
        let mut idx: Vec<u32> = (0..pts.len() as u32).collect();
        Self::build(pts, &mut idx, 0);
        Self { pts, idx }
    }

    fn build(pts: &[Xyz], idx: &mut [u32], axis: usize) {
        if idx.len() <= KD_LEAF {
            return;
        }
        let mid = idx.len() / 2;
        idx.select_nth_unstable_by(mid, |&a, &b| pts[a as usize][axis].total_cmp(&pts[b as usize][axis]));
        let (lo, rest) = idx.split_at_mut(mid);
        let hi = &mut rest[1..];
        let next = (axis + 1) % 3;
        if lo.len() > 50_000 {
            rayon::join(|| Self::build(pts, lo, next), || Self::build(pts, hi, next));
        } else {
            Self::build(pts, lo, next);
            Self::build(pts, hi, next);
        }
    }

    /// The squared chord to the `k`-th nearest household of `q` (k ≥ 1; a household in the
    /// tree is its own first). `k` must not exceed the number of households.
    fn kth_chord2(&self, q: Xyz, k: usize) -> f64 {
        // The k smallest so far, ascending.
        let mut best: Vec<f64> = Vec::with_capacity(k + 1);
        self.search(&self.idx, 0, q, k, &mut best);
        best[k - 1]
    }

    fn offer(best: &mut Vec<f64>, k: usize, d: f64) {
        if best.len() == k && d >= best[k - 1] {
            return;
        }
        let at = best.partition_point(|&b| b <= d);
        best.insert(at, d);
        best.truncate(k);
    }

    fn search(&self, idx: &[u32], axis: usize, q: Xyz, k: usize, best: &mut Vec<f64>) {
        if idx.len() <= KD_LEAF {
            for &i in idx {
                Self::offer(best, k, crate::sphere::chord2(q, self.pts[i as usize]));
            }
            return;
        }
        let mid = idx.len() / 2;
        let m = self.pts[idx[mid] as usize];
        let gap = q[axis] - m[axis];
        let (near, far) = if gap < 0.0 { (&idx[..mid], &idx[mid + 1..]) } else { (&idx[mid + 1..], &idx[..mid]) };
        let next = (axis + 1) % 3;
        self.search(near, next, q, k, best);
        Self::offer(best, k, crate::sphere::chord2(q, m));
        if best.len() < k || gap * gap < best[k - 1] {
            self.search(far, next, q, k, best);
        }
    }
}

/// The knee of a sorted k-distance curve (Kneedle: the point farthest below the chord from
/// the first to the last value), rounded to two significant figures. `None` when the curve is
/// too short or flat.
pub fn knee(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    if n < 5 {
        return None;
    }
    // Ignore the top 2 % so one remote household does not flatten everything.
    let hi_i = ((n as f64) * 0.98) as usize - 1;
    let (lo, hi) = (sorted[0], sorted[hi_i]);
    if hi <= lo {
        return None;
    }
    let best = (0..=hi_i)
        .map(|i| {
            let x = i as f64 / hi_i as f64;
            let y = (sorted[i] - lo) / (hi - lo);
            (x - y, i)
        })
        .max_by(|a, b| a.0.total_cmp(&b.0))?;
    Some(round2(sorted[best.1]))
}

fn round2(v: f64) -> f64 {
    if v <= 0.0 {
        return v;
    }
    let mag = 10f64.powf(v.log10().floor() - 1.0);
    (v / mag).round() * mag
}

/// A default min points for household zones: about ln n, between 4 and 20 (9 for 6,000
/// critical households, 14 for a million).
pub fn suggest_min_points(n: usize) -> usize {
    ((n.max(1) as f64).ln().round() as usize).clamp(4, 20)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::{distance_m, xyz_from_lonlat};

    #[test]
    fn within_matches_brute_force() {
        let ll: Vec<(f64, f64)> = (0..500)
            .map(|i| (-77.0 + (i as f64 * 0.618).fract() * 0.02, -12.0 + (i as f64 * 0.754).fract() * 0.02))
            .collect();
        let pts: Vec<Xyz> = ll.iter().map(|&(a, b)| xyz_from_lonlat(a, b)).collect();
        let idx = Index::new(&pts);
        let mut got: Vec<u32> = idx.within(pts[7], 300.0).collect();
        got.sort();
        let want: Vec<u32> =
            (0..500).filter(|&j| distance_m(ll[7].0, ll[7].1, ll[j].0, ll[j].1) <= 300.0).map(|j| j as u32).collect();
        assert_eq!(got, want);
        assert_eq!(idx.nearest(pts[3]).unwrap().0, 3);
    }

    #[test]
    fn knee_of_a_hockey_stick() {
        // 90 values rising slowly to 100, then a steep tail.
        let mut v: Vec<f64> = (0..90).map(|i| 50.0 + i as f64 * 50.0 / 89.0).collect();
        v.extend((1..=10).map(|i| 100.0 + i as f64 * 200.0));
        assert_eq!(knee(&v), Some(100.0));
        assert_eq!(knee(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0]), None);
        assert_eq!(round2(147.3), 150.0);
        assert_eq!(round2(0.0123), 0.012);
    }

    #[test]
    fn k_distances_equal_the_r_tree_s() {
        // A dense city with duplicates and a few remote households: every sampled k-th
        // distance equals the R-tree's nearest-neighbour walk.
        let mut ll: Vec<(f64, f64)> = (0..3000)
            .map(|i| (-77.0 + (i as f64 * 0.618).fract() * 0.03, -12.0 + (i as f64 * 0.754).fract() * 0.03))
            .collect();
        let dups: Vec<(f64, f64)> = (0..40).map(|i| ll[i * 7]).collect();
        ll.extend(dups);
        ll.extend([(-70.0, -15.0), (179.9999, 0.0), (-179.9999, 0.0), (0.0, 89.9999)]);
        let pts: Vec<Xyz> = ll.iter().map(|&(a, b)| xyz_from_lonlat(a, b)).collect();
        let idx = Index::new(&pts);
        for k in [2, 5, 14, 40] {
            let got = k_distances(&pts, k, 500);
            let step = pts.len().div_ceil(500);
            let mut want: Vec<f64> = pts.iter().step_by(step).map(|&p| idx.kth_distance_m(p, k).unwrap()).collect();
            want.sort_by(f64::total_cmp);
            assert_eq!(got, want, "k = {k}");
        }
        // k larger than the households: the farthest one.
        let few = &pts[..5];
        assert_eq!(k_distances(few, 9, 10), {
            let i = Index::new(few);
            let mut w: Vec<f64> = few.iter().map(|&p| i.kth_distance_m(p, 5).unwrap()).collect();
            w.sort_by(f64::total_cmp);
            w
        });
    }

    #[test]
    fn kth_distance_counts_self_first() {
        let pts = [xyz_from_lonlat(0.0, 0.0), xyz_from_lonlat(0.0, 0.001)];
        let idx = Index::new(&pts);
        assert_eq!(idx.kth_distance_m(pts[0], 1), Some(0.0));
        let d = idx.kth_distance_m(pts[0], 2).unwrap();
        assert!((d - 111.195).abs() < 0.01, "{d}");
        assert_eq!(idx.kth_distance_m(pts[0], 3), None);
    }
}
