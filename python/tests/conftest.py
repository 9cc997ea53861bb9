"""Shared fixtures: the CLI binary to compare with, the sample survey, a generated city."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "sample_data" / "lima_households.csv"
BENCH = REPO.parent / "shared" / "bench"


@pytest.fixture(scope="session")
def cli() -> Path:
    """The `needmap` binary the Python results are checked against (NEEDMAP_BIN; CI sets it)."""
    env = os.environ.get("NEEDMAP_BIN")
    if not env:
        pytest.skip("NEEDMAP_BIN is not set: build the CLI (cargo build --no-default-features) and point it there")
    path = Path(env)
    if not path.is_file():
        pytest.skip(f"NEEDMAP_BIN={env} is not a file: build the CLI first (cargo build --no-default-features)")
    return path


@pytest.fixture(scope="session")
def city100k(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`gen_households.py 100000 --seed 42`: the 100k city of ../shared/bench."""
    gen = BENCH / "gen_households.py"
    if not gen.is_file():
        pytest.skip(f"{gen} is missing (the shared benchmark folder next to the repository)")
    out = tmp_path_factory.mktemp("city") / "city100k.csv"
    subprocess.run([sys.executable, str(gen), "100000", "--seed", "42", "--out", str(out)], check=True)
    return out


def run_cli(cli: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(cli), *args], capture_output=True, text=True)
