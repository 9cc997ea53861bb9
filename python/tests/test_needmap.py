"""needmap from Python against the needmap CLI: same labels, same figures, same messages."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import needmap
from conftest import REPO, SAMPLE, run_cli


def coords_of(csv: Path, rows: np.ndarray, lat: str, lon: str) -> tuple:
    """The coordinates of the records `rows` (1-based, as the CLI numbers them), parsed
    exactly (round-trip float parsing, as Rust's)."""
    df = pd.read_csv(csv, usecols=[lat, lon], dtype=str, keep_default_na=False)
    sub = df.iloc[rows - 1]
    la = sub[lat].str.replace(",", ".").astype(np.float64).to_numpy()
    lo = sub[lon].str.replace(",", ".").astype(np.float64).to_numpy()
    return la, lo


def cli_labels(cli: Path, csv: Path, out: Path, *flags: str) -> pd.DataFrame:
    r = run_cli(cli, "cluster", str(csv), "--out", str(out), "--force", *flags)
    assert r.returncode == 0, r.stderr
    return pd.read_csv(out, dtype={"id": str})


CASES = [
    ("dbscan eps 150 min 10", ["--eps-m", "150", "--min-points", "10"], dict(eps_m=150, min_points=10)),
    ("dbscan suggested", [], {}),
    ("kmeans k 12 seed 7", ["--method", "kmeans", "--k", "12", "--seed", "7"], dict(method="kmeans", k=12, seed=7)),
    ("hdbscan 25", ["--method", "hdbscan", "--min-cluster-size", "25"], dict(method="hdbscan", min_cluster_size=25)),
]


@pytest.mark.parametrize("name,flags,kwargs", CASES, ids=[c[0] for c in CASES])
def test_cluster_labels_identical_to_cli_on_sample(cli, tmp_path, name, flags, kwargs):
    ref = cli_labels(cli, SAMPLE, tmp_path / "labels.csv", *flags)
    lat, lon = coords_of(SAMPLE, ref["row"].to_numpy(), "latitude", "longitude")
    labels = needmap.cluster(lat, lon, progress=False, **kwargs)
    assert labels.dtype == np.int64
    assert len(labels) == len(ref) == 20_223
    assert labels.max() >= 1, "more than one cluster, or the comparison proves little"
    np.testing.assert_array_equal(labels, ref["label"].to_numpy())


@pytest.mark.parametrize(
    "flags,kwargs",
    [
        (["--eps-m", "150", "--min-points", "10"], dict(eps_m=150.0, min_points=10)),
        (["--method", "kmeans", "--k", "20"], dict(method="kmeans", k=20)),
    ],
    ids=["dbscan", "kmeans"],
)
def test_cluster_labels_identical_to_cli_on_100k_city(cli, city100k, tmp_path, flags, kwargs):
    ref = cli_labels(cli, city100k, tmp_path / "labels.csv", *flags)
    lat, lon = coords_of(city100k, ref["row"].to_numpy(), "lat", "lon")
    labels = needmap.cluster(lat, lon, progress=False, **kwargs)
    assert len(labels) == 100_000
    np.testing.assert_array_equal(labels, ref["label"].to_numpy())
    if kwargs.get("eps_m") == 150.0:
        # And the independent reference: scikit-learn's labels on UTM metres, by ARI.
        sk = pd.read_csv(Path(REPO.parent / "shared/bench/ref_labels_100k.csv"))
        assert ((labels < 0) == (sk["label"].to_numpy() < 0)).mean() > 0.999


def test_cluster_results_do_not_depend_on_threads_or_input_kind():
    df = pd.read_csv(SAMPLE)
    for c in ["latitude", "longitude"]:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    df = df[df.latitude.between(-90, 90) & df.longitude.between(-180, 180)]
    a = needmap.cluster(df["latitude"], df["longitude"], eps_m=200, min_points=8, progress=False)
    b = needmap.cluster(
        list(df["latitude"]), list(df["longitude"]), eps_m=200, min_points=8, threads=1, progress=False
    )
    np.testing.assert_array_equal(a, b)


def test_bad_coordinates_name_the_index():
    with pytest.raises(needmap.NeedmapError, match=r"lat\[2\] is NaN"):
        needmap.cluster([-12.0, -12.1, float("nan")], [-77.0, -77.0, -77.0], progress=False)
    with pytest.raises(needmap.NeedmapError, match=r"lon\[0\] is 200"):
        needmap.cluster([-12.0], [200.0], progress=False)
    with pytest.raises(needmap.NeedmapError, match="3 values and lon 2"):
        needmap.cluster([1.0, 2.0, 3.0], [1.0, 2.0], progress=False)
    with pytest.raises(ValueError, match='method "optics"'):
        needmap.cluster([1.0], [1.0], method="optics", progress=False)


def test_run_figures_identical_to_cli(cli, tmp_path):
    out = tmp_path / "run"
    r = run_cli(cli, "run", str(SAMPLE), "--out", str(out), "--top-percent", "25", "--eps-m", "180")
    assert r.returncode == 0, r.stderr
    res = needmap.run(str(SAMPLE), top_percent=25, eps_m=180, progress=False)

    zones_csv = pd.read_csv(out / "zones.csv")
    assert len(zones_csv) > 5
    mine = pd.DataFrame(res.zones.drop(columns="geometry"))[list(zones_csv.columns)]
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), zones_csv, check_dtype=False)

    hh = pd.read_csv(out / "households.csv", dtype={"household_id": str})
    assert list(res.households.columns) == list(hh.columns)
    assert (res.households["household_id"].to_numpy() == hh["household_id"].to_numpy()).all()
    np.testing.assert_allclose(res.households["need"].to_numpy(), hh["need"].to_numpy(), atol=5e-7)
    assert (res.households["critical"].to_numpy() == hh["critical"].to_numpy()).all()
    for col in ["cluster", "zone"]:
        pd.testing.assert_series_equal(
            res.households[col].reset_index(drop=True), hh[col].astype("Int64"), check_names=False
        )
    # Numeric input columns are numbers (NaN where the text is not one).
    income = pd.to_numeric(hh["monthly_income_pen"], errors="coerce").to_numpy()
    np.testing.assert_array_equal(res.households["monthly_income_pen"].to_numpy(), income)

    report = json.loads((out / "report.json").read_text())
    for r_ in (report, res.report):
        r_.pop("timings_ms")
    # The command line that wrote the files: Python has none.
    report.pop("command", None)
    assert res.report == report
    assert res.analysis.to_toml() == (out / "analysis.toml").read_text()

    # The resolved analysis, given back, reproduces the run.
    again = needmap.run(SAMPLE, analysis=res.analysis, progress=False)
    pd.testing.assert_frame_equal(pd.DataFrame(again.zones), pd.DataFrame(res.zones))


