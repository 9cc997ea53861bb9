"""A DataFrame reaches the core as an Arrow table (the PyCapsule stream interface), not as a
temporary CSV: the same households, zones and report as the file, and the CSV path kept as
the fallback without pyarrow."""

from __future__ import annotations

import builtins
import json
import re

import numpy as np
import pandas as pd
import pytest

import needmap
from conftest import SAMPLE

pa = pytest.importorskip("pyarrow")


def without_pyarrow(monkeypatch):
    """`import pyarrow` fails, as on a machine without it: the temporary-CSV path runs."""
    real = builtins.__import__

    def fake(name, *args, **kwargs):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("no pyarrow here")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake)


def assert_same(by_frame, by_path):
    pd.testing.assert_frame_equal(pd.DataFrame(by_frame.zones), pd.DataFrame(by_path.zones))
    for col in ["need", "critical", "cluster", "zone"]:
        pd.testing.assert_series_equal(by_frame.households[col], by_path.households[col])
    a, b = dict(by_frame.report), dict(by_path.report)
    # The timings differ from run to run, and the path names the table.
    for r in (a, b):
        r.pop("timings_ms", None)
        r["import"] = {k: v for k, v in r["import"].items() if k not in ("path", "format", "rejects", "flags")}
    # The file names a value by its line, the table by its row (line N is row N - 1).
    def rows(r):
        return re.sub(r"line (\d+)", lambda m: f"row {int(m.group(1)) - 1}", json.dumps(r, sort_keys=True))

    assert rows(a) == rows(b)


def test_run_on_a_dataframe_through_arrow_equals_run_on_the_file(monkeypatch):
    calls = []
    real = needmap._arrow_table
    monkeypatch.setattr(needmap, "_arrow_table", lambda df: calls.append(real(df)) or calls[-1])
    by_path = needmap.run(SAMPLE, progress=False)
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    by_frame = needmap.run(df, progress=False)
    assert calls and isinstance(calls[-1], pa.Table), "the DataFrame did not go through Arrow"
    assert_same(by_frame, by_path)
    assert by_frame.households["household_id"].iloc[0] == "H000001"
    assert by_frame.report["import"]["path"] == "<DataFrame>"
    assert [(r["kind"], r["row"]) for r in by_frame.report["import"]["rejects"]] == [
        (r["kind"], r["row"]) for r in by_path.report["import"]["rejects"]
    ]


def test_run_on_the_100k_city_through_arrow_equals_the_file(city100k):
    by_path = needmap.run(city100k, progress=False)
    by_frame = needmap.run(pd.read_csv(city100k, dtype={"household_id": str}), progress=False)
    assert_same(by_frame, by_path)


def test_the_fallback_without_pyarrow_gives_the_same(monkeypatch):
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    by_arrow = needmap.run(df, progress=False)
    without_pyarrow(monkeypatch)
    by_csv = needmap.run(df, progress=False)
    assert_same(by_arrow, by_csv)


def test_a_bad_coordinate_is_rejected_with_the_same_message(monkeypatch):
    """What a user sees: the same reject (kind, id, message). Arrow names the record
    `row N` (df.iloc[N - 1]); the temporary CSV named it by its line (N + 1)."""
    df = pd.read_csv(SAMPLE, dtype={"household_id": str}).head(500).copy()
    df.loc[7, "latitude"] = "95.0" if df["latitude"].dtype != float else 95.0
    df.loc[9, "longitude"] = np.nan
    by_arrow = needmap.run(df, progress=False).report["import"]["rejects"]
    without_pyarrow(monkeypatch)
    by_csv = needmap.run(df, progress=False).report["import"]["rejects"]
    assert len(by_arrow) == len(by_csv) >= 2
    for a, c in zip(by_arrow, by_csv):
        assert (a["kind"], a["row"], a.get("id"), a["message"]) == (c["kind"], c["row"], c.get("id"), c["message"])
    assert by_arrow[0]["row"] == 8 and by_arrow[0]["id"] == df.loc[7, "household_id"]


def test_a_table_without_coordinates_raises_the_same_message(monkeypatch):
    df = pd.DataFrame({"id": ["1", "2"], "income": [300, 400]})
    with pytest.raises(needmap.NeedmapError) as by_arrow:
        needmap.run(df, progress=False)
    without_pyarrow(monkeypatch)
    with pytest.raises(needmap.NeedmapError) as by_csv:
        needmap.run(df, progress=False)
    assert str(by_arrow.value) == str(by_csv.value)
    assert "<DataFrame>" in str(by_arrow.value)


