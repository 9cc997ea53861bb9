"""needmap.sites, needmap.hotspots and needmap.audit against `needmap sites|hotspots|audit`:
the same rows and columns as the CLI's files, the same messages."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import needmap
from conftest import SAMPLE, run_cli


def cli_table(path: Path, text_columns: tuple) -> pd.DataFrame:
    """A CLI file read as the user would: text columns as text, empty cells NaN elsewhere."""
    header = path.read_text().splitlines()[0].split(",")
    return pd.read_csv(
        path,
        dtype={c: str for c in text_columns},
        keep_default_na=False,
        na_values={c: [""] for c in header if c not in text_columns},
    )


def same(mine: pd.DataFrame, cli: pd.DataFrame) -> None:
    """Every row and column equal: numbers exactly as printed (both parse the same text)."""
    assert list(mine.columns) == list(cli.columns)
    assert len(mine) == len(cli)
    pd.testing.assert_frame_equal(mine.reset_index(drop=True), cli, check_exact=True)


SITES_CASES = [
    ("grid need", ["--sites", "6", "--radius-m", "800"], dict(sites=6, radius_m=800)),
    (
        "zones critical",
        ["--sites", "4", "--radius-m", "600", "--candidates-from", "zones", "--weight", "critical", "--eps-m", "180"],
        dict(sites=4, radius_m=600, candidates_from="zones", weight="critical", eps_m=180),
    ),
    (
        "households people",
        ["--sites", "5", "--radius-m", "500", "--candidates-from", "households", "--weight", "household_size"],
        dict(sites=5, radius_m=500, candidates_from="households", weight="household_size"),
    ),
]


@pytest.mark.parametrize("name,flags,kwargs", SITES_CASES, ids=[c[0] for c in SITES_CASES])
def test_sites_identical_to_cli(cli, tmp_path, name, flags, kwargs):
    out = tmp_path / "sites.csv"
    r = run_cli(cli, "sites", str(SAMPLE), "--out", str(out), *flags)
    assert r.returncode == 0, r.stderr
    res = needmap.sites(SAMPLE, progress=False, **kwargs)
    ref = cli_table(out, needmap.SITES_TEXT)
    assert len(ref) >= 2, "several sites, or the comparison proves little"
    same(res.sites, ref)
    s = res.report["sites"]
    # The figures the CLI prints: "N sites cover X % of W (covered of total, H households)".
    printed = r.stdout.split(" sites cover ")[1]
    assert printed.startswith(f"{100 * s['covered_share']:.1f} % of {res.settings['weight']}")
    assert f"{s['covered_households']} households)" in printed
    assert res.report["import"]["accepted"] == 20_223
    assert res.sites["cumulative_share"].is_monotonic_increasing


def test_sites_from_analysis_and_dataframe(tmp_path):
    res = needmap.sites(SAMPLE, sites=5, radius_m=700, progress=False)
    # The resolved settings, given back as an analysis, choose the same sites.
    again = needmap.sites(SAMPLE, {"sites": res.settings}, progress=False)
    same(again.sites, res.sites)
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    by_frame = needmap.sites(df, sites=5, radius_m=700, progress=False)
    same(by_frame.sites, res.sites)
    assert by_frame.report["import"]["path"] == "<DataFrame>"


def test_hotspots_identical_to_cli(cli, tmp_path):
    for flags, kwargs in [
        ([], {}),
        (["--value", "monthly_income_pen", "--band-m", "900", "--fdr", "0.1"],
         dict(value="monthly_income_pen", band_m=900, fdr=0.1)),
    ]:
        out = tmp_path / "hot.csv"
        r = run_cli(cli, "hotspots", str(SAMPLE), "--out", str(out), "--force", *flags)
        assert r.returncode == 0, r.stderr
        res = needmap.hotspots(SAMPLE, progress=False, **kwargs)
        ref = cli_table(out, needmap.HOTSPOTS_TEXT)
        assert len(ref) == 20_223
        assert (ref["hot"] == 1).sum() > 0 and ref["z"].notna().sum() > 0
        same(res.hotspots, ref)
        assert res.report["hotspots"]["counts"]["hot"] == int((ref["hot"] == 1).sum())
        assert res.report["hotspots"]["counts"]["cold"] == int((ref["hot"] == -1).sum())
        # The summary line the CLI prints names the band used.
        assert f"band {res.report['hotspots']['band_m']:.0f} m" in r.stderr or str(kwargs.get("band_m", "")) in r.stderr


def test_hotspots_on_a_dataframe_equals_the_file():
    df = pd.read_csv(SAMPLE, dtype={"household_id": str})
    a = needmap.hotspots(df, band_m=700, progress=False)
    b = needmap.hotspots(SAMPLE, band_m=700, progress=False)
    same(a.hotspots, b.hotspots)
    assert a.report["import"]["path"] == "<DataFrame>"


def test_audit_identical_to_cli(cli, tmp_path):
    out = tmp_path / "audit"
    flags = ["--group", "mother_tongue", "--group", "head_female", "--draws", "40", "--seed", "3", "--top-k", "5"]
    r = run_cli(cli, "audit", str(SAMPLE), "--out", str(out), *flags)
    assert r.returncode == 0, r.stderr
    res = needmap.audit(SAMPLE, group=["mother_tongue", "head_female"], draws=40, seed=3, top_k=5, progress=False)
    zs = cli_table(out / "zones_stability.csv", ())
    groups = cli_table(out / "groups.csv", needmap.GROUPS_TEXT)
    assert len(zs) > 5 and len(groups) >= 4
    same(res.zones_stability, zs)
    same(res.groups, groups)
    assert res.report == json.loads((out / "audit.json").read_text())
    for f in res.flags:
        assert f"needmap: audit: {f}" in r.stderr


def bad_settings(tmp_path: Path) -> list:
    o = str(tmp_path / "o.csv")
    return [
        (["sites", str(SAMPLE), "--out", o, "--radius-m", "500"], lambda: needmap.sites(SAMPLE, radius_m=500)),
        (["sites", str(SAMPLE), "--out", o, "--sites", "0", "--radius-m", "500"],
         lambda: needmap.sites(SAMPLE, sites=0, radius_m=500)),
        (["sites", str(SAMPLE), "--out", o, "--sites", "3", "--radius-m", "-5"],
         lambda: needmap.sites(SAMPLE, sites=3, radius_m=-5)),
        (["sites", str(SAMPLE), "--out", o, "--sites", "3", "--radius-m", "500", "--weight", "nope"],
         lambda: needmap.sites(SAMPLE, sites=3, radius_m=500, weight="nope")),
        (["hotspots", str(SAMPLE), "--out", o, "--fdr", "1.5"], lambda: needmap.hotspots(SAMPLE, fdr=1.5)),
        (["hotspots", str(SAMPLE), "--out", o, "--band-m", "0"], lambda: needmap.hotspots(SAMPLE, band_m=0)),
        (["hotspots", str(SAMPLE), "--out", o, "--value", "district"],
         lambda: needmap.hotspots(SAMPLE, value="district")),
        (["audit", str(SAMPLE), "--out", str(tmp_path / "a"), "--draws", "0"], lambda: needmap.audit(SAMPLE, draws=0)),
        (["audit", str(SAMPLE), "--out", str(tmp_path / "a"), "--group", "nope"],
         lambda: needmap.audit(SAMPLE, group="nope", draws=5)),
    ]


def test_bad_settings_raise_the_cli_message(cli, tmp_path):
    for args, call in bad_settings(tmp_path):
        r = run_cli(cli, *args)
        assert r.returncode == 1, (args, r.stderr)
        cli_message = r.stderr.strip().splitlines()[-1].removeprefix("needmap: ")
        with pytest.raises(needmap.NeedmapError) as e:
            call()
        assert str(e.value) == cli_message, args
