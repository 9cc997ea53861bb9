"""needmap.spark on Spark local[2]: labels DBSCAN-equivalent to one machine (checked by an
independent brute-force checker on scikit-learn's haversine BallTree), across the
antimeridian and near a pole, and zones equal to the one-machine zones."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pandas as pd
import pytest

import needmap
from needmap import _core

pyspark = pytest.importorskip("pyspark")
BallTree = pytest.importorskip("sklearn.neighbors").BallTree

if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("no Java (install openjdk-17-jre-headless)", allow_module_level=True)

import needmap.spark as nms  # noqa: E402

EARTH_RADIUS_M = 6_371_008.8


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[2]")
        .appName("needmap-test")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def check_equivalent(lat, lon, ref, got, eps_m, min_points):
    """DBSCAN equivalence of two labelings, from first principles: core points computed here
    by brute force (BallTree, haversine), clusters mapped 1:1 through core points, the same
    noise, and each border point's cluster holding a core point within eps."""
    ref = np.asarray(ref)
    got = np.asarray(got)
    x = np.radians(np.column_stack([lat, lon]))
    tree = BallTree(x, metric="haversine")
    # A hair inside eps, so rounding at exactly eps cannot decide a test.
    nbrs = tree.query_radius(x, r=eps_m / EARTH_RADIUS_M * (1 - 1e-9))
    core = np.array([len(n) >= min_points for n in nbrs])
    assert core.any(), "the data must have core points to test anything"
    # Core points: never noise, and the clusters match 1:1.
    assert (ref[core] >= 0).all() and (got[core] >= 0).all()
    pairs = set(zip(ref[core].tolist(), got[core].tolist()))
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs}), "clusters differ through core points"
    assert len(pairs) == len(set(ref[ref >= 0].tolist())) == len(set(got[got >= 0].tolist()))
    # The same noise.
    np.testing.assert_array_equal(ref < 0, got < 0)
    # Border points: a core point of the same cluster within eps (slightly more, for rounding).
    wide = tree.query_radius(x, r=eps_m / EARTH_RADIUS_M * (1 + 1e-9))
    for i in np.flatnonzero(~core & (got >= 0)):
        n = wide[i]
        assert (core[n] & (got[n] == got[i])).any(), f"border point {i} has no core point of its cluster within eps"
    return len(pairs)


def spark_labels(spark, pdf, eps_m, min_points, partitions):
    df = spark.createDataFrame(pdf)
    out = nms.dbscan(df, eps_m=eps_m, min_points=min_points, partitions=partitions).toPandas()
    out = out.sort_values("id").reset_index(drop=True)
    # Every row comes back once, with its columns intact.
    np.testing.assert_array_equal(out["lat"].to_numpy(), pdf["lat"].to_numpy())
    np.testing.assert_array_equal(out["id"].to_numpy(), pdf["id"].to_numpy())
    assert out["cluster"].dtype == np.int64
    return out["cluster"].to_numpy()


def test_city_100k_many_tiles(spark, city100k):
    pdf = pd.read_csv(city100k, usecols=["id", "lat", "lon"])
    eps, mp = 150.0, 10
    ref = needmap.cluster(pdf["lat"], pdf["lon"], eps_m=eps, min_points=mp, progress=False)
    # 100 tiles over one ~30 km city: tiles of ~3 km, so most clusters cross tiles.
    got = spark_labels(spark, pdf, eps, mp, partitions=100)
    tiles = nms.tiles_from_sample(pdf["lat"].to_numpy(), pdf["lon"].to_numpy(), 100)
    own = tiles.owner(pdf["lat"].to_numpy(), pdf["lon"].to_numpy())
    crossing = sum(len(np.unique(own[got == c])) > 1 for c in np.unique(got[got >= 0]))
    clusters = check_equivalent(pdf["lat"].to_numpy(), pdf["lon"].to_numpy(), ref, got, eps, mp)
    assert clusters > 20
    assert crossing >= 5, f"only {crossing} of {clusters} clusters cross tiles: the test would not test the merge"
    # And against the shared scikit-learn reference: the same clusters up to border points.
    ari = _ari(pd.read_csv(nms_ref_path(city100k))["label"].to_numpy(), got)
    assert ari > 0.999


def nms_ref_path(city):
    from conftest import BENCH

    return BENCH / "ref_labels_100k.csv"


def _ari(a, b):
    from sklearn.metrics import adjusted_rand_score

    return adjusted_rand_score(a, b)


def blobs(rng, centres, per, spread_m):
    lat, lon = [], []
    for clat, clon in centres:
        d = rng.normal(0, spread_m, size=(per, 2)) / EARTH_RADIUS_M
        la = clat + np.degrees(d[:, 0])
        lo = clon + np.degrees(d[:, 1] / max(np.cos(np.radians(clat)), 1e-3))
        la = np.clip(la, -90, 90)
        lo = (lo + 180) % 360 - 180
        lat.append(la)
        lon.append(lo)
    return np.concatenate(lat), np.concatenate(lon)


