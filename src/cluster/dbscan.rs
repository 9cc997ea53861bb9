//! DBSCAN (Ester, Kriegel, Sander, Xu 1996) on the sphere, exact in great-circle metres.
//!
//! # Parameters
//! - `eps_m`: neighbourhood radius in metres along the ground.
//! - `min_points`: a household is *core* when at least this many households (itself
//!   included) lie within `eps_m`. With `weights` (e.g. household size), the weights of the
//!   neighbours are summed instead, so `min_points` can count people.
//!
//! # Returns
//! Labels in input order: a cluster number ≥ 0, or `-1` for noise. Clusters are numbered in
//! the order of their first household in the input. A border household (within `eps_m` of a
//! core household, not core itself) joins the cluster of its nearest core household, ties to
//! the lower input index, so labels never depend on the thread count.
//!
//! # Algorithm
//! Points are unit vectors and `eps_m` the chord `r` (see [`crate::sphere`]), so every test
//! is exact. A 3D grid with cell side `r/√3` means two points in one cell are always
//! neighbours: a cell holding `min_points` households makes all of them core with no
//! distance computed, and all core points of a cell are one cluster. Cells are sorted by
//! (i, j, k); the cells that can hold neighbours are the 5×5 columns (i, j) around, 5 cells
//! deep, which come out as 25 contiguous runs. Going through the cells in order, the
//! columns around are found by walking forward in the sorted columns, not by hashing. Core
//! cells are joined with a lock-free union-find when any pair of their core points is
//! within `r` (the search stops at the first pair). All phases run in parallel with rayon.
//!
//! Cost: O(n log n) for the sort plus, per household, the households in the 125 cells
//! around it until `min_points` are found; dense places are cheap, not quadratic.
//!
//! # Examples
//! ```
//! use needmap::cluster::dbscan::{dbscan, DbscanParams};
//! use needmap::progress::Progress;
//! use needmap::sphere::xyz_from_lonlat;
//! // Two triangles of households 10 m apart, 50 km from each other, and one far away.
//! let pts: Vec<_> = [(-77.0, -12.0), (-77.0001, -12.0), (-77.0, -12.0001),
//!                    (-76.5, -12.0), (-76.5001, -12.0), (-76.5, -12.0001),
//!                    (-70.0, -15.0)]
//!     .iter().map(|&(lon, lat)| xyz_from_lonlat(lon, lat)).collect();
//! let params = DbscanParams { eps_m: 50.0, min_points: 3 };
//! let out = dbscan(&pts, None, &params, &Progress::new()).unwrap();
//! assert_eq!(out.labels, vec![0, 0, 0, 1, 1, 1, -1]);
//! ```

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use rayon::prelude::*;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::progress::{Cancelled, Progress};
use crate::sphere::{Xyz, chord_from_metres, chord2};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DbscanParams {
    /// Neighbourhood radius, metres on the ground.
    pub eps_m: f64,
    /// Households (or people, with weights) within `eps_m`, the household itself included,
    /// that make a household core.
    pub min_points: usize,
}

