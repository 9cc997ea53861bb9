# %% [markdown]
# # needmap in a notebook
# From a household survey to ranked critical-need zones, with the same core as the
# `needmap` command line. Run it as a script or cell by cell (`# %%` cells: VS Code,
# Jupytext, Spyder). tests/test_needmap.py runs it.

# %%
from pathlib import Path

import numpy as np
import pandas as pd

import needmap

survey = Path(__file__).resolve().parents[2] / "sample_data" / "lima_households.csv"

# %% [markdown]
# ## What needmap sees in the file (nothing is computed yet)

# %%
report = needmap.read(survey)
print(f"{report['accepted']} households accepted, {report['rejected']} rejected; coordinates: {report['coordinates']}")
for r in report["rejects"][:3]:
    print("  rejected: line", r.get("line"), "-", r["message"])

# %% [markdown]
# ## Clustering arrays you already have
# DBSCAN with a 150 m radius on great-circle distances: no projection needed.

# %%
df = pd.read_csv(survey, dtype={"household_id": str})
# The survey has a few unreadable coordinates on purpose: needmap.read reported them.
for c in ["latitude", "longitude"]:
    df[c] = pd.to_numeric(df[c], errors="coerce")
ok = df["latitude"].between(-90, 90) & df["longitude"].between(-180, 180)
df = df[ok]
df["cluster"] = needmap.cluster(df["latitude"], df["longitude"], eps_m=150, min_points=10)
print(f"{df['cluster'].max() + 1} clusters, {(df['cluster'] < 0).mean():.0%} noise")

# %% [markdown]
# ## The whole pipeline: need score, critical households, ranked zones

# %%
result = needmap.run(df.drop(columns="cluster"), top_percent=25)
print(result)
print(result.zones[["rank", "households", "critical_households", "mean_need", "area_m2"]].head(5).to_string(index=False))

# %%
critical = result.households[result.households["critical"]]
print(critical.groupby("district")["need"].mean().sort_values(ascending=False).head(5).round(3).to_string())

# %% [markdown]
# The settings, every automatic choice written out: save them and `needmap run --analysis`
# (or `needmap.run(..., analysis=path)`) gives the same zones.

# %%
print(result.analysis.to_toml().splitlines()[0])
print(f"eps {result.analysis['cluster']['eps_m']} m, min points {result.analysis['cluster']['min_points']}")
assert np.isfinite(result.households["need"]).any()

# %% [markdown]
# ## Where to build: 5 sites, each serving the households within 800 m
# The same choice as `needmap sites --sites 5 --radius-m 800`, weighted by need; the report
# gives the share covered and a proven upper bound (no 5 sites can cover more).

# %%
sites = needmap.sites(df.drop(columns="cluster"), sites=5, radius_m=800)
print(sites)
print(sites.sites[["site", "lat", "lon", "covered_households", "cumulative_share"]].to_string(index=False))
print(f"proven bound: {sites.report['sites']['upper_bound_share']:.1%} of the need")
