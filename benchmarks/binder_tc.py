r"""T_c of the semiclassical Holstein model at the preset from the Binder cumulant of the CDW order.

For every lattice L and temperature kT: B Langevin replicas from an ordered start, with
electrons and bath at kT, through the one quench engine (:func:`holstein.quench.run`, resumable
under ``--runs``); after ``--burn`` steps the order m (T, B) of every ``--every``-th step gives
U_L(kT) (:func:`holstein.criticality.binder_jackknife`). Every replica starts from the checkerboard
(``--ordered``; the seeds give the velocities and the noise). The crossings of consecutive sizes give
T_c (:func:`holstein.criticality.crossing_jackknife`). Equilibration is checked by U of the first
and second half of the kept samples. With ``--model ed`` the same at a size ED can reach checks
the model's U and ⟨m⟩.

    python benchmarks/binder_tc.py --model gcn_lean_mu_T --L 16 24 32 48 --kT 6 7 8 9 10 11 \
        --out holstein/artifacts/kT/binder.json
    python benchmarks/binder_tc.py --model ed --L 16 --kT 7 8 9 10 --out holstein/artifacts/kT/binder_ed.json
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from holstein import PAPER, criticality, ed, load_force, quench
from holstein.bench import machine_record
from holstein.files import write_json


def run_one(model: str, L: int, kT: float, args) -> dict:
    p = PAPER.replace(kT=float(kT))
    force = load_force(model, p, precision=None if model == "ed" else "float32")
    seeds = list(range(args.seed, args.seed + args.replicas))
    path = Path(args.runs) / model.replace("/", "_") / f"L{L}" / f"kT{kT:g}.npz"
    _, res = quench.run(force, L, seeds, p, args.steps, args.every, path=path, progress=True, ordered=args.ordered,
                        command="python " + " ".join(shlex.quote(a) for a in sys.argv), desc=f"binder L={L} kT={kT:g}")
    keep = np.asarray(res["step"]) >= args.burn
    m = np.asarray(res["m"])[keep]  # (T, B)
    U, err, _ = criticality.binder_jackknife(m)
    half = len(m) // 2
    return dict(L=L, kT=float(kT), U=U, U_err=err, U_first_half=criticality.binder(m[:half]),
                U_second_half=criticality.binder(m[half:]), m_mean=float(m.mean()), m2_mean=float((m**2).mean()),
                samples=int(m.size), wall_s=float(res.get("wall_s", np.nan)), force=force.id, m_samples=m)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="gcn_lean_mu_T")
    ap.add_argument("--L", type=int, nargs="+", default=[16, 24, 32, 48])
    ap.add_argument("--kT", type=float, nargs="+", default=[6.0, 7.0, 8.0, 9.0, 10.0, 11.0])
    ap.add_argument("--replicas", type=int, default=4)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--burn", type=int, default=5000)
    ap.add_argument("--every", type=int, default=20)
    ap.add_argument("--seed", type=int, default=300000)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ordered", type=float, default=round(ed.cdw_amplitude(PAPER), 6),
                    help="start every replica from the checkerboard of this amplitude (default: the kT = 0.1 "
                         "mean-field one); a hot start below T_c would still be coarsening when sampled")
    ap.add_argument("--runs", default="runs/binder")
    ap.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    with machine_record() as machine:
        rows = [run_one(args.model, L, kT, args) for L in args.L for kT in args.kT]
    crossings = []
    for La, Lb in zip(args.L[:-1], args.L[1:]):
        ms = [r["m_samples"] for r in rows if r["L"] == La]
        ml = [r["m_samples"] for r in rows if r["L"] == Lb]
        tc, err = criticality.crossing_jackknife(args.kT, ms, ml)
        crossings.append(dict(L_small=La, L_large=Lb, T_c=tc, T_c_err=err))
        print(f"crossing L = {La} / {Lb}: T_c = {tc:.3f} ± {err:.3f}")
    for r in rows:
        r.pop("m_samples")
        print(f"L = {r['L']:3d} kT = {r['kT']:5.2f}  U = {r['U']:.3f} ± {r['U_err']:.3f} "
              f"(halves {r['U_first_half']:.3f}, {r['U_second_half']:.3f})  <m> = {r['m_mean']:.3f}")
    write_json(quench.jsonable(dict(command="python " + " ".join(shlex.quote(a) for a in sys.argv), model=args.model,
                    replicas=args.replicas, ordered=args.ordered, steps=args.steps, burn=args.burn, every=args.every, seed=args.seed,
                    mean_field_T_c=ed.cdw_critical_temperature(PAPER, lo=1.0, hi=30.0, iterations=40),
                    machine=machine, results=rows, crossings=crossings)), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
