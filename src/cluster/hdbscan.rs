//! HDBSCAN (Campello, Moulavi & Sander 2013) on the sphere: clusters of uneven density with
//! no radius to choose, as scikit-learn's `HDBSCAN` runs it (excess-of-mass selection, no
//! single cluster).
//!
//! # Parameters
//! - `min_cluster_size`: the smallest group that counts as a cluster.
//! - `min_samples`: the neighbour count of the core distance (the household itself counts,
//!   as in scikit-learn); larger values make the result more conservative (more noise).
//!
//! # Returns
//! Labels in input order: a cluster number ≥ 0 (numbered by their first household in the
//! input), or `-1` for noise.
//!
//! # Algorithm
//! 1. Core distance of each household: great-circle metres to its `min_samples`-th nearest
//!    household (R-tree query on unit vectors).
//! 2. Minimum spanning tree of the mutual-reachability graph
//!    `max(core(a), core(b), d(a, b))`, exactly, with Prim's algorithm on chord lengths (the
//!    tree only depends on the order of the weights, and chords order like metres); the
//!    inner loop runs in parallel in fixed chunks, ties go to the lower index, so the tree
//!    does not depend on the thread count.
//! 3. The single-linkage hierarchy of the tree, condensed with `min_cluster_size`.
//! 4. Excess-of-mass selection of the most stable clusters (λ = 1 / metres).
//!
//! Cost: O(n²) time and O(n) memory for the spanning tree: about a second for 20,000
//! households, a minute for 150,000. Above [`MAX_POINTS`] it refuses with a message rather
//! than keep a planner waiting; DBSCAN handles millions.
//!
//! # Examples
//! ```
//! use needmap::cluster::hdbscan::{hdbscan, HdbscanParams};
//! use needmap::progress::Progress;
//! use needmap::sphere::xyz_from_lonlat;
//! // Two tight groups of 12 households 5 km apart, and one household far from both.
//! let mut pts = Vec::new();
//! for i in 0..12 {
//!     let d = i as f64 * 0.0001;
//!     pts.push(xyz_from_lonlat(-77.0 + d, -12.0));
//!     pts.push(xyz_from_lonlat(-76.95 + d, -12.0));
//! }
//! pts.push(xyz_from_lonlat(-76.0, -13.0));
//! let labels = hdbscan(&pts, &HdbscanParams { min_cluster_size: 5, min_samples: 3 }, &Progress::new()).unwrap();
//! assert_eq!(labels[0], 0);
//! assert_eq!(labels[1], 1);
//! assert!(labels[..24].iter().enumerate().all(|(i, &l)| l == (i % 2) as i32));
//! assert_eq!(labels[24], -1);
//! ```

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::index::Index;
use crate::progress::{Cancelled, Progress};
use crate::sphere::{Xyz, chord2, metres_from_chord};

/// Most households HDBSCAN accepts (the spanning tree is quadratic).
pub const MAX_POINTS: usize = 150_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct HdbscanParams {
    pub min_cluster_size: usize,
    pub min_samples: usize,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        Self { min_cluster_size: 10, min_samples: 10 }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HdbscanError {
    #[error("cancelled")]
    Cancelled,
    #[error("min_cluster_size must be at least 2 and min_samples at least 1")]
    BadParams,
    #[error(
        "{0} households is more than HDBSCAN handles here ({MAX_POINTS}); use DBSCAN, or cluster fewer households (a higher critical threshold)"
    )]
    TooMany(usize),
}

impl From<Cancelled> for HdbscanError {
    fn from(_: Cancelled) -> Self {
        HdbscanError::Cancelled
    }
}

const CHUNK: usize = 2048;