def test_an_arrow_table_or_stream_is_a_source():
    """Any object with `__arrow_c_stream__` (here a pyarrow Table and a RecordBatchReader over
    it) runs as the file does; its households come from the core's columns."""
    by_path = needmap.run(SAMPLE, progress=False)
    table = pa.Table.from_pandas(pd.read_csv(SAMPLE, dtype={"household_id": str}), preserve_index=False)
    for source in (table, pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=5000))):
        by_arrow = needmap.run(source, progress=False)
        assert_same(by_arrow, by_path)
        assert list(by_arrow.households["household_id"]) == list(by_path.households["household_id"])
        assert by_arrow.report["import"]["path"] == "<DataFrame>"


# sites, hotspots, audit and read take the same sources as run, through the same Arrow stream.


def frame() -> pd.DataFrame:
    return pd.read_csv(SAMPLE, dtype={"household_id": str})


def through_arrow(monkeypatch, name: str) -> list:
    """Records, per call of `_core.<name>`, whether it got an Arrow stream (not a path)."""
    streams = []
    real = getattr(needmap._core, name)

    def spy(*args, **kwargs):
        streams.append(kwargs.get("stream") is not None)
        return real(*args, **kwargs)

    monkeypatch.setattr(needmap._core, name, spy)
    return streams


def same_rows(a, b) -> None:
    """Rejects or flags: the same kind, row, id and message (the file adds line and column,
    and its messages name line N where the table's name row N - 1)."""
    as_rows = lambda m: re.sub(r"line (\d+)", lambda g: f"row {int(g.group(1)) - 1}", m)  # noqa: E731
    key = lambda i: (i["kind"], i["row"], i.get("id"), as_rows(i["message"]))  # noqa: E731
    assert [key(i) for i in a] == [key(i) for i in b]


def test_read_of_a_dataframe_is_the_report_of_the_file(monkeypatch):
    streams = through_arrow(monkeypatch, "read")
    by_path = needmap.read(SAMPLE, progress=False)
    by_frame = needmap.read(frame(), progress=False)
    assert streams == [False, True]
    assert by_frame["path"] == "<DataFrame>" and by_frame["format"] == {"kind": "arrow", "geometry": None}
    assert by_frame["rejected"] == by_path["rejected"] > 0
    same_rows(by_frame["rejects"], by_path["rejects"])
    same_rows(by_frame["flags"], by_path["flags"])
    rest = lambda r: {k: v for k, v in r.items() if k not in ("path", "format", "rejects", "flags")}  # noqa: E731
    assert rest(by_frame) == rest(by_path)


def test_sites_of_a_dataframe_are_those_of_the_file(monkeypatch):
    streams = through_arrow(monkeypatch, "sites")
    kwargs = dict(sites=4, radius_m=600, candidates_from="zones", weight="critical", eps_m=180, progress=False)
    by_path = needmap.sites(SAMPLE, **kwargs)
    by_frame = needmap.sites(frame(), **kwargs)
    assert streams == [False, True]
    assert len(by_path.sites) == 4
    pd.testing.assert_frame_equal(by_frame.sites, by_path.sites, check_exact=True)
    assert by_frame.report["sites"] == by_path.report["sites"]
    assert by_frame.settings == by_path.settings
    assert by_frame.report["import"]["path"] == "<DataFrame>"
    same_rows(by_frame.report["import"]["rejects"], by_path.report["import"]["rejects"])


def test_hotspots_of_a_dataframe_are_those_of_the_file(monkeypatch):
    streams = through_arrow(monkeypatch, "hotspots")
    for kwargs in [dict(band_m=700), dict(value="monthly_income_pen", fdr=0.1)]:
        by_path = needmap.hotspots(SAMPLE, progress=False, **kwargs)
        by_frame = needmap.hotspots(frame(), progress=False, **kwargs)
        assert (by_path.hotspots["hot"] != 0).sum() > 0
        pd.testing.assert_frame_equal(by_frame.hotspots, by_path.hotspots, check_exact=True)
        assert by_frame.report["hotspots"] == by_path.report["hotspots"]
        assert by_frame.report["import"]["path"] == "<DataFrame>"
    assert streams == [False, True, False, True]