impl Default for DbscanParams {
    fn default() -> Self {
        Self { eps_m: 150.0, min_points: 10 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct DbscanResult {
    /// Cluster ≥ 0 or `-1` (noise), in input order.
    pub labels: Vec<i32>,
    /// Whether each household is core.
    pub core: Vec<bool>,
    pub clusters: usize,
    pub noise: usize,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DbscanError {
    #[error("eps must be a positive number of metres, not {0}")]
    BadEps(f64),
    #[error("min points must be at least 1")]
    BadMinPoints,
    #[error("weights: household {0} has weight {1}; weights must be finite and not negative")]
    BadWeight(usize, f64),
    #[error("weights: {0} weights for {1} households")]
    WeightCount(usize, usize),
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for DbscanError {
    fn from(_: Cancelled) -> Self {
        DbscanError::Cancelled
    }
}

/// One grid cell: a run of the sorted points.
#[derive(Debug, Clone, Copy)]
struct Cell {
    k: i64,
    start: u32,
    end: u32,
}

/// One column of the grid: the cells sharing (i, j), a run of the sorted cells.
#[derive(Debug, Clone, Copy)]
struct Column {
    i: i64,
    j: i64,
    first: u32,
    end: u32,
}

/// The grid: points sorted by cell, cells sorted by (i, j, k), and the columns (i, j) in
/// the same order.
pub(crate) struct Grid {
    /// Sorted position → input index.
    pub order: Vec<u32>,
    /// Points in sorted order.
    pub pts: Vec<Xyz>,
    cells: Vec<Cell>,
    columns: Vec<Column>,
    /// Column of each cell.
    cell_column: Vec<u32>,
}

impl Grid {
    /// The grid of `points` with cells of side `side`. Points given as
    /// [`Cow::Owned`] are sorted in place and become [`Grid::pts`]: no second copy.
    pub fn new(points: Cow<'_, [Xyz]>, side: f64) -> Self {
        let inv = 1.0 / side;
        let ijk = |p: &Xyz| [(p[0] * inv).floor() as i64, (p[1] * inv).floor() as i64, (p[2] * inv).floor() as i64];
        // Cell keys pack into one u64 unless eps is tiny against the data's extent: half the
        // memory of (i, j, k) and a faster sort.
        let (lo, hi) = points.par_iter().map(|p| (ijk(p), ijk(p))).reduce(
            || ([i64::MAX; 3], [i64::MIN; 3]),
            |a, b| {
                (
                    [a.0[0].min(b.0[0]), a.0[1].min(b.0[1]), a.0[2].min(b.0[2])],
                    [a.1[0].max(b.1[0]), a.1[1].max(b.1[1]), a.1[2].max(b.1[2])],
                )
            },
        );
        let bits = |a: usize| 64 - (hi[a].wrapping_sub(lo[a]) as u64).leading_zeros();
        let (bi, bj, bk) = (bits(0), bits(1), bits(2));
        if bi + bj + bk <= 63 {
            let key = |p: &Xyz| {
                let c = ijk(p);
                ((c[0] - lo[0]) as u64) << (bj + bk) | ((c[1] - lo[1]) as u64) << bk | (c[2] - lo[2]) as u64
            };
            let mask = |b: u32| (1u64 << b) - 1;
            let unpack = |x: u64| {
                [(x >> (bj + bk)) as i64 + lo[0], ((x >> bk) & mask(bj)) as i64 + lo[1], (x & mask(bk)) as i64 + lo[2]]
            };
            Self::from_keys(points, key, unpack)
        } else {
            Self::from_keys(points, |p| ijk(p), |c| c)
        }
    }

    /// Sorts the points by `key` (ordered as (i, j, k)) and builds cells and columns.
    fn from_keys<K: Copy + Ord + Send + Sync>(
        points: Cow<'_, [Xyz]>,
        key: impl Fn(&Xyz) -> K + Sync,
        unpack: impl Fn(K) -> [i64; 3],
    ) -> Self {
        let mut keyed: Vec<(K, u32)> = points.par_iter().enumerate().map(|(i, p)| (key(p), i as u32)).collect();
        keyed.par_sort_unstable();
        let order: Vec<u32> = keyed.iter().map(|&(_, i)| i).collect();
        // Exact sizes, and the keys freed before the sorted copy of the points is made: at a
        // million households these are `needmap cluster`'s largest buffers.
        let n_cells = keyed.par_windows(2).filter(|w| w[0].0 != w[1].0).count() + usize::from(!keyed.is_empty());
        let mut cells = Vec::with_capacity(n_cells);
        let mut columns: Vec<Column> = Vec::new();
        let mut cell_column = Vec::with_capacity(n_cells);
        let mut s = 0usize;
        while s < keyed.len() {
            let kk = keyed[s].0;
            let mut e = s + 1;
            while e < keyed.len() && keyed[e].0 == kk {
                e += 1;
            }
            let [i, j, k] = unpack(kk);
            let ci = cells.len() as u32;
            match columns.last_mut() {
                Some(col) if col.i == i && col.j == j => col.end = ci + 1,
                _ => columns.push(Column { i, j, first: ci, end: ci + 1 }),
            }
            cells.push(Cell { k, start: s as u32, end: e as u32 });
            cell_column.push(columns.len() as u32 - 1);
            s = e;
        }
        drop(keyed);
        columns.shrink_to_fit();
        let pts = match points {
            Cow::Borrowed(points) => order.par_iter().map(|&i| points[i as usize]).collect(),
            Cow::Owned(mut points) => {
                permute(&mut points, &order);
                points
            }
        };
        Self { order, pts, cells, columns, cell_column }
    }

    /// The runs of cells (as cell index ranges) that can hold neighbours of cell `c`.
    ///
    /// `near` keeps the columns around the last column asked about. Callers go through the
    /// cells in order, so the columns asked about only move forward, and so does the first
    /// column of each of the 2·reach + 1 rows around them: those are found by walking on,
    /// not by searching (a fresh `near` starts with binary searches).
    fn neighbour_cells(&self, c: usize, reach: i64, near: &mut Near, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let q = self.cell_column[c];
        if near.column != Some(q) {
            let Column { i, j, .. } = self.columns[q as usize];
            let fresh = near.column.is_none_or(|p| q < p);
            near.column = Some(q);
            near.rows.resize(2 * reach as usize + 1, 0);
            near.columns.clear();
            let cols = &self.columns;
            for (r, di) in (-reach..=reach).enumerate() {
                let from = (i + di, j - reach);
                let at = &mut near.rows[r];
                if fresh {
                    *at = cols.partition_point(|x| (x.i, x.j) < from);
                } else {
                    while *at < cols.len() && (cols[*at].i, cols[*at].j) < from {
                        *at += 1;
                    }
                }
                let mut x = *at;
                while x < cols.len() && cols[x].i == i + di && cols[x].j <= j + reach {
                    near.columns.push((cols[x].first, cols[x].end));
                    x += 1;
                }
            }
        }
        let k = self.cells[c].k;
        for &(a, b) in &near.columns {
            let col = &self.cells[a as usize..b as usize];
            // Columns are short: usually all of it is in reach.
            let (lo, hi) = if col[0].k >= k - reach && col[col.len() - 1].k <= k + reach {
                (a, b)
            } else {
                let lo = col.partition_point(|x| x.k < k - reach);
                let hi = lo + col[lo..].partition_point(|x| x.k <= k + reach);
                (a + lo as u32, a + hi as u32)
            };
            // Neighbouring columns of one row are neighbours in `cells` too: one run.
            match out.last_mut() {
                Some(last) if last.1 == lo => last.1 = hi,
                _ if lo < hi => out.push((lo, hi)),
                _ => {}
            }
        }
    }

    fn cell_points(&self, c: usize) -> std::ops::Range<usize> {
        self.cells[c].start as usize..self.cells[c].end as usize
    }

    /// Point range (sorted positions) of a run of cells.
    fn run_points(&self, run: (u32, u32)) -> std::ops::Range<usize> {
        self.cells[run.0 as usize].start as usize..self.cells[run.1 as usize - 1].end as usize
    }
}

/// Puts `v[order[s]]` at `s` for every `s`, in place: each cycle of the permutation is
/// followed once, with one bit a point to mark the positions already filled.
fn permute(v: &mut [Xyz], order: &[u32]) {
    let mut done = vec![0u64; v.len().div_ceil(64)];
    for s in 0..v.len() {
        if done[s / 64] >> (s % 64) & 1 == 1 {
            continue;
        }
        let first = v[s];
        let mut j = s;
        loop {
            done[j / 64] |= 1 << (j % 64);
            let k = order[j] as usize;
            if k == s {
                v[j] = first;
                break;
            }
            v[j] = v[k];
            j = k;
        }
    }
}

/// The columns around one column, as [`Grid::neighbour_cells`] last found them.
#[derive(Default)]
struct Near {
    column: Option<u32>,
    /// Per row i + di: the first column at or after (i + di, j - reach).
    rows: Vec<usize>,
    /// Cell ranges of the columns around.
    columns: Vec<(u32, u32)>,
}

/// Lock-free union-find: a root is linked under the smaller root with a compare-and-swap,
/// so concurrent unions never lose a link, and the final sets are the connected components
/// whatever the interleaving.
struct UnionFind {
    parent: Vec<AtomicU32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        Self { parent: (0..n as u32).map(AtomicU32::new).collect() }
    }

    fn find(&self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize].load(Ordering::Relaxed);
            if p == x {
                return x;
            }
            let gp = self.parent[p as usize].load(Ordering::Relaxed);
            // Path halving; losing this race is harmless.
            let _ = self.parent[x as usize].compare_exchange_weak(p, gp, Ordering::Relaxed, Ordering::Relaxed);
            x = gp;
        }
    }

    fn union(&self, a: u32, b: u32) {
        loop {
            let (ra, rb) = (self.find(a), self.find(b));
            if ra == rb {
                return;
            }
            let (hi, lo) = if ra > rb { (ra, rb) } else { (rb, ra) };
            if self.parent[hi as usize].compare_exchange(hi, lo, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                return;
            }
        }
    }
}

/// Runs DBSCAN. See the module documentation.
pub fn dbscan(
    points: &[Xyz],
    weights: Option<&[f64]>,
    params: &DbscanParams,
    progress: &Progress,
) -> Result<DbscanResult, DbscanError> {
    dbscan_cow(Cow::Borrowed(points), weights, params, progress)
}

/// [`dbscan`] on points it may reorder and free: the grid sorts them in place instead of
/// keeping a sorted copy (24 MB a million households), and frees them before the labels
/// are made. The same labels as [`dbscan`].
pub fn dbscan_owned(
    points: Vec<Xyz>,
    weights: Option<&[f64]>,
    params: &DbscanParams,
    progress: &Progress,
) -> Result<DbscanResult, DbscanError> {
    dbscan_cow(Cow::Owned(points), weights, params, progress)
}

/// [`dbscan`] or [`dbscan_owned`], as `points` is borrowed or owned.
pub(crate) fn dbscan_cow(
    points: Cow<'_, [Xyz]>,
    weights: Option<&[f64]>,
    params: &DbscanParams,
    progress: &Progress,
) -> Result<DbscanResult, DbscanError> {
    let n = points.len();
    if !(params.eps_m > 0.0 && params.eps_m.is_finite()) {
        return Err(DbscanError::BadEps(params.eps_m));
    }
    if params.min_points == 0 {
        return Err(DbscanError::BadMinPoints);
    }
    if let Some(w) = weights {
        if w.len() != n {
            return Err(DbscanError::WeightCount(w.len(), n));
        }
        if let Some((i, &v)) = w.iter().enumerate().find(|(_, v)| !(v.is_finite() && **v >= 0.0)) {
            return Err(DbscanError::BadWeight(i, v));
        }
    }
    if n == 0 {
        return Ok(DbscanResult { labels: Vec::new(), core: Vec::new(), clusters: 0, noise: 0 });
    }
    progress.stage("cluster", 4 * n as u64);
    let r = chord_from_metres(params.eps_m);
    let r2 = r * r;
    // Cell diagonal = r: points sharing a cell are neighbours. Neighbours lie within 2 cells.
    let side = r / 3f64.sqrt();
    let mut grid = Grid::new(points, side);
    progress.check()?;
    let sorted_w: Option<Vec<f64>> = weights.map(|w| grid.order.iter().map(|&i| w[i as usize]).collect());
    let wt = |s: usize| sorted_w.as_ref().map_or(1.0, |w| w[s]);
    let need = params.min_points as f64;
    let n_cells = grid.cells.len();

    // 1. Core households.
    let core: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
    let chunk = 1024;
    (0..n_cells).into_par_iter().chunks(chunk).try_for_each(|cells| -> Result<(), Cancelled> {
        progress.check()?;
        let mut runs = Vec::with_capacity(25);
        let mut near = Near::default();
        let mut done = 0u64;
        for c in cells {
            let own = grid.cell_points(c);
            done += own.len() as u64;
            let own_w: f64 = own.clone().map(wt).sum();
            if own_w >= need {
                for s in own {
                    core[s].store(true, Ordering::Relaxed);
                }
                continue;
            }
            grid.neighbour_cells(c, 2, &mut near, &mut runs);
            for s in own.clone() {
                let p = grid.pts[s];
                let mut count = own_w;
                'runs: for &run in &runs {
                    for t in grid.run_points(run) {
                        if own.contains(&t) {
                            continue;
                        }
                        if chord2(p, grid.pts[t]) <= r2 {
                            count += wt(t);
                            if count >= need {
                                break 'runs;
                            }
                        }
                    }
                }
                if count >= need {
                    core[s].store(true, Ordering::Relaxed);
                }
            }
        }
        progress.add(done);
        Ok(())
    })?;
    let core: Vec<bool> = core.into_iter().map(AtomicBool::into_inner).collect();

    // 2. Join core cells that hold a pair of core points within r.
    let cell_has_core: Vec<bool> = (0..n_cells).into_par_iter().map(|c| grid.cell_points(c).any(|s| core[s])).collect();
    let uf = UnionFind::new(n_cells);
    (0..n_cells).into_par_iter().chunks(chunk).try_for_each(|cells| -> Result<(), Cancelled> {
        progress.check()?;
        let mut runs = Vec::with_capacity(25);
        let mut near = Near::default();
        let mut done = 0u64;
        for c in cells {
            done += grid.cell_points(c).len() as u64;
            if !cell_has_core[c] {
                continue;
            }
            grid.neighbour_cells(c, 2, &mut near, &mut runs);
            for &(a, b) in &runs {
                for d in a as usize..b as usize {
                    if d <= c || !cell_has_core[d] || uf.find(c as u32) == uf.find(d as u32) {
                        continue;
                    }
                    let joined = grid.cell_points(c).filter(|&s| core[s]).any(|s| {
                        let p = grid.pts[s];
                        grid.cell_points(d).any(|t| core[t] && chord2(p, grid.pts[t]) <= r2)
                    });
                    if joined {
                        uf.union(c as u32, d as u32);
                    }
                }
            }
        }
        progress.add(done);
        Ok(())
    })?;

    drop(cell_has_core);

    // 3. Each household's nearest core household, as its cell: its own when core, the
    // cell of the nearest core within r when border (ties to the lower input index), none
    // for noise. Written in sorted order, each chunk of cells into its own run of points.
    const NONE: u32 = u32::MAX;
    let mut nearest = vec![NONE; n];
    let mut parts: Vec<(std::ops::Range<usize>, &mut [u32])> = Vec::with_capacity(n_cells.div_ceil(chunk));
    let mut rest: &mut [u32] = &mut nearest;
    for c0 in (0..n_cells).step_by(chunk) {
        let c1 = (c0 + chunk).min(n_cells);
        let (part, tail) = rest.split_at_mut(grid.run_points((c0 as u32, c1 as u32)).len());
        parts.push((c0..c1, part));
        rest = tail;
    }
    parts.into_par_iter().try_for_each(|(cells, out)| -> Result<(), Cancelled> {
        progress.check()?;
        let mut at = 0;
        let mut runs = Vec::with_capacity(25);
        let mut near = Near::default();
        for c in cells {
            let own = grid.cell_points(c);
            if own.clone().all(|s| core[s]) {
                out[at..at + own.len()].fill(c as u32);
                at += own.len();
                continue;
            }
            grid.neighbour_cells(c, 2, &mut near, &mut runs);
            for s in own {
                if core[s] {
                    out[at] = c as u32;
                    at += 1;
                    continue;
                }
                let p = grid.pts[s];
                let mut best: Option<(f64, u32, u32)> = None;
                for &(a, b) in &runs {
                    for d in a..b {
                        for t in grid.cell_points(d as usize) {
                            if !core[t] {
                                continue;
                            }
                            let dist = chord2(p, grid.pts[t]);
                            let ti = grid.order[t];
                            if dist <= r2 && best.is_none_or(|(bd, bi, _)| (dist, ti) < (bd, bi)) {
                                best = Some((dist, ti, d));
                            }
                        }
                    }
                }
                out[at] = best.map_or(NONE, |b| b.2);
                at += 1;
            }
        }
        progress.add(at as u64);
        Ok(())
    })?;
    progress.check()?;
    // The points' last user is done: freed before the labels are made.
    grid.pts = Vec::new();
    let mut root = vec![NONE; n];
    for (s, &c) in nearest.iter().enumerate() {
        if c != NONE {
            root[grid.order[s] as usize] = uf.find(c);
        }
    }
    drop(nearest);

    // 4. Number clusters in input order.
    // In the roots' own buffer (same size and alignment: collected in place).
    let mut number: FxHashMap<u32, i32> = FxHashMap::default();
    let mut noise = 0;
    let labels: Vec<i32> = root
        .into_iter()
        .map(|r| {
            if r == NONE {
                noise += 1;
                -1
            } else {
                let next = number.len() as i32;
                *number.entry(r).or_insert(next)
            }
        })
        .collect();
    let mut core_in = vec![false; n];
    for (s, &i) in grid.order.iter().enumerate() {
        core_in[i as usize] = core[s];
    }
    progress.set(4 * n as u64);
    Ok(DbscanResult { labels, core: core_in, clusters: number.len(), noise })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sphere::{distance_m, xyz_from_lonlat};
    use proptest::prelude::*;

    /// Independent O(n²) DBSCAN on haversine distances, same semantics.
    fn brute(lonlat: &[(f64, f64)], w: Option<&[f64]>, eps: f64, minpts: usize) -> Vec<i32> {
        let n = lonlat.len();
        let d = |a: usize, b: usize| distance_m(lonlat[a].0, lonlat[a].1, lonlat[b].0, lonlat[b].1);
        let wt = |i: usize| w.map_or(1.0, |w| w[i]);
        let core: Vec<bool> =
            (0..n).map(|i| (0..n).filter(|&j| d(i, j) <= eps).map(wt).sum::<f64>() >= minpts as f64).collect();
        let mut comp = vec![usize::MAX; n];
        for s in 0..n {
            if !core[s] || comp[s] != usize::MAX {
                continue;
            }
            comp[s] = s;
            let mut stack = vec![s];
            while let Some(p) = stack.pop() {
                for q in 0..n {
                    if core[q] && comp[q] == usize::MAX && d(p, q) <= eps {
                        comp[q] = s;
                        stack.push(q);
                    }
                }
            }
        }
        for i in 0..n {
            if !core[i] {
                let best = (0..n)
                    .filter(|&j| core[j] && d(i, j) <= eps)
                    .min_by(|&a, &b| d(i, a).total_cmp(&d(i, b)).then(a.cmp(&b)));
                if let Some(j) = best {
                    comp[i] = comp[j];
                }
            }
        }
        let mut num: FxHashMap<usize, i32> = FxHashMap::default();
        comp.iter()
            .map(|&c| {
                if c == usize::MAX {
                    -1
                } else {
                    let k = num.len() as i32;
                    *num.entry(c).or_insert(k)
                }
            })
            .collect()
    }

    fn run(lonlat: &[(f64, f64)], w: Option<&[f64]>, eps: f64, minpts: usize) -> Vec<i32> {
        let pts: Vec<Xyz> = lonlat.iter().map(|&(lo, la)| xyz_from_lonlat(lo, la)).collect();
        dbscan(&pts, w, &DbscanParams { eps_m: eps, min_points: minpts }, &Progress::new()).unwrap().labels
    }

    #[test]
    fn empty_input() {
        assert!(run(&[], None, 10.0, 3).is_empty());
    }

    #[test]
    fn one_point() {
        assert_eq!(run(&[(1.0, 1.0)], None, 10.0, 1), vec![0]);
        assert_eq!(run(&[(1.0, 1.0)], None, 10.0, 2), vec![-1]);
    }

    #[test]
    fn duplicates_form_a_cluster() {
        let p = vec![(-77.0, -12.0); 5];
        assert_eq!(run(&p, None, 1.0, 5), vec![0; 5]);
        assert_eq!(run(&p, None, 1.0, 6), vec![-1; 5]);
    }

    #[test]
    fn bad_parameters_are_errors() {
        let pts = [xyz_from_lonlat(0.0, 1.0)];
        let p = Progress::new();
        let e = dbscan(&pts, None, &DbscanParams { eps_m: -1.0, min_points: 2 }, &p).unwrap_err();
        assert_eq!(e, DbscanError::BadEps(-1.0));
        let e = dbscan(&pts, None, &DbscanParams { eps_m: f64::NAN, min_points: 2 }, &p).unwrap_err();
        assert!(matches!(e, DbscanError::BadEps(_)));
        let e = dbscan(&pts, None, &DbscanParams { eps_m: 1.0, min_points: 0 }, &p).unwrap_err();
        assert_eq!(e, DbscanError::BadMinPoints);
        let e = dbscan(&pts, Some(&[f64::NAN]), &DbscanParams::default(), &p).unwrap_err();
        assert!(matches!(e, DbscanError::BadWeight(0, _)));
    }

    #[test]
    fn cancel_is_honoured() {
        let pts = vec![xyz_from_lonlat(0.0, 1.0); 10];
        let p = Progress::new();
        p.cancel();
        assert_eq!(dbscan(&pts, None, &DbscanParams::default(), &p).unwrap_err(), DbscanError::Cancelled);
    }

    #[test]
    fn weights_count_people() {
        // Three households of 4 people within 20 m: 12 people ≥ 10 → one cluster; unweighted, noise.
        let p = [(-77.0, -12.0), (-77.0001, -12.0), (-77.0, -12.0001)];
        assert_eq!(run(&p, Some(&[4.0, 4.0, 4.0]), 50.0, 10), vec![0, 0, 0]);
        assert_eq!(run(&p, None, 50.0, 10), vec![-1, -1, -1]);
    }

    #[test]
    fn across_the_antimeridian() {
        // 179.9995°E and 179.9995°W on the equator are 111 m apart.
        let p = [(179.9995, 0.0), (-179.9995, 0.0), (179.9996, 0.0001), (-179.9996, -0.0001)];
        assert_eq!(run(&p, None, 150.0, 4), vec![0, 0, 0, 0]);
    }

    #[test]
    fn near_the_pole() {
        let p = [(0.0, 89.9995), (180.0, 89.9995), (90.0, 89.9995), (-90.0, 89.9995)];
        assert_eq!(run(&p, None, 120.0, 4), vec![0, 0, 0, 0]);
        assert_eq!(run(&p, None, 50.0, 2), vec![-1, -1, -1, -1]);
    }

    #[test]
    fn eps_larger_than_the_earth() {
        let p = [(0.0, 0.5), (180.0, -0.5), (90.0, 45.0)];
        assert_eq!(run(&p, None, 3.0e7, 3), vec![0, 0, 0]);
    }

    #[test]
    fn same_labels_on_one_and_two_threads() {
        let pts: Vec<(f64, f64)> = (0..5000)
            .map(|i| {
                let a = (i as f64 * 0.618_033_988_7).fract();
                let b = (i as f64 * 0.754_877_666_2).fract();
                (-77.0 + 0.05 * a * a, -12.0 + 0.05 * b)
            })
            .collect();
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap().install(|| run(&pts, None, 80.0, 5));
        let two = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap().install(|| run(&pts, None, 80.0, 5));
        assert_eq!(one, two);
        assert!(one.iter().any(|&l| l >= 1) && one.contains(&-1), "a meaningful case");
    }

    fn cloud(centre: (f64, f64), spread_deg: f64) -> impl Strategy<Value = Vec<(f64, f64)>> {
        let pt =
            (-1.0f64..1.0, -1.0f64..1.0).prop_map(move |(a, b)| (centre.0 + a * spread_deg, centre.1 + b * spread_deg));
        let dup = prop::collection::vec(pt.clone(), 1..20).prop_flat_map(|v| {
            let n = v.len();
            (Just(v), prop::collection::vec(0..n, 0..10))
        });
        (prop::collection::vec(pt, 0..250), dup).prop_map(|(mut a, (b, idx))| {
            a.extend(idx.iter().map(|&i| b[i]));
            a.extend(b);
            a
        })
    }

    fn wrap(p: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
        p.into_iter()
            .map(|(lon, lat)| {
                let lon = if lon > 180.0 {
                    lon - 360.0
                } else if lon < -180.0 {
                    lon + 360.0
                } else {
                    lon
                };
                (lon, lat.clamp(-90.0, 90.0))
            })
            .collect()
    }

    #[test]
    fn permute_puts_each_point_where_order_says() {
        // A permutation of several cycles (and fixed points), against a plain copy.
        let n = 1000u32;
        let order: Vec<u32> = (0..n).map(|s| (s * 37 + 11) % n).collect();
        let v: Vec<Xyz> = (0..n).map(|i| [i as f64, -(i as f64), 0.5]).collect();
        let want: Vec<Xyz> = order.iter().map(|&i| v[i as usize]).collect();
        let mut got = v.clone();
        permute(&mut got, &order);
        assert_eq!(got, want);
        let mut one = vec![[1.0, 2.0, 3.0]];
        permute(&mut one, &[0]);
        assert_eq!(one, vec![[1.0, 2.0, 3.0]]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn owned_points_give_the_same_result(p in cloud((-77.0, -12.0), 0.01), eps in 20.0f64..400.0, m in 1usize..8, weighted: bool) {
            let pts: Vec<Xyz> = p.iter().map(|&(lo, la)| xyz_from_lonlat(lo, la)).collect();
            let w: Vec<f64> = (0..p.len()).map(|i| (i % 3) as f64).collect();
            let w = weighted.then_some(&w[..]);
            let params = DbscanParams { eps_m: eps, min_points: m };
            let borrowed = dbscan(&pts, w, &params, &Progress::new()).unwrap();
            let owned = dbscan_owned(pts, w, &params, &Progress::new()).unwrap();
            prop_assert_eq!(owned, borrowed);
        }

        #[test]
        fn matches_brute_force_in_a_city(p in cloud((-77.0, -12.0), 0.01), eps in 20.0f64..400.0, m in 1usize..8) {
            prop_assert_eq!(run(&p, None, eps, m), brute(&p, None, eps, m));
        }

        #[test]
        fn matches_brute_force_across_the_antimeridian(p in cloud((180.0, -16.0), 0.01), eps in 20.0f64..400.0, m in 1usize..6) {
            let p = wrap(p);
            prop_assert_eq!(run(&p, None, eps, m), brute(&p, None, eps, m));
        }

        #[test]
        fn matches_brute_force_near_a_pole(p in cloud((0.0, 89.995), 0.01), eps in 20.0f64..400.0, m in 1usize..6) {
            let p = wrap(p);
            prop_assert_eq!(run(&p, None, eps, m), brute(&p, None, eps, m));
        }

        #[test]
        fn matches_brute_force_with_eps_beyond_the_extent(p in cloud((30.0, 10.0), 0.5), m in 1usize..30) {
            prop_assert_eq!(run(&p, None, 500_000.0, m), brute(&p, None, 500_000.0, m));
        }

        #[test]
        fn matches_brute_force_with_weights(p in cloud((-77.0, -12.0), 0.005), eps in 20.0f64..200.0, m in 1usize..20) {
            let w: Vec<f64> = (0..p.len()).map(|i| (i % 5) as f64).collect();
            prop_assert_eq!(run(&p, Some(&w), eps, m), brute(&p, Some(&w), eps, m));
        }
    }
}