/// Edges of the minimum spanning tree of the mutual-reachability graph: (a, b, chord weight).
fn spanning_tree(pts: &[Xyz], core: &[f64], progress: &Progress) -> Result<Vec<(u32, u32, f64)>, Cancelled> {
    let n = pts.len();
    let mut dist = vec![f64::INFINITY; n];
    let mut from = vec![0u32; n];
    let mut in_tree = vec![false; n];
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    let mut u = 0usize;
    in_tree[0] = true;
    progress.stage("spanning tree", n as u64);
    for step in 1..n {
        if step % 256 == 0 {
            progress.check()?;
            progress.set(step as u64);
        }
        let (pu, cu) = (pts[u], core[u]);
        // Relax every vertex outside the tree from u; each chunk reports its best.
        let best = dist
            .par_chunks_mut(CHUNK)
            .zip(from.par_chunks_mut(CHUNK))
            .enumerate()
            .map(|(c, (d, f))| {
                let mut best = (f64::INFINITY, usize::MAX);
                for k in 0..d.len() {
                    let v = c * CHUNK + k;
                    if in_tree[v] {
                        continue;
                    }
                    let w = chord2(pu, pts[v]).sqrt().max(cu).max(core[v]);
                    if w < d[k] {
                        d[k] = w;
                        f[k] = u as u32;
                    }
                    if d[k] < best.0 {
                        best = (d[k], v);
                    }
                }
                best
            })
            .reduce(|| (f64::INFINITY, usize::MAX), |a, b| if b.0 < a.0 || (b.0 == a.0 && b.1 < a.1) { b } else { a });
        let v = best.1;
        in_tree[v] = true;
        edges.push((from[v], v as u32, best.0));
        u = v;
    }
    Ok(edges)
}

/// One merge of the single-linkage hierarchy: children (points are `0..n`, merges `n..`),
/// distance in metres, and size.
#[derive(Clone, Copy)]
struct Merge {
    left: usize,
    right: usize,
    dist: f64,
    size: usize,
}

fn find(parent: &mut [usize], mut x: usize) -> usize {
    while parent[x] != x {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    x
}

/// The single-linkage hierarchy from the spanning tree (edges sorted by weight, ties by ends).
fn hierarchy(n: usize, mut edges: Vec<(u32, u32, f64)>) -> Vec<Merge> {
    edges.sort_by(|a, b| {
        a.2.total_cmp(&b.2).then(a.0.min(a.1).cmp(&b.0.min(b.1))).then(a.0.max(a.1).cmp(&b.0.max(b.1)))
    });
    let mut parent: Vec<usize> = (0..2 * n).collect();
    let mut size = vec![1usize; 2 * n];
    let mut merges = Vec::with_capacity(n.saturating_sub(1));
    for (a, b, w) in edges {
        let (ra, rb) = (find(&mut parent, a as usize), find(&mut parent, b as usize));
        let node = n + merges.len();
        parent[ra] = node;
        parent[rb] = node;
        size[node] = size[ra] + size[rb];
        merges.push(Merge { left: ra, right: rb, dist: metres_from_chord(w), size: size[node] });
    }
    merges
}

/// A row of the condensed tree: `child` (a point `< n`, or a cluster label `≥ n`) leaves
/// `parent` (a cluster label) at `lambda`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Row {
    parent: usize,
    child: usize,
    lambda: f64,
    size: usize,
}

fn lambda_of(dist: f64) -> f64 {
    if dist > 0.0 { 1.0 / dist } else { f64::INFINITY }
}

/// Points under hierarchy node `node`.
fn leaves(n: usize, merges: &[Merge], node: usize, out: &mut Vec<usize>) {
    let mut stack = vec![node];
    while let Some(x) = stack.pop() {
        if x < n {
            out.push(x);
        } else {
            stack.push(merges[x - n].right);
            stack.push(merges[x - n].left);
        }
    }
}

/// The condensed tree (hdbscan's `condense_tree`): clusters are labelled `n` (root), `n+1`…
fn condense(n: usize, merges: &[Merge], min_size: usize) -> Vec<Row> {
    let size_of = |x: usize| if x < n { 1 } else { merges[x - n].size };
    let root = n + merges.len() - 1;
    let mut rows = Vec::new();
    let mut next_label = n + 1;
    // (hierarchy node, its cluster label), breadth first.
    let mut queue = std::collections::VecDeque::from([(root, n)]);
    let mut pts = Vec::new();
    while let Some((node, label)) = queue.pop_front() {
        if node < n {
            continue;
        }
        let m = merges[node - n];
        let lambda = lambda_of(m.dist);
        let (ls, rs) = (size_of(m.left), size_of(m.right));
        match (ls >= min_size, rs >= min_size) {
            (true, true) => {
                for (child, size) in [(m.left, ls), (m.right, rs)] {
                    rows.push(Row { parent: label, child: next_label, lambda, size });
                    queue.push_back((child, next_label));
                    next_label += 1;
                }
            }
            (big_left, big_right) => {
                for (child, big) in [(m.left, big_left), (m.right, big_right)] {
                    if big {
                        queue.push_back((child, label));
                    } else {
                        pts.clear();
                        leaves(n, merges, child, &mut pts);
                        rows.extend(pts.iter().map(|&p| Row { parent: label, child: p, lambda, size: 1 }));
                    }
                }
            }
        }
    }
    rows
}