def test_audit_of_a_dataframe_is_that_of_the_file(monkeypatch):
    streams = through_arrow(monkeypatch, "audit")
    kwargs = dict(group=["mother_tongue", "head_female"], draws=40, seed=3, top_k=5, progress=False)
    by_path = needmap.audit(SAMPLE, **kwargs)
    by_frame = needmap.audit(frame(), **kwargs)
    assert streams == [False, True]
    assert len(by_path.zones_stability) > 5 and len(by_path.groups) >= 4
    pd.testing.assert_frame_equal(by_frame.zones_stability, by_path.zones_stability, check_exact=True)
    pd.testing.assert_frame_equal(by_frame.groups, by_path.groups, check_exact=True)
    assert by_frame.report == by_path.report


def test_the_stages_fall_back_to_the_csv_without_pyarrow(monkeypatch):
    df = frame()
    by_arrow = (
        needmap.read(df, progress=False),
        needmap.sites(df, sites=3, radius_m=500, progress=False),
        needmap.hotspots(df, band_m=700, progress=False),
        needmap.audit(df, draws=20, progress=False),
    )
    without_pyarrow(monkeypatch)
    streams = [through_arrow(monkeypatch, name) for name in ("read", "sites", "hotspots", "audit")]
    by_csv = (
        needmap.read(df, progress=False),
        needmap.sites(df, sites=3, radius_m=500, progress=False),
        needmap.hotspots(df, band_m=700, progress=False),
        needmap.audit(df, draws=20, progress=False),
    )
    assert streams == [[False]] * 4
    assert by_csv[0]["path"] == "<DataFrame>" and by_csv[0]["format"]["kind"] == "csv"
    assert by_csv[0]["accepted"] == by_arrow[0]["accepted"]
    same_rows(by_csv[0]["rejects"], by_arrow[0]["rejects"])
    pd.testing.assert_frame_equal(by_csv[1].sites, by_arrow[1].sites)
    assert by_csv[1].report["import"]["path"] == "<DataFrame>"
    pd.testing.assert_frame_equal(by_csv[2].hotspots, by_arrow[2].hotspots)
    pd.testing.assert_frame_equal(by_csv[3].groups, by_arrow[3].groups)
    assert by_csv[3].report == by_arrow[3].report


def as_row(message: str, path: str) -> str:
    """A file's message as the table's: the file named `<DataFrame>`, `:LINE:COLUMN:` as
    `: row LINE - 1:` (line 1 is the header)."""
    message = message.replace(path, "<DataFrame>")
    return re.sub(r"<DataFrame>:(\d+):\d+:", lambda m: f"<DataFrame>: row {int(m.group(1)) - 1}:", message)


STAGES = [
    ("read", lambda s: needmap.read(s, progress=False)),
    ("run", lambda s: needmap.run(s, progress=False)),
    ("sites", lambda s: needmap.sites(s, sites=2, radius_m=500, progress=False)),
    ("hotspots", lambda s: needmap.hotspots(s, progress=False)),
    ("audit", lambda s: needmap.audit(s, draws=5, progress=False)),
]


@pytest.mark.parametrize("name,call", STAGES, ids=[s[0] for s in STAGES])
def test_bad_coordinates_raise_the_file_s_message_naming_the_row(tmp_path, monkeypatch, name, call):
    df = frame().head(5).copy()
    df["latitude"] = ["95.0", "", "-12,1", "-91", "abc"]  # no household left
    path = tmp_path / "survey.csv"
    df.to_csv(path, index=False)
    with pytest.raises(needmap.NeedmapError) as by_path:
        call(path)
    streams = through_arrow(monkeypatch, name)
    with pytest.raises(needmap.NeedmapError) as by_frame:
        call(df)
    assert streams == [True]
    assert f"{path}:2:2: latitude 95 is outside" in str(by_path.value)
    assert str(by_frame.value) == as_row(str(by_path.value), str(path))
    assert str(by_frame.value).startswith("<DataFrame>: no household has usable coordinates (5 records rejected; ")
    assert "the first: <DataFrame>: row 1: latitude 95 is outside [-90, 90]" in str(by_frame.value)


# A GeoDataFrame goes through Arrow too: its geometry as WKB, typed geoarrow.wkb.
gpd = pytest.importorskip("geopandas")
shapely_geometry = pytest.importorskip("shapely.geometry")


