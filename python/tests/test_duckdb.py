"""The GeoParquet `needmap run --parquet` writes, read by DuckDB with its spatial extension
(as data teams query it): DuckDB must see GeoParquet geometries in OGC:CRS84, the households'
points exactly where households.csv puts them, valid zone polygons with the areas zones.csv
gives, and a bbox covering column that matches the geometries.

DuckDB cannot download its extensions here (no access to extensions.duckdb.org), so CI
installs DuckDB with the `duckdb-extension-spatial` wheel of the same version (see .ci/run)
and the test loads the extension from that wheel."""

from __future__ import annotations

import glob
import os
from pathlib import Path

import duckdb  # CI installs it with the spatial extension's wheel: no silent skip
import duckdb_extension_spatial
import pandas as pd

from conftest import SAMPLE, run_cli


def _connect() -> "duckdb.DuckDBPyConnection":
    root = os.path.dirname(duckdb_extension_spatial.__file__)
    found = glob.glob(os.path.join(root, "extensions", f"v{duckdb.__version__}", "spatial.duckdb_extension"))
    assert found, f"no spatial extension for DuckDB {duckdb.__version__} under {root}: install matching versions"
    con = duckdb.connect()
    con.execute(f"LOAD '{found[0]}'")
    return con


def test_duckdb_spatial_reads_the_geoparquet_of_a_run(tmp_path: Path, cli: Path) -> None:
    out = tmp_path / "run"
    run_cli(cli, "run", str(SAMPLE), "--parquet", "--out", str(out))
    con = _connect()
    h_path, z_path = (out / "households.parquet").as_posix(), (out / "zones.parquet").as_posix()

    # GeoParquet metadata understood: the geometry column is a GEOMETRY in OGC:CRS84.
    for path in (h_path, z_path):
        kind = con.sql(f"SELECT typeof(geometry) FROM '{path}' LIMIT 1").fetchone()[0]
        assert kind == "GEOMETRY('OGC:CRS84')", (path, kind)

    # Every household, at the coordinates households.csv gives (exactly: both are f64).
    csv = pd.read_csv(out / "households.csv", dtype={"household_id": str})
    pts = con.sql(
        f"SELECT household_id, ST_GeometryType(geometry)::VARCHAR AS t, ST_X(geometry) AS x, ST_Y(geometry) AS y "
        f"FROM '{h_path}'"
    ).df()
    assert len(pts) == len(csv) > 20_000
    assert set(pts["t"]) == {"POINT"}
    assert pts["household_id"].tolist() == csv["household_id"].tolist()
    assert pts["x"].tolist() == csv["longitude"].tolist()
    assert pts["y"].tolist() == csv["latitude"].tolist()

    # The bbox covering column holds each geometry's box, so bbox filters find what
    # geometry filters find.
    mismatched = con.sql(
        f"SELECT count(*) FROM '{h_path}' WHERE bbox.xmin <> ST_XMin(geometry) OR bbox.xmax <> ST_XMax(geometry) "
        f"OR bbox.ymin <> ST_YMin(geometry) OR bbox.ymax <> ST_YMax(geometry)"
    ).fetchone()[0]
    assert mismatched == 0
    west = float(csv["longitude"].median())
    by_box = con.sql(f"SELECT count(*) FROM '{h_path}' WHERE bbox.xmax < {west!r}").fetchone()[0]
    assert by_box == int((csv["longitude"] < west).sum()) > 0

    # Zones: valid polygons, in zones.csv's order, with its areas (DuckDB's on the WGS 84
    # spheroid, needmap's on the sphere: within 1 %). ST_Area_Spheroid wants latitude first.
    zones_csv = pd.read_csv(out / "zones.csv")
    zones = con.sql(
        f"SELECT zone, ST_GeometryType(geometry)::VARCHAR AS t, ST_IsValid(geometry) AS valid, "
        f"ST_Area_Spheroid(ST_FlipCoordinates(geometry)) AS area FROM '{z_path}'"
    ).df()
    assert zones["zone"].tolist() == zones_csv["zone"].tolist() and len(zones) > 5
    assert set(zones["t"]) == {"POLYGON"} and zones["valid"].all()
    ratio = zones["area"] / zones_csv["area_m2"]
    assert ratio.between(0.99, 1.01).all(), ratio.describe()