/// Excess-of-mass selection; returns the selected cluster labels.
fn select(n: usize, rows: &[Row]) -> Vec<usize> {
    let clusters = rows.iter().filter(|r| r.child >= n).map(|r| r.child).max().map_or(1, |m| m - n + 1);
    let mut birth = vec![0.0f64; clusters];
    for r in rows.iter().filter(|r| r.child >= n) {
        birth[r.child - n] = r.lambda;
    }
    let mut stability = vec![0.0f64; clusters];
    for r in rows {
        let b = birth[r.parent - n];
        let gain = if r.lambda == b { 0.0 } else { (r.lambda - b) * r.size as f64 };
        stability[r.parent - n] += gain;
    }
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); clusters];
    for r in rows.iter().filter(|r| r.child >= n) {
        children[r.parent - n].push(r.child - n);
    }
    let mut selected = vec![false; clusters];
    // Children have higher labels than parents: go from the last label back, root excluded.
    for c in (1..clusters).rev() {
        let sub: f64 = children[c].iter().map(|&k| stability[k]).sum();
        if sub > stability[c] {
            stability[c] = sub;
        } else {
            selected[c] = true;
            let mut stack = children[c].clone();
            while let Some(k) = stack.pop() {
                selected[k] = false;
                stack.extend(children[k].iter().copied());
            }
        }
    }
    (1..clusters).filter(|&c| selected[c]).map(|c| c + n).collect()
}

