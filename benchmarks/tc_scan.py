"""The CDW transition temperature of the best lean model: the late-time CDW order m from an ordered
(checkerboard) start and from the reference hot start, over a temperature scan.

    python benchmarks/tc_scan.py --out benchmarks/tc_scan.json [--L 48 --steps 4000 --kT 0.05 0.1 ...]

Below T_c the ordered start stays ordered (m ≈ Q0) and the hot start orders or coarsens; above it both
decay to m ~ N^{-1/2}. m is averaged over the last half of the run. The ordered start is
Q_i = Q0 (-1)^(x+y) with Q0 = ed.checkerboard_amplitude at the lowest temperature of the scan, V = 0.
"""
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import torch

from holstein import PAPER, artifacts, dynamics, ed, observables, train

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--model", default="gcn_lean_mu_L24_extra")
ap.add_argument("--L", type=int, default=48)
ap.add_argument("--steps", type=int, default=4000)
ap.add_argument("--every", type=int, default=50)
ap.add_argument("--kT", type=float, nargs="+", default=[0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
ap.add_argument("--seed", type=int, default=7)
args = ap.parse_args()
torch.set_num_threads(1)
model = train.load_model(artifacts.weights_path(args.model)).float()
fn = model.as_force_fn()
lat_s = torch.as_tensor(np.indices((args.L, args.L)).sum(0) % 2 * -2 + 1, dtype=torch.float64)
Q0_amp = ed.checkerboard_amplitude(PAPER.replace(kT=min(args.kT)))
rows, t0, load0 = [], time.time(), os.getloadavg()
for kT in args.kT:
    p = PAPER.replace(kT=kT)
    for start in ("ordered", "hot"):
        if start == "ordered":
            Q, V = Q0_amp * lat_s, None
        else:
            Q, V = dynamics.hot_start(args.L, p, seed=args.seed)
        st = dynamics.init(Q, fn, p, V0=V, seed=args.seed)
        _, tr = dynamics.run(st, fn, p, n_steps=args.steps, record_every=args.every, progress=False)
        m = observables.cdw_order(np.asarray(tr.Q))
        late = m[len(m) // 2:]
        rows.append(dict(kT=kT, start=start, m_late=float(late.mean()), m_late_std=float(late.std()),
                         m_final=float(m[-1])))
        print(rows[-1], flush=True)
res = dict(benchmark="tc_scan", model=args.model, L=args.L, steps=args.steps, every=args.every,
           Q0_ordered=Q0_amp, results=rows, wall_s=time.time() - t0, loadavg_before=load0,
           loadavg_after=os.getloadavg(),
           command="python benchmarks/tc_scan.py " + " ".join(os.sys.argv[1:]))
Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
