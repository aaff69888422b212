"""GPU timings of the best lean model: a complete Langevin step at L = 200, 512, 1024 and batches of
B = 1..16 replicas, written as JSON with the GPU named. Run by benchmarks/gpu_check.sh.

    python benchmarks/gpu_check.py --out benchmarks/gpu_check.json [--device cuda] [--Ls 200 512 1024]

``--device cpu --Ls 16 --B 1 2`` is a smoke test (what the test suite runs).
"""
import argparse
import json
import os
import time
from pathlib import Path

import torch

from holstein import PAPER, artifacts, dynamics, train

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--device", default="cuda")
ap.add_argument("--Ls", type=int, nargs="+", default=[200, 512, 1024])
ap.add_argument("--B", type=int, nargs="+", default=[1, 2, 4, 8, 16])
ap.add_argument("--B-L", type=int, default=200, help="lattice of the batch sweep")
ap.add_argument("--repeats", type=int, default=20)
args = ap.parse_args()
dev = torch.device(args.device)


def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize()


def timed(fn, n):
    fn()
    sync()
    t0 = time.perf_counter()
    for _ in range(n):
        fn()
    sync()
    return (time.perf_counter() - t0) / n


rows = []
for dtype in (torch.float32, torch.float64):
    model = train.load_model(artifacts.weights_path("gcn_lean_mu_L24_extra"), device=args.device).to(dtype)
    fn = model.as_force_fn()
    for L, B in [(L, 1) for L in args.Ls] + [(args.B_L, B) for B in args.B if B > 1]:
        Q0, V0 = dynamics.hot_start(L, PAPER, seed=1, batch=None if B == 1 else B, device=dev)
        state = dynamics.init(Q0, fn, PAPER, V0=V0, seed=1)
        box = [state]

        def one():
            box[0] = dynamics.step(box[0], fn, PAPER)

        t = timed(one, args.repeats)
        rows.append(dict(model_dtype=str(dtype).replace("torch.", ""), L=L, B=B, t_step_s=t,
                         site_steps_per_s=B * L * L / t))
        print(rows[-1], flush=True)
name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu"
res = dict(benchmark="gpu_check", device=name, torch=torch.__version__, loadavg=os.getloadavg(),
           model="gcn_lean_mu_L24_extra", results=rows,
           command="python benchmarks/gpu_check.py " + " ".join(os.sys.argv[1:]))
Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