/// Runs HDBSCAN on unit vectors; see the module documentation.
pub fn hdbscan(points: &[Xyz], params: &HdbscanParams, progress: &Progress) -> Result<Vec<i32>, HdbscanError> {
    if params.min_cluster_size < 2 || params.min_samples < 1 {
        return Err(HdbscanError::BadParams);
    }
    let n = points.len();
    if n > MAX_POINTS {
        return Err(HdbscanError::TooMany(n));
    }
    if n < params.min_cluster_size.max(2) {
        return Ok(vec![-1; n]);
    }
    progress.stage("core distances", n as u64);
    let index = Index::new(points);
    let k = params.min_samples.min(n);
    let core: Vec<f64> = points
        .par_iter()
        .map(|&p| {
            let m = index.kth_distance_m(p, k).unwrap_or(0.0);
            crate::sphere::chord_from_metres(m)
        })
        .collect();
    progress.check()?;
    let edges = spanning_tree(points, &core, progress)?;
    progress.stage("condense", 1);
    let merges = hierarchy(n, edges);
    let rows = condense(n, &merges, params.min_cluster_size);
    let chosen = select(n, &rows);
    // Each point: walk up the condensed tree to a selected cluster, or noise.
    let mut up = vec![usize::MAX; n + rows.len() + 1];
    for r in &rows {
        up[r.child] = r.parent;
    }
    let mut is_chosen = vec![false; up.len()];
    for &c in &chosen {
        is_chosen[c] = true;
    }
    let mut raw = vec![-1i64; n];
    for (p, out) in raw.iter_mut().enumerate() {
        let mut x = up[p];
        while x != usize::MAX {
            if is_chosen[x] {
                *out = x as i64;
                break;
            }
            x = up[x];
        }
    }
    // Number clusters by their first household in input order.
    let mut number = std::collections::HashMap::new();
    Ok(raw
        .iter()
        .map(|&c| {
            if c < 0 {
                -1
            } else {
                let next = number.len() as i32;
                *number.entry(c).or_insert(next)
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::xyz_from_lonlat;
    use proptest::prelude::*;

    fn brute_distance(points: &[Xyz], a: usize, b: usize) -> f64 {
        metres_from_chord(chord2(points[a], points[b]).sqrt())
    }

    /// Core distances by sorting every household's distances to all the others.
    fn brute_core(points: &[Xyz], min_samples: usize) -> Vec<f64> {
        let n = points.len();
        (0..n)
            .map(|a| {
                let mut v: Vec<f64> = (0..n).map(|b| brute_distance(points, a, b)).collect();
                v.sort_by(f64::total_cmp);
                v[min_samples.min(n) - 1]
            })
            .collect()
    }

    /// Independent oracle: the full mutual-reachability matrix in metres, Kruskal on every
    /// pair, the hierarchy as nested sets, and the excess-of-mass choice done recursively.
    fn brute(points: &[Xyz], min_cluster_size: usize, min_samples: usize) -> Vec<i32> {
        let n = points.len();
        if n < min_cluster_size.max(2) {
            return vec![-1; n];
        }
        let d = |a: usize, b: usize| brute_distance(points, a, b);
        let core = brute_core(points, min_samples);
        let mut pairs = Vec::new();
        for a in 0..n {
            for b in a + 1..n {
                pairs.push((d(a, b).max(core[a]).max(core[b]), a, b));
            }
        }
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        // Kruskal, keeping each merge as (distance, set A, set B).
        let mut comp: Vec<Vec<usize>> = (0..n).map(|i| vec![i]).collect();
        let mut owner: Vec<usize> = (0..n).collect();
        #[derive(Clone)]
        enum T {
            Leaf(usize),
            Node(f64, Box<T>, Box<T>, usize),
        }
        let mut tree: Vec<Option<T>> = (0..n).map(|i| Some(T::Leaf(i))).collect();
        for (w, a, b) in pairs {
            let (ca, cb) = (owner[a], owner[b]);
            if ca == cb {
                continue;
            }
            let moved = std::mem::take(&mut comp[cb]);
            for &p in &moved {
                owner[p] = ca;
            }
            comp[ca].extend(moved);
            let (ta, tb) = (tree[ca].take().unwrap(), tree[cb].take().unwrap());
            tree[ca] = Some(T::Node(w, Box::new(ta), Box::new(tb), comp[ca].len()));
        }
        let root = tree.into_iter().flatten().next().unwrap();
        fn size(t: &T) -> usize {
            match t {
                T::Leaf(_) => 1,
                T::Node(_, _, _, s) => *s,
            }
        }
        fn points_of(t: &T, out: &mut Vec<usize>) {
            match t {
                T::Leaf(p) => out.push(*p),
                T::Node(_, a, b, _) => {
                    points_of(a, out);
                    points_of(b, out);
                }
            }
        }
        let lam = |w: f64| if w > 0.0 { 1.0 / w } else { f64::INFINITY };
        /// A condensed cluster: its birth λ, (point, λ it left) pairs, child clusters.
        struct C {
            birth: f64,
            fall: Vec<(usize, f64)>,
            kids: Vec<(C, f64, usize)>,
        }
        // Follow a cluster down the hierarchy until it splits into two big parts.
        fn grow(t: &T, birth: f64, mcs: usize, lam: &dyn Fn(f64) -> f64) -> C {
            let mut c = C { birth, fall: vec![], kids: vec![] };
            let mut cur = t.clone();
            loop {
                match cur {
                    T::Leaf(p) => {
                        // A single point left alone (only with min_cluster_size 1).
                        c.fall.push((p, f64::INFINITY));
                        return c;
                    }
                    T::Node(w, a, b, _) => {
                        let l = lam(w);
                        let (big_a, big_b) = (size(&a) >= mcs, size(&b) >= mcs);
                        if big_a && big_b {
                            for t in [a, b] {
                                let s = size(&t);
                                c.kids.push((grow(&t, l, mcs, lam), l, s));
                            }
                            return c;
                        }
                        let mut next = None;
                        for (t, big) in [(a, big_a), (b, big_b)] {
                            if big {
                                next = Some(*t);
                            } else {
                                let mut v = vec![];
                                points_of(&t, &mut v);
                                c.fall.extend(v.into_iter().map(|p| (p, l)));
                            }
                        }
                        match next {
                            Some(t) => cur = t,
                            None => return c,
                        }
                    }
                }
            }
        }
        fn stability(c: &C) -> f64 {
            let g = |l: f64, s: usize| if l == c.birth { 0.0 } else { (l - c.birth) * s as f64 };
            c.fall.iter().map(|&(_, l)| g(l, 1)).sum::<f64>() + c.kids.iter().map(|(_, l, s)| g(*l, *s)).sum::<f64>()
        }
        // Returns (best stability, chosen clusters as point lists).
        fn choose(c: &C, is_root: bool) -> (f64, Vec<Vec<usize>>) {
            let mut sub = 0.0;
            let mut chosen = vec![];
            for (k, _, _) in &c.kids {
                let (s, ch) = choose(k, false);
                sub += s;
                chosen.extend(ch);
            }
            let own = stability(c);
            if is_root || sub > own {
                (sub, chosen)
            } else {
                let mut all = vec![];
                collect(c, &mut all);
                (own, vec![all])
            }
        }
        fn collect(c: &C, out: &mut Vec<usize>) {
            out.extend(c.fall.iter().map(|&(p, _)| p));
            for (k, _, _) in &c.kids {
                collect(k, out);
            }
        }
        let top = grow(&root, 0.0, min_cluster_size, &lam);
        let (_, chosen) = choose(&top, true);
        let mut raw = vec![-1i64; n];
        for (i, ps) in chosen.iter().enumerate() {
            for &p in ps {
                raw[p] = i as i64;
            }
        }
        let mut number = std::collections::HashMap::new();
        raw.iter()
            .map(|&c| {
                if c < 0 {
                    -1
                } else {
                    let next = number.len() as i32;
                    *number.entry(c).or_insert(next)
                }
            })
            .collect()
    }

    fn run(pts: &[Xyz], mcs: usize, ms: usize) -> Vec<i32> {
        hdbscan(pts, &HdbscanParams { min_cluster_size: mcs, min_samples: ms }, &Progress::new()).unwrap()
    }

    #[test]
    fn two_blobs_and_scattered_noise() {
        let mut pts = Vec::new();
        let mut x: u64 = 9;
        let mut r = || {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for _ in 0..60 {
            pts.push(xyz_from_lonlat(-77.0 + 0.002 * r(), -12.0 + 0.002 * r()));
        }
        for _ in 0..60 {
            pts.push(xyz_from_lonlat(-76.9 + 0.002 * r(), -12.0 + 0.002 * r()));
        }
        for _ in 0..8 {
            // Far from both blobs (a point near a blob would join it, as in scikit-learn).
            pts.push(xyz_from_lonlat(-80.0 + 2.0 * r(), -14.0 + r()));
        }
        let l = run(&pts, 10, 5);
        assert!(l[..60].iter().all(|&c| c == 0), "{:?}", &l[..60]);
        assert!(l[60..120].iter().all(|&c| c == 1));
        assert!(l[120..].iter().all(|&c| c == -1), "{:?}", &l[120..]);
        assert_eq!(l, run(&pts, 10, 5), "deterministic");
        assert_eq!(run(&pts, 10, 1), brute(&pts, 10, 1));
    }

    #[test]
    fn edge_cases() {
        assert!(run(&[], 5, 5).is_empty());
        let few: Vec<Xyz> = (0..4).map(|i| xyz_from_lonlat(i as f64 * 1e-4, 0.0)).collect();
        assert_eq!(run(&few, 5, 5), vec![-1; 4], "fewer households than min_cluster_size");
        // All in one place: every weight is zero; the answer is deterministic and complete.
        let same = vec![xyz_from_lonlat(-77.0, -12.0); 30];
        let l = run(&same, 5, 5);
        assert_eq!(l.len(), 30);
        assert_eq!(l, run(&same, 5, 5));
        assert_eq!(
            hdbscan(&few, &HdbscanParams { min_cluster_size: 1, min_samples: 1 }, &Progress::new()),
            Err(HdbscanError::BadParams)
        );
        let p = Progress::new();
        p.cancel();
        let many: Vec<Xyz> = (0..3000).map(|i| xyz_from_lonlat(i as f64 * 1e-4, 0.0)).collect();
        assert_eq!(hdbscan(&many, &HdbscanParams::default(), &p), Err(HdbscanError::Cancelled));
    }

    #[test]
    fn labels_do_not_depend_on_the_thread_count() {
        let pts: Vec<Xyz> = (0..5000)
            .map(|i| xyz_from_lonlat(-77.0 + ((i * 7919) % 1000) as f64 * 2e-5, -12.0 + (i % 97) as f64 * 3e-5))
            .collect();
        let p = HdbscanParams::default();
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap()
            .install(|| hdbscan(&pts, &p, &Progress::new()));
        let two = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap()
            .install(|| hdbscan(&pts, &p, &Progress::new()));
        assert_eq!(one, two);
    }

    fn cloud(dups: bool) -> impl Strategy<Value = Vec<(f64, f64)>> {
        // Small groups around a few centres (one on the antimeridian), optionally with duplicates.
        prop::collection::vec((0usize..4, -1.0f64..1.0, -1.0f64..1.0, prop::bool::weighted(0.1)), 5..70).prop_map(
            move |v| {
                let mut out: Vec<(f64, f64)> = Vec::new();
                for (c, a, b, dup) in v {
                    if dups
                        && dup
                        && let Some(&last) = out.last()
                    {
                        out.push(last);
                        continue;
                    }
                    let (lon0, lat0) = [(-77.0, -12.0), (-76.99, -12.0), (-77.0, -11.98), (179.9995, 0.0)][c];
                    let lon = lon0 + a * 0.002;
                    out.push((if lon > 180.0 { lon - 360.0 } else { lon }, lat0 + b * 0.002));
                }
                out
            },
        )
    }

    /// Total weight (metres) of a minimum spanning tree of the mutual-reachability graph, by
    /// Kruskal on every pair: unique even when several trees tie.
    fn brute_mst_total(points: &[Xyz], min_samples: usize) -> f64 {
        let n = points.len();
        let d = |a: usize, b: usize| brute_distance(points, a, b);
        let core = brute_core(points, min_samples);
        let mut pairs: Vec<(f64, usize, usize)> = (0..n)
            .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
            .map(|(a, b)| (d(a, b).max(core[a]).max(core[b]), a, b))
            .collect();
        pairs.sort_by(|x, y| x.0.total_cmp(&y.0));
        let mut parent: Vec<usize> = (0..n).collect();
        let mut total = 0.0;
        for (w, a, b) in pairs {
            let (ra, rb) = (find(&mut parent, a), find(&mut parent, b));
            if ra != rb {
                parent[ra] = rb;
                total += w;
            }
        }
        total
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// With min_samples = 1 and no duplicates no two weights tie, so the hierarchy is
        /// unique and the labels must match the oracle's exactly.
        #[test]
        fn matches_the_brute_force_oracle(pts in cloud(false), mcs in 2usize..8) {
            let xyz: Vec<Xyz> = pts.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
            prop_assert_eq!(run(&xyz, mcs, 1), brute(&xyz, mcs, 1));
        }

        /// With core distances (and duplicates) weights tie and several spanning trees are
        /// minimal; their total weight is unique.
        #[test]
        fn the_spanning_tree_is_minimal(pts in cloud(true), ms in 1usize..7) {
            let xyz: Vec<Xyz> = pts.iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
            let index = Index::new(&xyz);
            let core: Vec<f64> = xyz
                .iter()
                .map(|&p| crate::sphere::chord_from_metres(index.kth_distance_m(p, ms.min(xyz.len())).unwrap()))
                .collect();
            let ours: f64 = spanning_tree(&xyz, &core, &Progress::new()).unwrap().iter().map(|e| metres_from_chord(e.2)).sum();
            let want = brute_mst_total(&xyz, ms);
            prop_assert!((ours - want).abs() <= 1e-6 * want.max(1.0), "{} vs {}", ours, want);
        }
    }
}
