"""GPU timings of the best lean model: a complete Langevin step at L = 200, 512, 1024 and batches of
B = 1..16 replicas, written as JSON with the GPU named. Run by benchmarks/gpu_check.sh.

    python benchmarks/gpu_check.py [--out holstein/artifacts/bench/gpu_check.json] [--device cuda] [--Ls 200 512 1024]

``--device cpu --Ls 16 --B 1 2`` is a smoke test (what the test suite runs). The force is
``holstein.load_force(MODEL, PAPER, precision)``; each step is timed with ``holstein.bench.measure``
(one warm-up step, then ``--repeats`` synchronised steps; ``t_step_s`` is their median).
"""
import argparse
import sys

import torch

from holstein import PAPER, dynamics
from holstein.catalog import BENCHMARKS
from holstein.bench import machine_record, measure
from holstein.files import write_json
from holstein.force import load_force

MODEL = "gcn_lean_mu_L24_extra"


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(BENCHMARKS / "gpu_check.json"))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--Ls", type=int, nargs="+", default=[200, 512, 1024])
    ap.add_argument("--B", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    ap.add_argument("--B-L", type=int, default=200, help="lattice of the batch sweep")
    ap.add_argument("--repeats", type=int, default=20)
    args = ap.parse_args(argv)
    dev = torch.device(args.device)
    rows = []
    with machine_record(str(dev)) as machine:
        for precision in ("float32", "float64"):
            fn = load_force(MODEL, PAPER, precision=precision, device=str(dev))
            for L, B in [(L, 1) for L in args.Ls] + [(args.B_L, B) for B in args.B if B > 1]:
                Q0, V0 = dynamics.hot_start(L, PAPER, seed=1, batch=None if B == 1 else B, device=dev)
                box = [dynamics.init(Q0, fn, PAPER, V0=V0, seed=1)]

                def one():
                    box[0] = dynamics.step(box[0], fn, PAPER)

                t = measure(one, args.repeats, device=str(dev))["t_s"]
                rows.append(dict(model_dtype=precision, L=L, B=B, t_step_s=t, site_steps_per_s=B * L * L / t))
                print(rows[-1], flush=True)
    res = dict(benchmark="gpu_check", device=machine.get("gpu", str(dev)), model=MODEL, force_id=fn.id,
               machine=machine, results=rows,
               command="python benchmarks/gpu_check.py " + " ".join(sys.argv[1:] if argv is None else argv))
    write_json(res, args.out, indent=1)
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
