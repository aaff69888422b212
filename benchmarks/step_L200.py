"""Time one complete Langevin step (force, integrator, noise, the global μ solve) of the best lean
model on a 200×200 lattice, against the machine's float32 GEMM limit, for 1 and 2 threads.

    python benchmarks/step_L200.py --out benchmarks/step_L200.json [--label after]

Standalone on purpose (only APIs present before and after the speed work), so the same script
times an older checkout: ``PYTHONPATH=<old checkout> python benchmarks/step_L200.py --label before``.
The float32 model drives float64 dynamics ("float32") or the model runs in float64 ("float64").
Valid only on an idle machine: the JSON records os.getloadavg() before and after.
"""
import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch

import holstein
from holstein import PAPER, dynamics, train

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--label", default="after")
ap.add_argument("--L", type=int, default=200)
ap.add_argument("--repeats", type=int, default=15)
args = ap.parse_args()
weights = Path(holstein.__file__).parent / "artifacts/models/gcn_lean_mu_L24_extra/best.pt"  # of the checkout timed


def best_of(fn, n):
    fn()
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts), sorted(ts)[len(ts) // 2]


def force_fn(model):
    def fn(Q):
        with torch.inference_mode():
            return model(Q)
    return fn


load0 = os.getloadavg()
rows = []
for threads in (1, 2):
    torch.set_num_threads(threads)
    a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
    t_mm, _ = best_of(lambda: a @ b, 5)
    gemm = 2 * 4096**3 / t_mm / 1e9
    for dtype in (torch.float32, torch.float64):
        model = train.load_model(weights).to(dtype)
        fn = force_fn(model)
        Q0, V0 = dynamics.hot_start(args.L, PAPER, seed=1)
        state = dynamics.init(Q0, fn, PAPER, V0=V0, seed=1)
        t_step, t_step_med = best_of(lambda: dynamics.step(state, fn, PAPER), args.repeats)
        t_force, _ = best_of(lambda: fn(Q0), args.repeats)
        macs = 17352  # gcn_lean_mu, MACs per site (models.cost.macs_per_site)
        gflops = 2 * macs * args.L**2 / t_force / 1e9
        rows.append(dict(threads=threads, model_dtype=str(dtype).replace("torch.", ""), t_step_s=t_step,
                         t_step_median_s=t_step_med, t_force_s=t_force, site_steps_per_s=args.L**2 / t_step,
                         force_gflops=gflops, gemm_float32_gflops=gemm, force_pct_of_gemm=100 * gflops / gemm))
        print(rows[-1])
res = dict(benchmark="lean_step_L200", label=args.label, L=args.L, model="gcn_lean_mu_L24_extra",
           torch=torch.__version__, cpu=platform.processor() or platform.machine(), cores=os.cpu_count(),
           loadavg_before=load0, loadavg_after=os.getloadavg(), results=rows,
           command=f"python benchmarks/step_L200.py --out {args.out} --label {args.label}")
out = Path(args.out)
old = json.loads(out.read_text()) if out.exists() else {}
old[args.label] = res
out.write_text(json.dumps(old, indent=1) + "\n")
