"""The cost of temperature as an input: one complete Langevin step at L = 200 of the temperature-aware
model against its T-blind twin, measured against each other (interleaved rounds, same process,
same thread count), float32 model and float64 dynamics as in ``coarsen``.

    python benchmarks/step_kT.py --out holstein/artifacts/bench/step_kT.json

The JSON records the load before and after: a ratio from a loaded machine is indicative only.
"""
import argparse
import shlex
import sys

import torch

from holstein import PAPER, dynamics, load_force
from holstein.bench import machine_record, measure_interleaved, start_configuration
from holstein.files import write_json

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--L", type=int, default=200)
ap.add_argument("--repeats", type=int, default=15)
ap.add_argument("--threads", type=int, default=1)
args = ap.parse_args()
torch.set_num_threads(args.threads)
with machine_record() as machine:
    steps = {}
    for name in ("gcn_lean_mu_L24_extra", "gcn_lean_mu_T"):
        force = load_force(name, PAPER, precision="float32")
        Q0, V0 = start_configuration(args.L, PAPER)
        state = dynamics.init(Q0, force, PAPER, V0=V0, seed=0)
        steps[name] = (lambda s=state, f=force: dynamics.step(s, f, PAPER))
    res = measure_interleaved(steps, repeats=args.repeats)
ratio = res["gcn_lean_mu_T"]["t_min_s"] / res["gcn_lean_mu_L24_extra"]["t_min_s"]
print({k: round(v["t_min_s"] * 1e3, 2) for k, v in res.items()}, "ms; ratio", round(ratio, 3))
write_json(dict(benchmark="step_kT", command="python " + " ".join(shlex.quote(a) for a in sys.argv), L=args.L,
                threads=args.threads, results=res, ratio_min=ratio,
                ratio_median=res["gcn_lean_mu_T"]["t_s"] / res["gcn_lean_mu_L24_extra"]["t_s"], machine=machine),
           args.out)
