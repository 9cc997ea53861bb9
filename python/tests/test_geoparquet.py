"""GeoParquet both ways with the reader and writer Python users have: a file written by
geopandas is read by needmap (every column type, nulls, ids with leading zeros) and gives the
zones the CSV gives; the files `needmap run --parquet` writes are read by geopandas with their
CRS, geometry and every value of households.csv and zones.csv."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd  # CI installs it (and pyarrow): no silent skip
import numpy as np
import pandas as pd

import needmap
from conftest import SAMPLE, run_cli


def _typed_survey() -> "gpd.GeoDataFrame":
    """The sample survey with pandas' own types, a few nulls and zero-padded codes."""
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    df["head_female"] = df["head_female"].eq("yes")  # bool
    df["children_under5"] = df["children_under5"].astype("Int64")  # nullable int
    df.loc[df.index % 97 == 0, "children_under5"] = pd.NA
    df["district"] = df["district"].astype("category")
    df["block_code"] = [f"{i % 1000:05d}" for i in range(len(df))]  # text with leading zeros
    df.loc[df.index % 89 == 0, "mother_tongue"] = None  # null text
    # The survey's few unusable coordinates (empty, decimal commas) become empty points,
    # which needmap rejects as the CSV's are rejected.
    lon = pd.to_numeric(df.pop("longitude"), errors="coerce")
    lat = pd.to_numeric(df.pop("latitude"), errors="coerce")
    geometry = gpd.points_from_xy(lon, lat, crs="EPSG:4326")
    return gpd.GeoDataFrame(df, geometry=geometry)


def test_a_geoparquet_from_geopandas_gives_the_zones_of_the_csv(tmp_path: Path, cli: Path) -> None:
    gdf = _typed_survey()
    path = tmp_path / "survey.parquet"
    gdf.to_parquet(path)

    rep = json.loads(run_cli(cli, "inspect", str(path), "--json").stdout)
    assert rep["format"] == {"kind": "parquet", "geometry": "geometry"}
    csv_rep = json.loads(run_cli(cli, "inspect", str(SAMPLE), "--json").stdout)
    assert rep["accepted"] == csv_rep["accepted"] and rep["rejected"] == csv_rep["rejected"] == len(gdf) - rep["accepted"]

    from_csv = needmap.run(SAMPLE)
    from_parquet = needmap.run(path)
    cols = ["zone", "rank", "households", "critical_households", "mean_need", "area_m2"]
    pd.testing.assert_frame_equal(
        pd.DataFrame(from_csv.zones)[cols].reset_index(drop=True),
        pd.DataFrame(from_parquet.zones)[cols].reset_index(drop=True),
    )
    h = from_parquet.households
    gdf = gdf.iloc[h.index.to_numpy() - 1]  # the accepted records (the index is the record number)
    assert list(h["household_id"]) == list(gdf["household_id"])
    assert list(h["block_code"])[:3] == ["00000", "00001", "00002"], "leading zeros kept"
    assert set(h["head_female"]) == {"true", "false"}
    # Nulls are empty cells: missing numbers, empty text.
    assert h["children_under5"].isna().tolist() == gdf["children_under5"].isna().tolist()
    assert h["mother_tongue"].eq("").tolist() == gdf["mother_tongue"].isna().tolist()
    assert list(h["district"]) == [str(v) for v in gdf["district"]]


def test_run_parquet_files_read_in_geopandas_as_the_csv_files(tmp_path: Path, cli: Path) -> None:
    gdf = _typed_survey()
    src = tmp_path / "survey.parquet"
    gdf.to_parquet(src)
    out = tmp_path / "run"
    r = run_cli(cli, "run", str(src), "--out", str(out), "--parquet")
    assert r.returncode == 0, r.stderr

    hh = gpd.read_parquet(out / "households.parquet")
    # The accepted households, in input order (the rejected ones have unusable points).
    report = json.loads((out / "report.json").read_text())
    rejected = {r["row"] - 1 for r in report["import"]["rejects"]}
    gdf = gdf[[i not in rejected for i in range(len(gdf))]].reset_index(drop=True)
    assert len(gdf) == len(hh)
    assert hh.crs is not None and hh.crs.equals("OGC:CRS84")
    assert (hh.geometry.geom_type == "Point").all()
    np.testing.assert_array_equal(hh.geometry.x.to_numpy(), gdf.geometry.x.to_numpy())
    np.testing.assert_array_equal(hh.geometry.y.to_numpy(), gdf.geometry.y.to_numpy())
    # The round trip of every input column: types and nulls as geopandas wrote them.
    assert hh["household_id"].tolist() == gdf["household_id"].tolist()
    assert hh["block_code"].tolist() == gdf["block_code"].tolist()
    assert hh["head_female"].dtype == bool and hh["head_female"].tolist() == gdf["head_female"].tolist()
    assert pd.api.types.is_integer_dtype(hh["household_size"])
    assert hh["household_size"].tolist() == gdf["household_size"].tolist()
    np.testing.assert_array_equal(hh["people_per_room"].to_numpy(), gdf["people_per_room"].to_numpy())
    assert hh["children_under5"].isna().tolist() == gdf["children_under5"].isna().tolist()
    assert hh["children_under5"].dropna().astype(int).tolist() == gdf["children_under5"].dropna().astype(int).tolist()
    assert hh["mother_tongue"].isna().tolist() == gdf["mother_tongue"].isna().tolist()
    assert hh["district"].tolist() == [str(v) for v in gdf["district"]]

    # Every value of households.csv, typed.
    csv = pd.read_csv(out / "households.csv", dtype={"household_id": str, "block_code": str})
    assert len(hh) == len(csv)
    np.testing.assert_allclose(hh["need"].to_numpy(), csv["need"].to_numpy(), atol=5e-7)
    assert hh["critical"].tolist() == csv["critical"].tolist()
    pd.testing.assert_series_equal(hh["cluster"].astype("Int64"), csv["cluster"].astype("Int64"), check_names=False)
    pd.testing.assert_series_equal(hh["zone"].astype("Int64"), csv["zone"].astype("Int64"), check_names=False)

    zones = gpd.read_parquet(out / "zones.parquet")
    zcsv = pd.read_csv(out / "zones.csv")
    assert zones.crs.equals("OGC:CRS84")
    assert len(zones) == len(zcsv) > 0
    assert (zones.geometry.geom_type == "Polygon").all() and zones.geometry.is_valid.all()
    assert zones["rank"].tolist() == zcsv["rank"].tolist()
    np.testing.assert_allclose(zones["mean_need"], zcsv["mean_need"], atol=5e-7)
    # Each zone's centre lies in (or on) its polygon.
    centres = gpd.points_from_xy(zones["centre_lon"], zones["centre_lat"])
    assert all(p.buffer(1e-9).intersects(c) for p, c in zip(zones.geometry, centres))
