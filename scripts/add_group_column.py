#!/usr/bin/env python3
# Usage: add_group_column.py IN.csv OUT.csv
# Appends a `mother_tongue` group column to a gen_households.py file: Quechua more likely
# where there is no piped water (a proxy for the informal settlements). Seeded, deterministic.
import sys
import numpy as np
src, dst = sys.argv[1], sys.argv[2]
rng = np.random.default_rng(7)
with open(src) as f, open(dst, "w") as g:
    head = f.readline().rstrip("\n")
    g.write(head + ",mother_tongue\n")
    lines = f.read().splitlines()
    u = rng.random(len(lines))
    for line, x in zip(lines, u):
        water = line.split(",")[6]
        p = 0.35 if water == "0" else 0.10
        t = "Quechua" if x < p else ("Aymara" if x < p + 0.02 else "Spanish")
        g.write(line + "," + t + "\n")
