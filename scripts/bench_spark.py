#!/usr/bin/env python3
"""needmap.spark.dbscan in Spark local mode vs one-machine needmap.cluster on the same points.

    python3 scripts/bench_spark.py households.csv [more.csv ...] [--eps 150] [--min-points 10]
        [--master local[2]] [--partitions 64] [--check]

Reads lat/lon from the CSV (../shared/bench/gen_households.py), writes them once to Parquet
(what Spark reads), then times: needmap.cluster (all cores), and needmap.spark.dbscan with a
stage breakdown (`timings`), ending with the result materialised. One JSON line per run.
--check also verifies the Spark labels are DBSCAN-equivalent (same noise, clusters 1:1 on
core points computed by needmap itself).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv", nargs="+", help="one or more CSVs, concatenated (10M = two 5M parts)")
    ap.add_argument("--eps", type=float, default=150.0)
    ap.add_argument("--min-points", type=int, default=10)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=None)
    ap.add_argument("--driver-memory", default="8g")
    ap.add_argument("--check", action="store_true")
    a = ap.parse_args()

    import needmap
    import needmap.spark as nms
    from needmap import _core
    from pyspark.sql import SparkSession

    pdf = pd.concat([pd.read_csv(c, usecols=["lat", "lon"]) for c in a.csv], ignore_index=True)
    lat = pdf["lat"].to_numpy(np.float64)
    lon = pdf["lon"].to_numpy(np.float64)
    t = time.perf_counter()
    ref = needmap.cluster(lat, lon, eps_m=a.eps, min_points=a.min_points, progress=False)
    one_machine = time.perf_counter() - t

    spark = (
        SparkSession.builder.master(a.master)
        .config("spark.driver.memory", a.driver_memory)
        .config("spark.sql.shuffle.partitions", str(max(8, (a.partitions or 8))))
        .config("spark.ui.enabled", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "points.parquet")
        pdf.assign(id=np.arange(len(pdf))).to_parquet(path)
        df = spark.read.parquet(path)
        timings: dict = {}
        t = time.perf_counter()
        out = nms.dbscan(df, eps_m=a.eps, min_points=a.min_points, partitions=a.partitions, timings=timings)
        spark_total = time.perf_counter() - t
        got = out.select("id", "cluster").toPandas().sort_values("id")["cluster"].to_numpy()
    res = {
        "n": len(lat),
        "master": a.master,
        "partitions": a.partitions,
        "one_machine_s": round(one_machine, 2),
        "spark_s": round(spark_total, 2),
        "slowdown": round(spark_total / one_machine, 1),
        "clusters": int(got.max() + 1) if len(got) else 0,
        "noise": int((got < 0).sum()),
        "timings": {k: (round(v, 2) if isinstance(v, float) else v) for k, v in timings.items()},
        "halo_copies_per_point": round(timings.get("copies", 0) / max(1, len(lat)), 3),
        "spark_points_per_core_s": round(len(lat) / spark_total / int(a.master.strip("local[]") or 1), 0)
        if a.master.startswith("local[") and a.master != "local[*]"
        else None,
    }
    if a.check:
        _, core = _core.dbscan_core(lat, lon, a.eps, a.min_points)
        assert ((ref < 0) == (got < 0)).all(), "noise differs"
        pairs = set(zip(ref[core].tolist(), got[core].tolist()))
        assert len({x for x, _ in pairs}) == len(pairs) == len({y for _, y in pairs}), "clusters differ"
        res["check"] = "equivalent"
    print(json.dumps(res))
    spark.stop()


if __name__ == "__main__":
    main()
