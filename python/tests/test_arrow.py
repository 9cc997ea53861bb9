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