def points_frame() -> "gpd.GeoDataFrame":
    """The sample survey with its coordinates as points (an unusable coordinate, NaN)."""
    df = frame()
    lon = pd.to_numeric(df.pop("longitude"), errors="coerce")
    lat = pd.to_numeric(df.pop("latitude"), errors="coerce")
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def test_a_geodataframe_of_points_runs_as_the_csv(monkeypatch):
    streams = through_arrow(monkeypatch, "run")
    by_path = needmap.run(SAMPLE, progress=False)
    gdf = points_frame()
    by_frame = needmap.run(gdf, progress=False)
    assert streams == [False, True]
    assert by_frame.report["import"]["format"] == {"kind": "arrow", "geometry": "geometry"}
    assert by_frame.report["import"]["accepted"] == by_path.report["import"]["accepted"]
    assert [r["row"] for r in by_frame.report["import"]["rejects"]] == [
        r["row"] for r in by_path.report["import"]["rejects"]
    ]
    pd.testing.assert_frame_equal(pd.DataFrame(by_frame.zones), pd.DataFrame(by_path.zones))
    for col in ["need", "critical", "cluster", "zone"]:
        pd.testing.assert_series_equal(by_frame.households[col], by_path.households[col])
    # The households are the GeoDataFrame's own rows, geometry included.
    assert isinstance(by_frame.households, gpd.GeoDataFrame)
    assert by_frame.households.geometry.iloc[0] == gdf.geometry.iloc[0]


def test_a_geodataframe_with_two_geometry_columns_goes_through_the_csv(monkeypatch):
    """The core would take the first geometry column, which need not be the active one."""
    gdf = points_frame().head(300)
    gdf["outline"] = gdf.geometry.copy()
    gdf = gdf[["outline"] + [c for c in gdf.columns if c != "outline"]]
    streams = through_arrow(monkeypatch, "read")
    report = needmap.read(gdf, progress=False)
    assert streams == [False]
    assert report["format"]["kind"] == "csv" and report["accepted"] > 290


def test_polygons_in_a_geodataframe_are_rejected_row_by_row_as_in_a_geoparquet_file(tmp_path):
    gdf = points_frame().head(8).copy()
    triangle = shapely_geometry.Polygon([(-77.0, -12.0), (-77.01, -12.0), (-77.0, -12.01)])
    gdf.loc[[2, 5], "geometry"] = triangle
    by_frame = needmap.read(gdf, progress=False)
    path = tmp_path / "survey.parquet"
    gdf.to_parquet(path)
    by_file = needmap.read(path, progress=False)
    assert by_frame["accepted"] == by_file["accepted"] == 6
    assert [(r["kind"], r["row"], r["id"]) for r in by_frame["rejects"]] == [
        ("unsupported_geometry", 3, "H000003"),
        ("unsupported_geometry", 6, "H000006"),
    ]
    assert [r["message"] for r in by_frame["rejects"]] == [
        'geometry "geometry" (row 3) is a Polygon; only Point geometries are households',
        'geometry "geometry" (row 6) is a Polygon; only Point geometries are households',
    ]
    # The file names the place by row group and row, the table by row; the rest is the same.
    assert [(r["kind"], r["row"], r["id"]) for r in by_file["rejects"]] == [
        (r["kind"], r["row"], r["id"]) for r in by_frame["rejects"]
    ]
    assert [r["message"].replace("row group 1, ", "") for r in by_file["rejects"]] == [
        r["message"] for r in by_frame["rejects"]
    ]

    gdf["geometry"] = triangle
    with pytest.raises(needmap.NeedmapError) as e:
        needmap.run(gdf, progress=False)
    assert str(e.value) == (
        "<DataFrame>: no household has usable coordinates (8 records rejected; the first: <DataFrame>: row 1: "
        'geometry "geometry" (row 1) is a Polygon; only Point geometries are households)'
    )


def test_a_projected_geodataframe_is_refused_with_what_to_do():
    gdf = points_frame().head(50).to_crs(32718)
    with pytest.raises(needmap.NeedmapError) as e:
        needmap.read(gdf, progress=False)
    assert str(e.value) == (
        '<DataFrame>: geometry column "geometry" is in EPSG:32718 (WGS 84 / UTM zone 18S); needmap reads '
        "longitude and latitude (OGC:CRS84 / EPSG:4326): reproject it first (geopandas: gdf.to_crs(4326))"
    )