def test_run_on_a_dataframe_equals_run_on_the_file():
    by_path = needmap.run(SAMPLE, progress=False)
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    by_frame = needmap.run(df, progress=False)
    pd.testing.assert_frame_equal(pd.DataFrame(by_frame.zones), pd.DataFrame(by_path.zones))
    for col in ["need", "critical", "cluster", "zone"]:
        pd.testing.assert_series_equal(by_frame.households[col], by_path.households[col])
    # The DataFrame's own columns and dtypes are kept.
    assert by_frame.households["household_id"].iloc[0] == "H000001"
    assert by_frame.report["import"]["path"] == "<DataFrame>"


def test_read_is_the_inspect_report(cli):
    r = run_cli(cli, "inspect", "--json", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    assert needmap.read(str(SAMPLE), progress=False) == json.loads(r.stdout)


def bad_inputs(tmp_path: Path) -> list:
    no_coords = tmp_path / "no_coords.csv"
    no_coords.write_text("id,income\n1,300\n2,400\n")
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("[cluster]\nmethod = \"dbscan\"\neps_m = \"wide\"\n")
    # Valid, but names a column the survey lacks: the run fails, naming both files.
    no_column = tmp_path / "no_column.toml"
    no_column.write_text("[[need.indicators]]\ncolumn = \"nope\"\ndirection = \"higher_is_worse\"\n")
    return [
        (["run", str(no_coords)], lambda: needmap.run(no_coords, progress=False)),
        (["run", str(SAMPLE), "--analysis", str(bad_toml)], lambda: needmap.run(SAMPLE, bad_toml, progress=False)),
        (["run", str(SAMPLE), "--analysis", str(no_column)], lambda: needmap.run(SAMPLE, no_column, progress=False)),
        (["run", str(tmp_path / "missing.csv")], lambda: needmap.run(tmp_path / "missing.csv", progress=False)),
        (["run", str(SAMPLE), "--indicator", "nope:sideways"],
         lambda: needmap.run(SAMPLE, indicators=["nope:sideways"], progress=False)),
        (["inspect", str(no_coords)], lambda: needmap.read(no_coords, progress=False)),
    ]


def test_bad_input_raises_the_cli_message(cli, tmp_path):
    for i, (args, call) in enumerate(bad_inputs(tmp_path)):
        if args[0] == "run":
            args = args + ["--out", str(tmp_path / f"out{i}")]
        r = run_cli(cli, *args)
        assert r.returncode == 1, (args, r.stderr)
        cli_message = r.stderr.strip().splitlines()[-1].removeprefix("needmap: ")
        with pytest.raises(needmap.NeedmapError) as e:
            call()
        assert str(e.value) == cli_message
        assert isinstance(e.value, ValueError)
        if "no_column.toml" in args:
            assert cli_message.startswith(f"{args[3]}, applied to {args[1]}: "), cli_message


def test_bad_toml_names_file_and_line(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[cluster]\nmethod = \"dbscan\"\neps_m = \"wide\"\n")
    with pytest.raises(needmap.NeedmapError, match=rf"{bad}:3:9: "):
        needmap.run(SAMPLE, bad, progress=False)


def test_progress_callback_sees_the_stages():
    seen = []
    needmap.run(SAMPLE, progress=lambda stage, done, total: seen.append(stage))
    # Called when the snapshot changes, at most every 100 ms: the import (20k rows) and the
    # clustering may finish between two polls, but the last snapshot is always reported.
    assert seen, "the callback is called at least once"
    assert all(isinstance(s, str) for s in seen)


def test_keyboard_interrupt_cancels_long_work():
    rng = np.random.default_rng(3)
    n = 400_000
    lat = -12.0 + rng.normal(0, 0.05, n)
    lon = -77.0 + rng.normal(0, 0.05, n)
    timer = threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        # HDBSCAN on 400k points takes far longer than half a second.
        needmap.cluster(lat, lon, method="hdbscan", min_cluster_size=50, progress=False)
    elapsed = time.perf_counter() - t0
    timer.cancel()
    assert elapsed < 10, f"cancelled after {elapsed:.1f} s"


def test_gil_is_released_while_clustering():
    rng = np.random.default_rng(5)
    n = 300_000
    lat = -12.0 + rng.normal(0, 0.05, n)
    lon = -77.0 + rng.normal(0, 0.05, n)
    ticks = 0
    done = threading.Event()

    def work():
        needmap.cluster(lat, lon, eps_m=100, min_points=10, progress=False)
        done.set()

    t = threading.Thread(target=work)
    t.start()
    while not done.is_set():
        ticks += 1
        time.sleep(0.001)
    t.join()
    assert ticks > 10, "Python threads ran while the core worked"


def test_analysis_roundtrip(tmp_path):
    res = needmap.run(SAMPLE, method="kmeans", k=8, progress=False)
    assert res.analysis["cluster"]["method"] == "kmeans"
    p = tmp_path / "a.toml"
    res.analysis.save(p)
    again = needmap.run(SAMPLE, analysis=p, progress=False)
    assert again.analysis.to_toml() == res.analysis.to_toml()
    assert int(again.households["cluster"].max()) == 7


def test_example_script_runs(tmp_path):
    script = REPO / "python" / "examples" / "quickstart.py"
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "zones" in r.stdout
