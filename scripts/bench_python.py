#!/usr/bin/env python3
"""needmap.cluster against scikit-learn's DBSCAN(...).fit in the same Python session.

Usage: bench_python.py CSV [--repeats 3] [--eps 150] [--min-pts 10]

CSV: e.g. `../shared/bench/gen_households.py 1000000 --layout tiled --seed 42 --out tiled1m.csv`.
Both get the arrays already in memory: needmap the lat/lon degrees (great-circle metres
inside), scikit-learn the same points in UTM 18S metres (pyproj), as ../shared/bench's
`run_py_peer.py sk_dbscan_utm` (euclidean, algorithm auto = kd-tree, n_jobs=-1). Times
cover the clustering call only; medians of --repeats runs, alternating. Prints one JSON line.
Needs: pip install ./python scikit-learn pyproj pandas.
"""
import argparse
import json
import os
import statistics
import time

import numpy as np
import pandas as pd


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--eps", type=float, default=150.0)
    ap.add_argument("--min-pts", type=int, default=10)
    a = ap.parse_args()

    import needmap
    import sklearn
    from pyproj import Transformer
    from sklearn.cluster import DBSCAN

    df = pd.read_csv(a.csv, usecols=["lat", "lon"], dtype=str).astype(np.float64)  # exact parse
    lat = np.ascontiguousarray(df["lat"].to_numpy(np.float64))
    lon = np.ascontiguousarray(df["lon"].to_numpy(np.float64))
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32718", always_xy=True).transform(lon, lat)
    X = np.column_stack([x, y])

    nm_times, sk_times = [], []
    nm_labels = sk_labels = None
    for _ in range(a.repeats):
        t0 = time.perf_counter()
        nm_labels = needmap.cluster(lat, lon, eps_m=a.eps, min_points=a.min_pts, progress=False)
        nm_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        sk_labels = DBSCAN(eps=a.eps, min_samples=a.min_pts, n_jobs=-1).fit(X).labels_
        sk_times.append(time.perf_counter() - t0)

    def summary(labels):
        return int(len(np.unique(labels[labels >= 0]))), int((labels < 0).sum())

    nm_med, sk_med = statistics.median(nm_times), statistics.median(sk_times)
    rec = dict(
        n=len(lat),
        eps_m=a.eps,
        min_pts=a.min_pts,
        needmap_seconds=[round(t, 3) for t in nm_times],
        sklearn_seconds=[round(t, 3) for t in sk_times],
        needmap_median=round(nm_med, 3),
        sklearn_median=round(sk_med, 3),
        speedup=round(sk_med / nm_med, 1),
        needmap_clusters_noise=summary(nm_labels),
        sklearn_clusters_noise=summary(sk_labels),
        noise_agreement=round(float(((nm_labels < 0) == (sk_labels < 0)).mean()), 6),
        needmap=needmap.__version__,
        sklearn=sklearn.__version__,
        cpus=os.cpu_count(),
    )
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
