"""The CDW transition temperature of the best lean model: the late-time CDW order m from an ordered
(checkerboard) start and from the reference hot start, over a temperature scan.

    python benchmarks/tc_scan.py [--out holstein/artifacts/bench/tc_scan.json] [--L 48 --steps 4000 --kT 0.05 0.1 ...]

Below T_c the ordered start stays ordered (m ≈ Q0) and the hot start orders or coarsens; above it both
decay to m ~ N^{-1/2}. m is averaged over the last half of the run. The ordered start is
Q_i = Q0 (-1)^(x+y) with Q0 = ed.cdw_amplitude at the lowest temperature of the scan, V = 0.
The force is ``holstein.load_force(--model, precision="float32")``: a T-blind model (such as the
default) at its training kT, so only the bath's temperature is scanned; a temperature-aware model
at each kT of the scan (refused where it is not valid).
"""
import argparse
import sys

import numpy as np
import torch

from holstein import PAPER, dynamics, ed, observables
from holstein.catalog import BENCHMARKS
from holstein.bench import machine_record, stopwatch
from holstein.files import write_json
from holstein.force import load_force


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(BENCHMARKS / "tc_scan.json"))
    ap.add_argument("--model", default="gcn_lean_mu_L24_extra")
    ap.add_argument("--L", type=int, default=48)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--kT", type=float, nargs="+", default=[0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args(argv)
    torch.set_num_threads(1)
    own = load_force(args.model, precision="float32")  # at the model's own (training) parameters
    lat_s = torch.as_tensor(np.indices((args.L, args.L)).sum(0) % 2 * -2 + 1, dtype=torch.float64)
    Q0_amp = ed.cdw_amplitude(PAPER.replace(kT=min(args.kT)))
    rows = []
    with machine_record("cpu") as machine, stopwatch() as wall:
        for kT in args.kT:
            p = PAPER.replace(kT=kT)
            fn = load_force(args.model, p, precision="float32") if own.temperature_aware else own
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
    res = dict(benchmark="tc_scan", model=args.model, force_id=own.id, L=args.L, steps=args.steps, every=args.every,
               Q0_ordered=Q0_amp, results=rows, wall_s=wall.seconds, machine=machine,
               command="python benchmarks/tc_scan.py " + " ".join(sys.argv[1:] if argv is None else argv))
    write_json(res, args.out, indent=1)
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