def test_antimeridian_and_pole(spark):
    rng = np.random.default_rng(7)
    # Clusters straddling lon 180 (Fiji's latitude and a high one) and around the North Pole,
    # plus scattered noise; the pole blob crosses every longitude.
    lat, lon = blobs(
        rng,
        [(-17.0, 179.999), (-17.0, -179.99), (-16.99, 180.0), (65.0, 179.995), (89.999, 0.0), (-89.9995, 120.0)],
        per=400,
        spread_m=120.0,
    )
    lat = np.concatenate([lat, rng.uniform(-89, 89, 300)])
    lon = np.concatenate([lon, rng.uniform(-180, 180, 300)])
    lon[:50] = np.where(lon[:50] > 0, 179.99, -179.99)
    pdf = pd.DataFrame({"id": np.arange(len(lat)), "lat": lat, "lon": lon})
    eps, mp = 60.0, 5
    ref = needmap.cluster(lat, lon, eps_m=eps, min_points=mp, progress=False)
    # Antimeridian clusters must be one cluster on both sides.
    at = np.abs(lon) > 179.9
    assert len(set(ref[at & (ref >= 0) & (lon > 0)]) & set(ref[at & (ref >= 0) & (lon < 0)])) >= 1
    for partitions in (16, 49):
        got = spark_labels(spark, pdf, eps, mp, partitions=partitions)
        check_equivalent(lat, lon, ref, got, eps, mp)
    # Zones across the antimeridian and around the poles: as on one machine.
    want = pd.DataFrame(json.loads(_core.zones_for_labels(lat, lon, ref)))
    zdf = spark.createDataFrame(pdf.assign(cluster=ref))
    have = nms.zones(zdf, order_by="id").toPandas()
    assert len(want) >= 4
    for c in ["zone", "rank", "households", "members", "geometry"]:
        assert list(have[c]) == list(want[c]), c


def test_bad_input_is_a_clear_error(spark):
    df = spark.createDataFrame(pd.DataFrame({"lat": [0.0, 95.0], "lon": [0.0, 1.0]}))
    with pytest.raises(needmap.NeedmapError, match="not a location"):
        nms.dbscan(df, eps_m=100, min_points=2)
    with pytest.raises(needmap.NeedmapError, match="no column 'y'"):
        nms.dbscan(df, eps_m=100, min_points=2, lat="y")
    with pytest.raises(needmap.NeedmapError, match="eps_m"):
        nms.dbscan(df, eps_m=0, min_points=2)


def test_zones_equal_one_machine(spark, city100k):
    pdf = pd.read_csv(city100k).head(30000)
    eps, mp = 150.0, 10
    labels = needmap.cluster(pdf["lat"], pdf["lon"], eps_m=eps, min_points=mp, progress=False)
    pdf["cluster"] = labels
    # Some figures to count: a need value and a critical flag, people from the household size.
    pdf["need"] = pdf["people_per_room"].astype(float)
    pdf["critical"] = pdf["has_water"].astype(str).str.lower().isin(["0", "no", "false"])
    pdf["people"] = pdf["household_size"].astype(float)
    pdf["order"] = np.arange(len(pdf))
    ref = pd.DataFrame(
        json.loads(
            _core.zones_for_labels(
                pdf["lat"].to_numpy(),
                pdf["lon"].to_numpy(),
                labels,
                need=pdf["need"].to_numpy(),
                critical=pdf["critical"].to_numpy(),
                people=pdf["people"].to_numpy(),
            )
        )
    )
    assert len(ref) > 10
    df = spark.createDataFrame(pdf)
    got = nms.zones(df, need="need", critical="critical", people="people", order_by="order").toPandas()
    assert list(got["zone"]) == list(ref["zone"])
    assert list(got["rank"]) == list(ref["rank"])
    for c in ["households", "critical_households", "members", "geometry"]:
        assert list(got[c]) == list(ref[c]), c
    for c in ["people", "critical_share", "mean_need", "total_need", "area_m2", "density_per_km2", "centre_lon", "centre_lat"]:
        np.testing.assert_allclose(got[c].to_numpy(float), ref[c].to_numpy(float), rtol=1e-9, err_msg=c)
    # Zones count households of other clusters and noise inside their polygons too.
    assert (ref["households"] > ref["members"]).any()


def test_halo_holds_every_neighbourhood():
    """The invariant the merge rests on, checked by brute force without Spark: every point
    within eps of a point is copied into that point's owner tile (antimeridian, poles, a city)."""
    rng = np.random.default_rng(3)
    lat, lon = blobs(rng, [(0.0, 179.9995), (89.9995, 50.0), (-89.999, -10.0), (-12.05, -77.03), (60.0, -180.0)], 800, 300.0)
    lat = np.concatenate([lat, rng.uniform(-90, 90, 2000)])
    lon = np.concatenate([lon, rng.uniform(-180, 180, 2000)])
    eps = 250.0
    x = np.radians(np.column_stack([lat, lon]))
    nbrs = BallTree(x, metric="haversine").query_radius(x, r=eps / EARTH_RADIUS_M)
    for parts in (9, 64):
        tiles = nms.tiles_from_sample(lat[::3], lon[::3], parts)
        own = tiles.owner(lat, lon)
        ext = np.full((tiles.count, 4), np.nan)
        for t in np.unique(own):
            m = own == t
            ext[t] = (lon[m].min(), lon[m].max(), lat[m].min(), lat[m].max())
        idx, tile = nms._copies(tiles, tiles.halo_windows(eps, ext), lat, lon)
        copied = set(zip(idx.tolist(), tile.tolist()))
        missing = [(i, j) for i in range(len(lat)) for j in nbrs[i] if (int(j), int(own[i])) not in copied]
        assert not missing, f"{len(missing)} neighbours missing from their owner tile, e.g. {missing[:3]}"
        # Each point once in its owner tile (its own neighbourhood includes itself).
        assert len(set(zip(range(len(lat)), own.tolist())) - copied) == 0
