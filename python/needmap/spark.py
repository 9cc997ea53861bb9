"""needmap's exact DBSCAN and zones on Apache Spark (``pyspark.sql.DataFrame`` in and out).

::

    from pyspark.sql import SparkSession
    import needmap.spark as nms

    spark = SparkSession.builder.master("local[*]").getOrCreate()
    df = spark.read.csv("households.csv", header=True, inferSchema=True)
    labelled = nms.dbscan(df, eps_m=150, min_points=10)      # + column `cluster` (-1 noise)
    zones = nms.zones(labelled)                              # zones.csv's figures + WKT hull

How ``dbscan`` works (the partition-and-merge scheme of MR-DBSCAN / RDD-DBSCAN):

1. **Tiles.** A sample of the points gives longitude quantiles (strips), then latitude
   quantiles inside each strip: ``partitions`` tiles holding about as many points each, so a
   dense city is spread over many workers. The outer tiles reach -180/180 and -90/90, so
   every point has exactly one *owner* tile.
2. **Halo.** Each point is also copied into every tile whose extent (the bounding box of
   the points it owns), widened by a conservative margin, holds it: ``eps/R`` (plus a little) in latitude and
   ``asin(sin(eps/R) / cos(phi))`` in longitude, ``phi`` the largest ``|lat|`` of the widened
   tile (the exact bound of a spherical cap); longitudes are compared modulo 360 (the
   antimeridian), and a tile whose widened extent reaches a pole takes all longitudes. So a
   point's owner tile holds its whole eps-neighbourhood (great-circle).
3. **Per tile** (``applyInPandas``, one group per tile) the core's DBSCAN
   (:func:`needmap._core.dbscan_core`, the same function as :func:`needmap.cluster`) gives
   local labels and local core flags.
4. **Merge.** Union-find on the driver over (tile, local cluster) pairs that share a point
   which is core in its owner tile; a point's cluster is the root of the (tile, cluster) that
   labelled it in its owner tile, else of any that labelled it, else -1; clusters are
   numbered 0, 1, ... by their smallest row.

Why this is DBSCAN-equivalent to one machine (same clusters through their core points, same
noise, each border point in a cluster it may join):

* A tile holds a subset of the data, so a point's neighbour count in any tile is at most its
  true count: *core in some tile implies truly core*. In its owner tile a point has all its
  neighbours: *truly core iff core in its owner tile*.
* Every local cluster is a set of points density-connected through locally core (so truly
  core) points at distance <= eps: it lies inside one true cluster (its border points are
  within eps of a truly core point). A union of two (tile, cluster) pairs through a shared
  truly core point joins parts of the same true cluster. So merging never joins two true
  clusters.
* Every true core-core edge P-Q (distance <= eps) is seen: in P's owner tile P is core and Q
  is present, so both are in one local cluster; Q is truly core, so that pair is unioned with
  the one labelling Q in Q's owner tile. Following the edges, all core points of a true
  cluster end up under one root. Together: the same core-point clusters.
* A truly core point is never noise (its owner labels it). A non-core point P is border on
  one machine iff some truly core Q lies within eps; Q is in P's owner tile and Q is core
  there, so P is labelled there with Q's cluster. A non-core point with no core point within
  eps is noise in every tile (any local core point is truly core). So the same noise, and a
  border point gets the cluster of a core point within eps: one it may join.

``zones`` builds each cluster's polygon with the core's zone code (``zones::build_zones``,
what ``zones.csv`` uses) and counts every household inside it (any cluster or noise), as
``zones.csv`` does: a first pass gives each zone's centre and reach, a second copies every
household within reach (plus a margin) to that zone, and the core computes the figures there.
The zones are ranked on the driver by the same rule (priority, then households, then id).
"""

from __future__ import annotations

import json
import math
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

# One list, in zones.csv's column order (geometry last), shared with needmap.run's zones.
from . import _ZONE_COLUMNS, NeedmapError, _core

__all__ = ["dbscan", "zones", "tiles_from_sample"]

#: The core's Earth radius (src/sphere.rs); the halo margins use a slightly smaller one, so
#: they are wider than needed rather than narrower.
EARTH_RADIUS_M = 6_371_008.8
_MARGIN_RADIUS_M = 6_350_000.0
_ROW = "_nm_row"


