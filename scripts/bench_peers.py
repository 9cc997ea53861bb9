#!/usr/bin/env python3
"""Times needmap against the scikit-learn peers on the same files, in one session.

Usage:
  python3 scripts/bench_peers.py [--needmap target/release/needmap] [--runs 3]
                                 [--data /tmp/needmap_bench] [--with-10m]
  python3 scripts/bench_peers.py --sites [--sites-sizes 20000,50000,100000] [--needmap ...]

--sites times only the build-sites case: needmap sites against spopt's MCLP (pip install
spopt pulp pyproj pandas; PuLP ships CBC) on the same households and candidates.
  python3 scripts/bench_peers.py --hotspots [--needmap ...] [--runs 3] [--data ...] [--band-m 120]

  python3 scripts/bench_peers.py --parquet [--with-10m] [--needmap ...] [--runs 3]

--parquet times reading households from GeoParquet against the same data as CSV (needmap
inspect and needmap run; geopandas.read_parquet and pandas.read_csv as peers).

--hotspots times only the hot-spot case: needmap's Gi* on 1M and 100k tiled households
against esda's `G_Local(star=True)` with a libpysal `DistanceBand` (binary, UTM 18S metres)
on the 100k file (pip install esda libpysal pandas pyproj), and compares their z-scores.

Builds nothing: build first with
  cargo build --release --no-default-features
Needs ../shared/bench (generator, peer runner, label comparison) and
  pip install numpy pandas scikit-learn pyproj

For every case it runs each command --runs times and reports the median wall time of the
whole process (needmap) or scikit-learn's own `seconds` (its clustering call alone, as the
peer runner measures it), the ratio, and the peak RSS of each process (from wait4, no
/usr/bin/time needed). Prints a markdown table for docs/BENCHMARKS.md.
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BENCH = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "bench"))


def run_rss(cmd):
    """Runs cmd with os.wait4 to read its own peak RSS; returns (seconds, rss MB, stdout, stderr)."""
    t0 = time.perf_counter()
    r_out, w_out = os.pipe()
    r_err, w_err = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.dup2(w_out, 1)
        os.dup2(w_err, 2)
        os.close(r_out)
        os.close(r_err)
        os.execvp(cmd[0], cmd)
    os.close(w_out)
    os.close(w_err)
    chunks_out, chunks_err = [], []
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(r_out, selectors.EVENT_READ, chunks_out)
    sel.register(r_err, selectors.EVENT_READ, chunks_err)
    open_fds = 2
    while open_fds:
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fd)
                os.close(key.fd)
                open_fds -= 1
            else:
                key.data.append(data)
    _, status, ru = os.wait4(pid, 0)
    secs = time.perf_counter() - t0
    out, err = b"".join(chunks_out).decode(), b"".join(chunks_err).decode()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{err}")
    return secs, ru.ru_maxrss / 1024.0, out, err


def gen(n, layout, path):
    """The generator makes at most 5M households: bigger files are 5M parts with different
    seeds (the tiled layout puts them in the same cities, twice as dense), ids renumbered."""
    if os.path.exists(path):
        return path
    print(f"generating {path} ...", file=sys.stderr)
    part = 5_000_000
    if n <= part:
        subprocess.run([sys.executable, os.path.join(BENCH, "gen_households.py"), str(n), "--layout", layout,
                        "--seed", "42", "--out", path], check=True)
        return path
    with open(path + ".tmp", "w") as out:
        done = 0
        for k in range((n + part - 1) // part):
            m = min(part, n - done)
            piece = f"{path}.part{k}"
            subprocess.run([sys.executable, os.path.join(BENCH, "gen_households.py"), str(m), "--layout", layout,
                            "--seed", str(42 + k), "--out", piece], check=True)
            with open(piece) as f:
                header = f.readline()
                if k == 0:
                    out.write(header)
                for line in f:
                    i, rest = line.split(",", 1)
                    out.write(f"{int(i) + done},{rest}")
            os.remove(piece)
            done += m
    os.rename(path + ".tmp", path)
    return path


def median_runs(cmd, runs):
    res = [run_rss(cmd) for _ in range(runs)]
    return statistics.median(r[0] for r in res), max(r[1] for r in res), res[-1]


def peer(csv, name, runs, labels_out=None):
    secs, rss, last = [], [], None
    for _ in range(runs):
        cmd = [sys.executable, os.path.join(BENCH, "run_py_peer.py"), csv, name]
        if labels_out:
            cmd += ["--labels-out", labels_out]
        _, wall_rss, out, _ = run_rss(cmd)
        last = json.loads(out.strip().splitlines()[-1])
        secs.append(last["seconds"])
        rss.append(wall_rss)
    return statistics.median(secs), max(rss), last


def utm_inertia(csv, labels_csv):
    """Inertia of a labelling in UTM 18S metres, as scikit-learn measures its own (the
    peer projects the same way), so the two are compared on the same ground."""
    import numpy as np
    import pandas as pd
    from pyproj import Transformer
    df = pd.read_csv(csv, usecols=["lat", "lon"])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32718", always_xy=True).transform(
        df["lon"].to_numpy(), df["lat"].to_numpy())
    lab = pd.read_csv(labels_csv)
    rows = lab["row"].to_numpy() - 1
    pts = np.c_[x[rows], y[rows]]
    labels = lab["label"].to_numpy()
    total = 0.0
    for c in np.unique(labels):
        m = pts[labels == c]
        total += float(((m - m.mean(axis=0)) ** 2).sum())
    return total


def spopt_peer(households, candidates, weight, radius_m, p):
    """One timed spopt MCLP run (PuLP + its bundled CBC, exact MIP), as a subprocess so its
    RSS is its own. `seconds` = building the UTM cost matrix + the model + solving."""
    import numpy as np
    import pandas as pd
    import pulp
    from pyproj import Transformer
    from spopt.locate import MCLP
    h = pd.read_csv(households)
    c = pd.read_csv(candidates)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:32718", always_xy=True)
    t0 = time.perf_counter()
    hx, hy = tr.transform(h["lon"].to_numpy(), h["lat"].to_numpy())
    cx, cy = tr.transform(c["lon"].to_numpy(), c["lat"].to_numpy())
    cost = np.hypot(hx[:, None] - cx[None, :], hy[:, None] - cy[None, :])
    m = MCLP.from_cost_matrix(cost, h[weight].to_numpy(dtype=float), service_radius=radius_m, p_facilities=p)
    m = m.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=600))
    secs = time.perf_counter() - t0
    print(json.dumps({"seconds": secs, "covered": pulp.value(m.problem.objective),
                      "status": pulp.LpStatus[m.problem.status]}))


def sites_bench(a, nm):
    """needmap sites against spopt's exact MCLP on the same households and candidates (every
    50th household's location; weights people_per_room; P 15; R 600 m), growing N until spopt
    passes 10 minutes; then needmap alone on 1M households x a 300 m grid, R 1 km, P 50."""
    out = lambda name: os.path.join(a.data, name)
    rows = []
    for n in a.sites_sizes:
        f = gen(n, "city", out(f"h{n // 1000}k_city.csv"))
        cands = out(f"cands_{n // 1000}k.csv")
        with open(f) as src, open(cands, "w") as dst:
            lines = src.read().splitlines()
            dst.write(lines[0] + "\n")
            dst.writelines(l + "\n" for l in lines[1::50])
        m_cands = len(lines[1::50])
        _, rss, o, _ = run_rss([sys.executable, os.path.abspath(__file__), "--spopt-peer", f, cands,
                                "people_per_room", "600", "15"])
        peer = json.loads(o.strip().splitlines()[-1])
        nm_s, nm_rss, last = median_runs([nm, "sites", f, "--sites", "15", "--radius-m", "600", "--candidates",
                                          cands, "--weight", "people_per_room", "--out", out("nm_sites.csv"),
                                          "--force"], a.runs)
        line = last[2].strip().splitlines()[-1]
        covered = float(line.split("(")[1].split(" of ")[0])
        gap = 100 * (1 - covered / peer["covered"]) if peer["status"] == "Optimal" else float("nan")
        rows.append((f"{n:,} city x {m_cands} candidates", f"{peer['seconds']:.1f} ({peer['status']})",
                     f"{rss:.0f}", f"{nm_s:.2f}", f"{nm_rss:.0f}", f"{peer['seconds'] / nm_s:.0f}x",
                     f"{peer['covered']:.3f}", f"{covered:.3f} ({gap:+.3f} % vs the optimum)", line.split("; ")[1]))
        print("| " + " | ".join(rows[-1]) + " |", file=sys.stderr, flush=True)
        if peer["seconds"] > 600:
            break
    big = gen(1_000_000, "city", out("h1m_city.csv"))
    nm_s, nm_rss, last = median_runs([nm, "sites", big, "--sites", "50", "--radius-m", "1000", "--grid-m", "300",
                                      "--weight", "people_per_room", "--out", out("nm_sites_1m.csv"), "--force"],
                                     a.runs)
    one = run_rss([nm, "sites", big, "--sites", "50", "--radius-m", "1000", "--grid-m", "300", "--weight",
                   "people_per_room", "--threads", "1", "--out", out("nm_sites_1m_1t.csv"), "--force"])
    same = open(out("nm_sites_1m.csv"), "rb").read() == open(out("nm_sites_1m_1t.csv"), "rb").read()
    rows.append(("1M city x 300 m grid, R 1 km, P 50", "(not run)", "", f"{nm_s:.2f}", f"{nm_rss:.0f}", "", "",
                 last[2].strip().splitlines()[-1].split(" → ")[0], f"1 thread == 2 threads: {same}"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; date {time.strftime('%Y-%m-%d')}; "
          f"needmap runs per figure: {a.runs} (median), spopt: 1 run")
    print("| case | spopt MCLP s | spopt peak MB | needmap s (whole process) | needmap peak MB | speed-up | spopt covered (optimum) | needmap covered | needmap bound |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def esda_peer(csv, band_m, value, z_out):
    """One timed esda run (in this process; called as a subprocess so its RSS is its own).
    `seconds` = building the DistanceBand weights + G_Local, the work a user's script does.
    permutations=0: the analytical (normal) z only, as needmap computes; esda's default
    999 conditional permutations would add their own cost."""
    import numpy as np
    import pandas as pd
    from pyproj import Transformer
    from libpysal.weights import DistanceBand
    from esda.getisord import G_Local
    df = pd.read_csv(csv, usecols=["id", "lat", "lon", value])
    x, y = Transformer.from_crs("EPSG:4326", "EPSG:32718", always_xy=True).transform(
        df["lon"].to_numpy(), df["lat"].to_numpy())
    t0 = time.perf_counter()
    w = DistanceBand(np.c_[x, y], threshold=band_m, binary=True, silence_warnings=True)
    t1 = time.perf_counter()
    g = G_Local(df[value].to_numpy(dtype=float), w, transform="B", star=True, permutations=0)
    t2 = time.perf_counter()
    pd.DataFrame({"id": df["id"], "z": g.Zs}).to_csv(z_out, index=False)
    print(json.dumps({"seconds": t2 - t0, "weights_s": t1 - t0, "g_local_s": t2 - t1, "n": len(df)}))


def compare_z(esda_csv, needmap_csv):
    """Agreement of two z-score files on the households both tested."""
    import numpy as np
    import pandas as pd
    a = pd.read_csv(esda_csv)
    b = pd.read_csv(needmap_csv, usecols=["id", "z", "bin"])
    m = a.merge(b, on="id", suffixes=("_esda", "_needmap")).dropna()
    za, zb = m["z_esda"].to_numpy(), m["z_needmap"].to_numpy()
    bins = lambda z: np.sign(z) * ((np.abs(z) >= 1.645).astype(int) + (np.abs(z) >= 1.960) + (np.abs(z) >= 2.576))
    return (f"{len(m):,} households tested by both: Pearson r of z {np.corrcoef(za, zb)[0, 1]:.6f}, "
            f"median |dz| {np.median(np.abs(za - zb)):.2e}, max |dz| {np.abs(za - zb).max():.3f}, "
            f"same confidence bin {100 * np.mean(bins(za) == m['bin'].to_numpy()):.2f} %")


def hotspots_bench(a, nm):
    out = lambda name: os.path.join(a.data, name)
    band = f"{a.band_m:g}"
    small = gen(100_000, "tiled", out("h100k_tiled.csv"))
    big = gen(1_000_000, "tiled", out("h1m_tiled.csv"))
    value = "people_per_room"
    rows = []
    runs = []
    for _ in range(a.runs):
        _, rss, o, _ = run_rss([sys.executable, os.path.abspath(__file__), "--esda-peer", small, band, value,
                                out("esda_z.csv")])
        runs.append((json.loads(o.strip().splitlines()[-1]), rss))
    es = statistics.median(r[0]["seconds"] for r in runs)
    es_w = statistics.median(r[0]["weights_s"] for r in runs)
    es_g = statistics.median(r[0]["g_local_s"] for r in runs)
    es_rss = max(r[1] for r in runs)
    for label, f in (("100k tiled", small), ("1M tiled", big)):
        name = "nm_hot_" + label.split()[0] + ".csv"
        s, rss, last = median_runs([nm, "hotspots", f, "--value", value, "--band-m", band, "--out", out(name),
                                    "--force"], a.runs)
        one = run_rss([nm, "hotspots", f, "--value", value, "--band-m", band, "--threads", "1",
                       "--out", out("1t_" + name), "--force"])
        same = open(out(name), "rb").read() == open(out("1t_" + name), "rb").read()
        summary = last[3].strip().splitlines()[-1].replace("needmap: ", "")
        peer_cells = (f"{es:.2f} (weights {es_w:.2f} + G_Local {es_g:.2f})", f"{es_rss:.0f}",
                      f"{es / s:.1f}x") if label == "100k tiled" else ("not run", "", "")
        rows.append((label, f"Gi* band {band} m, `{value}`", peer_cells[0], peer_cells[1], f"{s:.2f}",
                     f"{rss:.0f}", peer_cells[2], f"{summary}; 1 thread same bytes: {same}"))
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; date {time.strftime('%Y-%m-%d')}; "
          f"runs per figure: {a.runs} (median time, max RSS)")
    print("esda vs needmap z on 100k: " + compare_z(out("esda_z.csv"), out("nm_hot_100k.csv")))
    print()
    print("| N, layout | task | esda s (weights + call) | esda peak MB | needmap s (whole process) | needmap peak MB | speed-up | needmap result |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


def to_geoparquet(csv, path):
    """The same households as GeoParquet 1.1 (WKB points, zstd, typed columns), as geopandas
    would write them, through pyarrow in pieces so 10M rows fit in memory."""
    if os.path.exists(path):
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    print(f"writing {path} ...", file=sys.stderr)
    reader = pacsv.open_csv(csv, read_options=pacsv.ReadOptions(block_size=64 << 20))
    writer = None
    for batch in reader:
        lon = batch.column("lon").to_numpy(zero_copy_only=False).astype("<f8")
        lat = batch.column("lat").to_numpy(zero_copy_only=False).astype("<f8")
        rec = np.empty(len(lon), dtype=[("o", "u1"), ("t", "<u4"), ("x", "<f8"), ("y", "<f8")])
        rec["o"], rec["t"], rec["x"], rec["y"] = 1, 1, lon, lat
        wkb = pa.FixedSizeBinaryArray.from_buffers(pa.binary(21), len(lon), [None, pa.py_buffer(rec.tobytes())])
        table = pa.Table.from_batches([batch]).append_column("geometry", wkb.cast(pa.binary()))
        if writer is None:
            geo = {"version": "1.1.0", "primary_column": "geometry",
                   "columns": {"geometry": {"encoding": "WKB", "geometry_types": ["Point"]}}}
            schema = table.schema.with_metadata({"geo": json.dumps(geo)})
            writer = pq.ParquetWriter(path + ".tmp", schema, compression="zstd")
        writer.write_table(table.replace_schema_metadata(writer.schema.metadata), row_group_size=1 << 17)
    writer.close()
    os.rename(path + ".tmp", path)
    return path


def parquet_bench(a, nm):
    """Reading households from GeoParquet against the same data as CSV: `needmap inspect`
    (import and report only) and `needmap run` end to end, with geopandas.read_parquet and
    pandas.read_csv as the peers (their call alone)."""
    n = 10_000_000 if a.with_10m else 1_000_000
    csv = gen(n, "tiled", os.path.join(a.data, f"h{n // 1_000_000}m_tiled.csv"))
    pq_path = to_geoparquet(csv, os.path.join(a.data, f"h{n // 1_000_000}m_tiled.parquet"))
    label = f"{n // 1_000_000}M tiled"
    print(f"| {label} | task | CSV s | CSV peak MB | GeoParquet s | GeoParquet peak MB | ratio |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for task, args in [("`needmap inspect` (import + report)", ["inspect"]),
                       ("`needmap run` end to end", ["run"])]:
        res = {}
        for name, path in [("csv", csv), ("pq", pq_path)]:
            cmd = [nm, *args, path]
            if args[0] == "run":
                cmd += ["--out", os.path.join(a.data, f"run_{name}"), "--force"]
            res[name] = median_runs(cmd, a.runs)
        (cs, cr, _), (ps, pr, _) = res["csv"], res["pq"]
        print(f"| {label} | {task} | {cs:.2f} | {cr:.0f} | {ps:.2f} | {pr:.0f} | {cs / ps:.1f}x |", flush=True)
    peer = ("import sys, time, pandas, geopandas; t = time.perf_counter(); "
            "df = pandas.read_csv(sys.argv[1]) if sys.argv[1].endswith('.csv') else geopandas.read_parquet(sys.argv[1]); "
            "print(time.perf_counter() - t)")
    for name, path in [("pandas.read_csv", csv), ("geopandas.read_parquet", pq_path)]:
        secs = [float(run_rss([sys.executable, "-c", peer, path])[2].strip()) for _ in range(a.runs)]
        print(f"| {label} | peer: {name} (call only) | | | {statistics.median(secs):.2f} | | |", flush=True)


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--spopt-peer":
        households, candidates, weight, radius, p = sys.argv[2:7]
        return spopt_peer(households, candidates, weight, float(radius), int(p))
    if len(sys.argv) == 6 and sys.argv[1] == "--esda-peer":
        esda_peer(sys.argv[2], float(sys.argv[3]), sys.argv[4], sys.argv[5])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--needmap", default=os.path.join(HERE, "..", "target", "release", "needmap"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--data", default="/tmp/needmap_bench")
    ap.add_argument("--with-10m", action="store_true")
    ap.add_argument("--sites", action="store_true", help="only the build-sites case, against spopt")
    ap.add_argument("--sites-sizes", type=lambda v: [int(x) for x in v.split(",")],
                    default=[20_000, 50_000, 100_000])
    ap.add_argument("--hotspots", action="store_true", help="only the hot-spot case, against esda")
    ap.add_argument("--band-m", type=float, default=120.0, help="hot-spot band (120 m: ~100 neighbours)")
    ap.add_argument("--parquet", action="store_true",
                    help="only reading GeoParquet against CSV (1M, or 10M with --with-10m; needs pyarrow, geopandas)")
    a = ap.parse_args()
    os.makedirs(a.data, exist_ok=True)
    nm = os.path.abspath(a.needmap)
    if a.sites:
        return sites_bench(a, nm)
    os.makedirs(a.data, exist_ok=True)
    nm = os.path.abspath(a.needmap)
    if a.hotspots:
        hotspots_bench(a, nm)
        return
    if a.parquet:
        parquet_bench(a, nm)
        return
    tiled = gen(1_000_000, "tiled", os.path.join(a.data, "h1m_tiled.csv"))
    city = gen(1_000_000, "city", os.path.join(a.data, "h1m_city.csv"))
    out = lambda name: os.path.join(a.data, name)
    rows = []

    class Rows(list):
        """Prints each row to stderr as it comes, so a late failure loses nothing."""

        def append(self, r):
            print("| " + " | ".join(r) + " |", file=sys.stderr, flush=True)
            super().append(r)

    rows = Rows()

    # DBSCAN
    sk_s, sk_rss, sk = peer(tiled, "sk_dbscan_utm", a.runs, out("sk_dbscan.csv"))
    nm_s, nm_rss, last = median_runs([nm, "cluster", tiled, "--eps-m", "150", "--min-points", "10",
                                      "--out", out("nm_dbscan.csv"), "--force"], a.runs)
    one = run_rss([nm, "cluster", tiled, "--eps-m", "150", "--min-points", "10", "--threads", "1",
                   "--out", out("nm_dbscan_1t.csv"), "--force"])
    same = open(out("nm_dbscan.csv"), "rb").read() == open(out("nm_dbscan_1t.csv"), "rb").read()
    ari = subprocess.run([sys.executable, os.path.join(BENCH, "compare_labels.py"), out("sk_dbscan.csv"),
                          out("nm_dbscan.csv")], capture_output=True, text=True).stdout.strip().replace("\n", "; ")
    rows.append(("1M tiled", "DBSCAN eps 150 m, min 10", f"{sk_s:.2f}", f"{sk_rss:.0f}", f"{nm_s:.2f}",
                  f"{nm_rss:.0f}", f"{sk_s / nm_s:.1f}x", f"{sk['n_clusters']} / {sk['n_noise']:,}",
                  last[3].strip().splitlines()[-1].replace("needmap: ", "")))

    # k-means
    sk_s, sk_rss, sk = peer(tiled, "sk_kmeans_n1", a.runs)
    nm_s, nm_rss, last = median_runs([nm, "cluster", tiled, "--method", "kmeans", "--k", "20", "--seed", "1",
                                      "--out", out("nm_kmeans.csv"), "--force"], a.runs)
    nm_utm = utm_inertia(tiled, out("nm_kmeans.csv"))
    inertia_line = (f"k-means inertia in UTM 18S m²: scikit-learn {sk['inertia']:.4e}, needmap {nm_utm:.4e} "
                    f"({100 * (nm_utm / sk['inertia'] - 1):+.2f} %)")
    rows.append(("1M tiled", "k-means k 20 (scikit-learn: one k-means++ run; needmap: defaults)", f"{sk_s:.2f}",
                  f"{sk_rss:.0f}", f"{nm_s:.2f}", f"{nm_rss:.0f}", f"{sk_s / nm_s:.1f}x",
                  f"inertia {sk['inertia']:.4e}",
                  last[3].strip().splitlines()[-1].replace("needmap: ", "") + f"; UTM inertia {nm_utm:.4e}"))

    # City: one huge cluster (scikit-learn needed 23.6 GB; not run).
    nm_s, nm_rss, last = median_runs([nm, "cluster", city, "--eps-m", "150", "--min-points", "10",
                                      "--out", out("nm_city.csv"), "--force"], a.runs)
    rows.append(("1M city", "DBSCAN eps 150 m, min 10", "(23.6 GB: not run)", "23,600", f"{nm_s:.2f}",
                 f"{nm_rss:.0f}", "", "", last[3].strip().splitlines()[-1].replace("needmap: ", "")))

    # End to end.
    nm_s, nm_rss, last = median_runs([nm, "run", tiled, "--out", out("run_1m"), "--force"], a.runs)
    rows.append(("1M tiled", "`needmap run` end to end", "", "", f"{nm_s:.2f}", f"{nm_rss:.0f}", "", "",
                 last[3].strip().splitlines()[0].replace("needmap: ", "")))
    if a.with_10m:
        big = gen(10_000_000, "tiled", os.path.join(a.data, "h10m_tiled.csv"))
        s, rss, _, err = run_rss([nm, "run", big, "--out", out("run_10m"), "--force"])
        rows.append(("10M tiled", "`needmap run` end to end (1 run)", "", "", f"{s:.1f}", f"{rss:.0f}", "", "",
                     err.strip().splitlines()[0].replace("needmap: ", "")))

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; date {time.strftime('%Y-%m-%d')}; "
          f"runs per figure: {a.runs} (median time, max RSS); labels 1 thread == default threads: {same}")
    print(f"DBSCAN vs scikit-learn: {ari}")
    print(inertia_line)
    print()
    print("| N, layout | task | scikit-learn s (call) | scikit-learn peak MB | needmap s (whole process) | needmap peak MB | speed-up | peer result | needmap result |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