class Tiles:
    """Balanced tiles: longitude strips, then latitude cuts inside each strip."""

    def __init__(self, lon_cuts: Sequence[float], lat_cuts: Sequence[Sequence[float]]) -> None:
        self.lon_cuts = np.asarray(lon_cuts, dtype=np.float64)  # inner cuts, sorted
        self.lat_cuts = [np.asarray(c, dtype=np.float64) for c in lat_cuts]  # per strip, inner cuts
        self.per_strip = len(self.lat_cuts[0]) + 1
        self.count = (len(self.lon_cuts) + 1) * self.per_strip
        lon_edges = np.concatenate([[-180.0], self.lon_cuts, [180.0]])
        ext = []
        for s, cuts in enumerate(self.lat_cuts):
            lat_edges = np.concatenate([[-90.0], cuts, [90.0]])
            for j in range(self.per_strip):
                ext.append((lon_edges[s], lon_edges[s + 1], lat_edges[j], lat_edges[j + 1]))
        #: (lon_lo, lon_hi, lat_lo, lat_hi) of each tile.
        self.extents = np.asarray(ext, dtype=np.float64)

    def owner(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        strip = np.searchsorted(self.lon_cuts, lon, side="right")
        out = np.empty(len(lat), dtype=np.int64)
        for s in np.unique(strip):
            m = strip == s
            out[m] = s * self.per_strip + np.searchsorted(self.lat_cuts[s], lat[m], side="right")
        return out

    def halo_windows(self, eps_m: float, extents: Optional[np.ndarray] = None) -> np.ndarray:
        """Each tile's extent widened to every point within eps of it: (lon_lo, width, lat_lo,
        lat_hi), width >= 360 meaning all longitudes, NaN for a tile without points.
        ``extents``: the bounding boxes of the points each tile owns (NaN rows for none);
        default the tiles' own extents (the outer ones reach the poles: all longitudes)."""
        d = eps_m / _MARGIN_RADIUS_M * 1.001 + 1e-12  # radians
        d_deg = math.degrees(d)
        out = np.full((self.count, 4), np.nan, dtype=np.float64)
        for t, (lo, hi, la, lb) in enumerate(self.extents if extents is None else extents):
            if math.isnan(lo):
                continue
            lat_lo, lat_hi = la - d_deg, lb + d_deg
            phi = max(abs(lat_lo), abs(lat_hi))
            if phi >= 90.0 or math.sin(d) >= math.cos(math.radians(phi)):
                width, start = 360.0, -180.0
            else:
                m = math.degrees(math.asin(math.sin(d) / math.cos(math.radians(phi)))) * 1.001 + 1e-9
                width, start = (hi - lo) + 2 * m, lo - m
                if width >= 360.0:
                    width, start = 360.0, -180.0
            out[t] = (start, width, lat_lo, lat_hi)
        return out


def tiles_from_sample(lat: np.ndarray, lon: np.ndarray, tiles: int) -> Tiles:
    """About ``tiles`` balanced tiles from sampled coordinates (quantile cuts)."""
    tiles = max(1, int(tiles))
    nx = max(1, int(math.ceil(math.sqrt(tiles))))
    ny = max(1, int(math.ceil(tiles / nx)))
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    if len(lon) == 0:
        return Tiles([], [[]])
    lon_cuts = np.unique(np.quantile(lon, np.arange(1, nx) / nx)) if nx > 1 else np.array([])
    strip = np.searchsorted(lon_cuts, lon, side="right")
    lat_cuts: List[np.ndarray] = []
    for s in range(len(lon_cuts) + 1):
        la = lat[strip == s]
        if len(la) == 0 or ny == 1:
            cuts = np.full(ny - 1, 90.0)
        else:
            cuts = np.quantile(la, np.arange(1, ny) / ny)
        lat_cuts.append(np.sort(cuts))
    return Tiles(lon_cuts, lat_cuts)


def _copies(tiles: Tiles, windows: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(index, tile) of every copy of every point: its owner tile and every halo."""
    idx: List[np.ndarray] = []
    tile: List[np.ndarray] = []
    for t, (start, width, lat_lo, lat_hi) in enumerate(windows):
        if math.isnan(start):
            continue
        m = (lat >= lat_lo) & (lat <= lat_hi)
        if width < 360.0:
            m &= np.mod(lon - start, 360.0) <= width
        i = np.flatnonzero(m)
        idx.append(i)
        tile.append(np.full(len(i), t, dtype=np.int64))
    return np.concatenate(idx), np.concatenate(tile)


def _spark_types():
    from pyspark.sql import functions as F  # noqa: N812
    from pyspark.sql import types as T  # noqa: N812

    return F, T


def _check_coords(df, lat: str, lon: str) -> None:
    F, _ = _spark_types()
    for c in (lat, lon):
        if c not in df.columns:
            raise NeedmapError(f"the DataFrame has no column {c!r} (columns: {', '.join(df.columns)})")
    bad = df.filter(
        F.col(lat).isNull()
        | F.col(lon).isNull()
        | F.isnan(F.col(lat).cast("double"))
        | F.isnan(F.col(lon).cast("double"))
        | (F.abs(F.col(lat)) > 90)
        | (F.abs(F.col(lon)) > 180)
    ).limit(1).collect()
    if bad:
        r = bad[0].asDict()
        raise NeedmapError(
            f"a row has {lat}={r.get(lat)!r}, {lon}={r.get(lon)!r}: not a location (latitude -90 to 90, longitude "
            f"-180 to 180 degrees); drop or fix such rows first ({r})"
        )


def dbscan(
    df,
    eps_m: float,
    min_points: int,
    lat: str = "lat",
    lon: str = "lon",
    partitions: Optional[int] = None,
    *,
    sample_size: int = 200_000,
    threads: int = 1,
    seed: int = 1,
    timings: Optional[dict] = None,
):
    """Exact great-circle DBSCAN of ``df``'s points on Spark: the input rows plus ``cluster``
    (int64, -1 = noise), DBSCAN-equivalent to :func:`needmap.cluster` on one machine. As with
    any Spark join, the rows' order is not kept (sort by a key column if it matters).

    ``partitions``: tiles (default 4 per Spark core); ``sample_size``: points sampled for the
    tile cuts; ``threads``: core threads per tile (Spark's tasks are the parallelism).
    ``timings``: a dict to fill with seconds per stage (each stage is then run to completion
    before the next, which costs an extra pass; for benchmarks).
    """
    if not (isinstance(eps_m, (int, float)) and math.isfinite(eps_m) and eps_m > 0):
        raise NeedmapError(f"eps_m is {eps_m}: give a radius above 0 metres")
    if not (isinstance(min_points, (int, np.integer)) and min_points >= 1):
        raise NeedmapError(f"min_points is {min_points}: give 1 or more (the household itself counts)")
    if "cluster" in df.columns:
        raise NeedmapError("the DataFrame already has a column 'cluster': drop or rename it first")
    F, T = _spark_types()
    spark = df.sparkSession
    _check_coords(df, lat, lon)
    if partitions is None:
        partitions = 4 * spark.sparkContext.defaultParallelism
    clock = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal clock
        if timings is not None:
            now = time.perf_counter()
            timings[name] = timings.get(name, 0.0) + now - clock
            clock = now

    acc_secs = spark.sparkContext.accumulator(0.0) if timings is not None else None
    acc_copies = spark.sparkContext.accumulator(0) if timings is not None else None
    base = df.withColumn(_ROW, F.monotonically_increasing_id()).persist()
    try:
        pts = base.select(F.col(_ROW), F.col(lat).cast("double").alias("lat"), F.col(lon).cast("double").alias("lon"))
        n = pts.count()
        if n == 0:
            return base.drop(_ROW).withColumn("cluster", F.lit(-1).cast("long"))
        frac = min(1.0, sample_size / n)
        sample = pts.sample(False, frac, seed).select("lat", "lon").toPandas() if frac < 1 else pts.toPandas()
        tiles = tiles_from_sample(sample["lat"].to_numpy(), sample["lon"].to_numpy(), partitions)
        windows = tiles.halo_windows(float(eps_m), _owned_extents(pts, tiles))
        lap("sample_and_tiles")
        eps_m = float(eps_m)
        min_points = int(min_points)

        def spread(batches):
            for b in batches:
                la = b["lat"].to_numpy(dtype=np.float64)
                lo = b["lon"].to_numpy(dtype=np.float64)
                own = tiles.owner(la, lo)
                i, t = _copies(tiles, windows, la, lo)
                if acc_copies is not None:
                    acc_copies.add(len(i))
                yield pd.DataFrame(
                    {
                        "tile": t,
                        "row": b[_ROW].to_numpy()[i],
                        "lat": la[i],
                        "lon": lo[i],
                        "owner": own[i] == t,
                    }
                )

        copy_schema = T.StructType(
            [
                T.StructField("tile", T.LongType()),
                T.StructField("row", T.LongType()),
                T.StructField("lat", T.DoubleType()),
                T.StructField("lon", T.DoubleType()),
                T.StructField("owner", T.BooleanType()),
            ]
        )

        def run_tile(g: pd.DataFrame) -> pd.DataFrame:
            g = g.sort_values("row", kind="stable")
            t0 = time.perf_counter()
            labels, core = _core.dbscan_core(
                np.ascontiguousarray(g["lat"].to_numpy(dtype=np.float64)),
                np.ascontiguousarray(g["lon"].to_numpy(dtype=np.float64)),
                eps_m,
                min_points,
                threads=threads,
            )
            if acc_secs is not None:
                acc_secs.add(time.perf_counter() - t0)
            keep = labels >= 0
            return pd.DataFrame(
                {
                    "tile": g["tile"].to_numpy()[keep],
                    "row": g["row"].to_numpy()[keep],
                    "local": labels[keep],
                    "owner": g["owner"].to_numpy()[keep],
                    "core": core[keep] & g["owner"].to_numpy()[keep],
                }
            )

        out_schema = T.StructType(
            [
                T.StructField("tile", T.LongType()),
                T.StructField("row", T.LongType()),
                T.StructField("local", T.LongType()),
                T.StructField("owner", T.BooleanType()),
                T.StructField("core", T.BooleanType()),
            ]
        )
        copies = pts.mapInPandas(spread, copy_schema)
        labelled = (
            copies.groupBy("tile")
            .applyInPandas(run_tile, out_schema)
            .withColumn("key", F.col("tile") * F.lit(1 << 32) + F.col("local"))
            .persist()
        )
        if timings is not None:
            labelled.count()
            lap("copy_shuffle_and_tile_dbscan")
            timings["tile_dbscan_task_seconds"] = acc_secs.value
            timings["copies"] = acc_copies.value
            timings["points"] = n
            timings["tiles"] = tiles.count
        try:
            # Pairs of (tile, cluster) sharing a truly core point (core in its owner tile).
            core_key = labelled.filter("core").select(F.col("row"), F.col("key").alias("core_key"))
            pairs = (
                labelled.join(core_key, "row")
                .filter(F.col("key") != F.col("core_key"))
                .select("key", "core_key")
                .distinct()
                .collect()
            )
            firsts = labelled.groupBy("key").agg(F.min("row").alias("first")).collect()
            final = _merge([(r["key"], r["core_key"]) for r in pairs], {r["key"]: r["first"] for r in firsts})
            lap("merge")
            mapping = spark.createDataFrame(
                pd.DataFrame({"key": np.fromiter(final.keys(), np.int64), "fid": np.fromiter(final.values(), np.int64)})
            )
            per_row = (
                labelled.join(F.broadcast(mapping), "key")
                .groupBy("row")
                .agg(F.coalesce(F.min(F.when(F.col("owner"), F.col("fid"))), F.min("fid")).alias("cluster"))
            )
            result = (
                base.join(per_row.withColumnRenamed("row", _ROW), _ROW, "left")
                .withColumn("cluster", F.coalesce(F.col("cluster"), F.lit(-1).cast("long")))
                .drop(_ROW)
            )
            # Materialise before the cached inputs are released.
            result = result.localCheckpoint(eager=True)
            lap("relabel_and_join")
        finally:
            labelled.unpersist()
        return result
    finally:
        base.unpersist()


def _owned_extents(pts, tiles: Tiles) -> np.ndarray:
    """The bounding box (lon_lo, lon_hi, lat_lo, lat_hi) of the points each tile owns, NaN
    for none: a tile's halo is then as narrow as its points allow (an outer tile reaches the
    pole but its points do not). Within a tile's strip longitudes do not wrap."""
    F, _ = _spark_types()

    def boxes(batches):
        for b in batches:
            la = b["lat"].to_numpy(dtype=np.float64)
            lo = b["lon"].to_numpy(dtype=np.float64)
            g = pd.DataFrame({"tile": tiles.owner(la, lo), "lat": la, "lon": lo}).groupby("tile")
            yield pd.DataFrame(
                {
                    "tile": g.size().index.to_numpy(np.int64),
                    "lon_lo": g["lon"].min().to_numpy(),
                    "lon_hi": g["lon"].max().to_numpy(),
                    "lat_lo": g["lat"].min().to_numpy(),
                    "lat_hi": g["lat"].max().to_numpy(),
                }
            )

    schema = "tile long, lon_lo double, lon_hi double, lat_lo double, lat_hi double"
    rows = (
        pts.mapInPandas(boxes, schema)
        .groupBy("tile")
        .agg(F.min("lon_lo").alias("a"), F.max("lon_hi").alias("b"), F.min("lat_lo").alias("c"), F.max("lat_hi").alias("d"))
        .collect()
    )
    out = np.full((tiles.count, 4), np.nan, dtype=np.float64)
    for r in rows:
        out[r["tile"]] = (r["a"], r["b"], r["c"], r["d"])
    return out


def _merge(pairs: List[Tuple[int, int]], first: Dict[int, int]) -> Dict[int, int]:
    """Union-find over (tile, cluster) keys; components numbered by their smallest row."""
    parent = {k: k for k in first}

    def find(k: int) -> int:
        root = k
        while parent[root] != root:
            root = parent[root]
        while parent[k] != root:
            parent[k], k = root, parent[k]
        return root

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            if ra < rb:
                ra, rb = rb, ra
            parent[ra] = rb
    smallest: Dict[int, int] = {}
    for k, f in first.items():
        r = find(k)
        smallest[r] = min(smallest.get(r, f), f)
    order = {r: i for i, r in enumerate(sorted(smallest, key=lambda r: smallest[r]))}
    return {k: order[find(k)] for k in first}


def zones(
    df,
    cluster: str = "cluster",
    lat: str = "lat",
    lon: str = "lon",
    need: Optional[str] = None,
    critical: Optional[str] = None,
    people: Optional[str] = None,
    *,
    hull: str = "convex",
    concavity: float = 2.0,
    priority: str = "total_need",
    order_by: Optional[str] = None,
):
    """One zone per cluster of ``df`` (a ``cluster`` column as :func:`dbscan` gives), with
    ``zones.csv``'s figures and the hull as WKT (``geometry``), ranked (``rank`` 1 first).

    ``need``/``critical``/``people``: columns (default: no need score, every household
    critical, no people), counted over every household inside a zone's polygon.
    ``order_by``: a column giving the households' order (the file's row order) so floating
    sums add in the same order as on one machine; default: none (figures may then differ in
    the last bits).
    """
    F, T = _spark_types()
    spark = df.sparkSession
    for c in [cluster, lat, lon, need, critical, people, order_by]:
        if c is not None and c not in df.columns:
            raise NeedmapError(f"the DataFrame has no column {c!r} (columns: {', '.join(df.columns)})")
    _check_coords(df, lat, lon)
    cols = [
        F.col(cluster).cast("long").alias("c"),
        F.col(lat).cast("double").alias("lat"),
        F.col(lon).cast("double").alias("lon"),
        (F.col(need).cast("double") if need else F.lit(float("nan"))).alias("need"),
        (F.col(critical).cast("boolean") if critical else F.lit(True)).alias("critical"),
        (F.col(people).cast("double") if people else F.lit(float("nan"))).alias("people"),
        (F.col(order_by).cast("long") if order_by else F.monotonically_increasing_id()).alias("ord"),
    ]
    h = df.select(*cols).persist()
    try:
        zone_kw = dict(hull=hull, concavity=float(concavity), priority=priority)
        # Validates hull and priority before any Spark work.
        _core.zones_for_labels(np.zeros(0), np.zeros(0), np.zeros(0, dtype=np.int64), **zone_kw)

        def call(g: pd.DataFrame, labels: np.ndarray) -> dict:
            g_people = g["people"].to_numpy(dtype=np.float64) if people else None
            z = json.loads(
                _core.zones_for_labels(
                    np.ascontiguousarray(g["lat"].to_numpy(dtype=np.float64)),
                    np.ascontiguousarray(g["lon"].to_numpy(dtype=np.float64)),
                    np.ascontiguousarray(labels),
                    need=np.ascontiguousarray(g["need"].to_numpy(dtype=np.float64)),
                    critical=np.ascontiguousarray(g["critical"].to_numpy(dtype=bool)),
                    people=None if g_people is None else np.ascontiguousarray(g_people),
                    threads=1,
                    **zone_kw,
                )
            )
            return z[0]

        def reach(g: pd.DataFrame) -> pd.DataFrame:
            g = g.sort_values("ord", kind="stable")
            z = call(g, np.zeros(len(g), dtype=np.int64))
            return pd.DataFrame(
                {"c": [int(g["c"].iloc[0])], "clon": [z["centre_lon"]], "clat": [z["centre_lat"]], "reach": [z["reach_m"]]}
            )

        reach_schema = "c long, clon double, clat double, reach double"
        caps = h.filter(F.col("c") >= 0).groupBy("c").applyInPandas(reach, reach_schema).toPandas()
        if caps.empty:
            return spark.createDataFrame([], _zones_schema(T))
        # The polygon is within `reach` of the centre in the zone's local plane; 1% and 50 m
        # more covers the plane's distortion at zone sizes and the rounding of the centre.
        rad = (caps["reach"].to_numpy() * 1.01 + 50.0) / EARTH_RADIUS_M
        cells = _cap_cells(caps["c"].to_numpy(np.int64), caps["clat"].to_numpy(), caps["clon"].to_numpy(), rad)
        grid, polar_rows, cap_cells = cells
        cxyz = _xyz(caps["clat"].to_numpy(), caps["clon"].to_numpy())
        cap_df = spark.createDataFrame(
            pd.DataFrame(
                {
                    "zone": caps["c"].to_numpy(np.int64),
                    "zx": cxyz[:, 0],
                    "zy": cxyz[:, 1],
                    "zz": cxyz[:, 2],
                    "chord2": (2 * np.sin(np.minimum(rad, math.pi) / 2)) ** 2,
                }
            )
        )
        cap_cells_df = spark.createDataFrame(cap_cells).join(cap_df, "zone")

        def keys(batches):
            for b in batches:
                la = b["lat"].to_numpy(dtype=np.float64)
                lo = b["lon"].to_numpy(dtype=np.float64)
                row, col = grid(la, lo)
                k1 = row * (grid.cols + 1) + col + 1
                polar = np.isin(row, polar_rows)
                out = b.assign(cell=k1)
                if polar.any():
                    out = pd.concat([out, b[polar].assign(cell=row[polar] * (grid.cols + 1))], ignore_index=True)
                p = _xyz(out["lat"].to_numpy(), out["lon"].to_numpy())
                yield out.assign(hx=p[:, 0], hy=p[:, 1], hz=p[:, 2])

        key_schema = T.StructType(
            [T.StructField(f.name, f.dataType, True) for f in h.schema.fields]
            + [T.StructField(c, T.LongType() if c == "cell" else T.DoubleType()) for c in ["cell", "hx", "hy", "hz"]]
        )
        d2 = (F.col("hx") - F.col("zx")) ** 2 + (F.col("hy") - F.col("zy")) ** 2 + (F.col("hz") - F.col("zz")) ** 2
        candidates = (
            h.mapInPandas(keys, key_schema)
            .join(F.broadcast(cap_cells_df), "cell")
            .filter(d2 <= F.col("chord2"))
            .select(*h.columns, "zone")
        )

        def figures(g: pd.DataFrame) -> pd.DataFrame:
            g = g.sort_values("ord", kind="stable")
            zid = int(g["zone"].iloc[0])
            labels = np.where(g["c"].to_numpy() == zid, 0, -1).astype(np.int64)
            z = call(g, labels)
            z["zone"] = zid
            z["priority_value"] = float(z["priority_value"])
            return pd.DataFrame([{k: z.get(k) for k in _ZONE_COLUMNS[:-1] + ["geometry", "priority_value"]}])

        fig_schema = T.StructType(list(_zones_schema(T).fields) + [T.StructField("priority_value", T.DoubleType())])
        figs = candidates.groupBy("zone").applyInPandas(figures, fig_schema).toPandas()
    finally:
        h.unpersist()
    figs["_neg_p"] = -figs["priority_value"]
    figs["_neg_h"] = -figs["households"]
    figs = figs.sort_values(["_neg_p", "_neg_h", "zone"], kind="stable").reset_index(drop=True)
    figs["rank"] = np.arange(1, len(figs) + 1)
    figs = figs[_ZONE_COLUMNS]
    return spark.createDataFrame(figs, _zones_schema(T))


class _Grid:
    """Cells of ``size`` degrees in latitude and longitude (rows from -90, columns from -180)."""

    def __init__(self, size: float) -> None:
        self.size = size
        self.rows = int(math.ceil(180.0 / size))
        self.cols = int(math.ceil(360.0 / size))

    def __call__(self, lat: np.ndarray, lon: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        row = np.clip(np.floor((np.asarray(lat) + 90.0) / self.size), 0, self.rows - 1).astype(np.int64)
        col = np.mod(np.floor((np.asarray(lon) + 180.0) / self.size), self.cols).astype(np.int64)
        return row, col


def _cap_cells(zone: np.ndarray, clat: np.ndarray, clon: np.ndarray, rad: np.ndarray):
    """The grid cells each zone's cap (``rad`` radians around its centre) may touch, as
    (grid, rows whose cells include an any-longitude cell, DataFrame zone/cell). A cap that
    reaches a pole or wraps the whole circle of its latitude takes the row's any-longitude
    cell (column -1) instead of every column. Households join on their cell (and, in those
    rows, the any-longitude cell too)."""
    r_deg = np.degrees(rad) * 1.001 + 1e-9
    size = float(np.clip(np.median(2 * r_deg), 1e-3, 10.0))
    size = 360.0 / math.ceil(360.0 / size)  # whole columns round the globe: wrapping by modulo is exact
    grid = _Grid(size)
    zs: List[int] = []
    keys: List[int] = []
    polar_rows = set()
    for z, la, lo, r, rd in zip(zone, clat, clon, rad, r_deg):
        r0, _ = grid(np.array([la - rd]), np.array([0.0]))
        r1, _ = grid(np.array([la + rd]), np.array([0.0]))
        phi = min(90.0, abs(la) + rd)
        rows = np.arange(r0[0], r1[0] + 1)
        if phi >= 90.0 or math.sin(r) >= math.cos(math.radians(phi)):
            cols = np.array([-1])
            polar_rows.update(rows.tolist())
        else:
            dlon = math.degrees(math.asin(math.sin(r) / math.cos(math.radians(phi)))) * 1.001 + 1e-9
            if 2 * dlon >= 360.0 - 2 * size:
                cols = np.array([-1])
                polar_rows.update(rows.tolist())
            else:
                c0 = int(math.floor((lo - dlon + 180.0) / size))
                c1 = int(math.floor((lo + dlon + 180.0) / size))
                cols = np.mod(np.arange(c0, c1 + 1), grid.cols)
        for row in rows:
            for col in cols:
                zs.append(int(z))
                keys.append(int(row) * (grid.cols + 1) + int(col) + 1)
    df = pd.DataFrame({"zone": np.asarray(zs, dtype=np.int64), "cell": np.asarray(keys, dtype=np.int64)})
    return grid, np.asarray(sorted(polar_rows), dtype=np.int64), df.drop_duplicates()


def _zones_schema(T):  # noqa: N803
    longs = {"zone", "rank", "households", "critical_households", "members"}
    fields = []
    for c in _ZONE_COLUMNS:
        if c in longs:
            t = T.LongType()
        elif c == "geometry":
            t = T.StringType()
        else:
            t = T.DoubleType()
        fields.append(T.StructField(c, t))
    return T.StructType(fields)


def _xyz(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    la = np.radians(np.asarray(lat, dtype=np.float64))
    lo = np.radians(np.asarray(lon, dtype=np.float64))
    return np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], axis=1)
