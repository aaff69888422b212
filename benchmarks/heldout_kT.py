r"""Force errors against the electrons' temperature: every model on the ED sets of every kT.

The sets are the 24×24 temperature grid ``holstein/artifacts/data/kT/ed_L24_kT<kT>.npz`` (80 hot
random + 160 quench snapshots each, electrons and bath at kT) and the kT = 0.1 book set. On a set
whose training split trained the temperature-aware model (``grid``), the score is on its held-out
snapshots (every 7th, never trained on, never used for model selection); on the off-grid sets
(``--off-grid``, kT = 0.3 and 3 by default) it is on *every* snapshot: none trained any model.
A T-blind model is scored at every kT too: that is the error of using it where it is not valid
(``holstein.load_force`` refuses it there; here the network is evaluated directly).

    python benchmarks/heldout_kT.py holstein/artifacts/models/gcn_lean_mu_T_L24 gcn_lean_mu_L24_extra \
        --out holstein/artifacts/kT/heldout.json

``--sets F.npz ...`` scores instead on independent ED sets (``where = "independent"``, every snapshot
scored), e.g. fresh 16×16 sets made with ``python -m holstein generate --L 16 --kT <kT> ...``: those
are too large to commit, so the result records each set's generate command and sha256.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from holstein import catalog, data, force, train
from holstein.models import checkpoint
from holstein.bench import machine_record
from holstein.files import write_json

GRID = catalog.ARTIFACTS / "data" / "kT"


def temperature_sets(off_grid=(0.3, 3.0)) -> dict:
    """{kT: (dataset, indices scored, "grid" | "off-grid")}: every committed temperature set and the book set."""
    out = {}
    for f in sorted(GRID.glob("ed_L24_kT*.npz")):
        ds = data.load(f)
        kT = ds.params.kT
        ds.meta["path"] = str(f.relative_to(catalog.ARTIFACTS.parent.parent)) if f.is_relative_to(
            catalog.ARTIFACTS.parent.parent) else str(f)
        off = any(abs(kT - o) < 1e-12 for o in off_grid)
        out[kT] = (ds, np.arange(len(ds)) if off else ds.split()[1], "off-grid" if off else "grid")
    book = data.load(catalog.dataset_path(24, "book"))
    out[0.1] = (book, book.split()[1], "grid")
    return dict(sorted(out.items()))


def independent_sets(paths) -> dict:
    """{kT: (dataset, every index, "independent")} of ED sets that trained no model; kT from their metadata."""
    out = {}
    for f in paths:
        ds = data.load(f)
        kT = ds.params.kT
        if kT in out:
            raise SystemExit(f"two --sets at kT = {kT:g}: {out[kT][0].meta['path']} and {f}")
        ds.meta["path"] = str(f)
        out[kT] = (ds, np.arange(len(ds)), "independent")
    return dict(sorted(out.items()))


def score(spec: str, sets: dict) -> dict:
    """Held-out metrics by kind at every kT of one model (a run folder or a committed name)."""
    path = force.resolve_checkpoint(spec)
    model, ck = checkpoint.load_checkpoint(path)
    rows = {}
    for kT, (ds, idx, where) in sets.items():
        m = train.evaluate(model, ds, idx)
        rows[f"{kT:g}"] = dict(where=where, snapshots=len(idx), **{k: m[k] for k in ("all", "random", "quench")})
    return dict(model=ck["model"], checkpoint=str(path), kT_range=ck.get("kT_range"), kT_trained=ck.get("kT_trained"),
                parameters=model.n_parameters(), epochs=ck["epoch"] + 1, by_kT=rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="run folders, .pt files or committed model names")
    ap.add_argument("--off-grid", type=float, nargs="*", default=[0.3, 3.0])
    ap.add_argument("--sets", nargs="+", metavar="NPZ", help="independent ED sets to score instead of the grid")
    ap.add_argument("--out", default=str(catalog.ARTIFACTS / "kT" / "heldout.json"))
    args = ap.parse_args(argv)
    with machine_record() as machine:
        sets = independent_sets(args.sets) if args.sets else temperature_sets(args.off_grid)
        rows = {Path(m).name: score(m, sets) for m in args.models}
    print("kT     " + "  ".join(f"{n[:22]:>24s}" for n in rows))
    for kT in sets:
        cells = [f"{100 * r['by_kT'][f'{kT:g}']['random']['rmse_over_std']:5.2f}% / "
                 f"{100 * r['by_kT'][f'{kT:g}']['quench']['rmse_over_std']:5.2f}%" for r in rows.values()]
        print(f"{kT:<6g} " + "  ".join(f"{c:>24s}" for c in cells) + (f"  ({sets[kT][2]})" if sets[kT][2] != "grid" else ""))
    write_json(dict(command="python " + " ".join(shlex.quote(a) for a in sys.argv),
                    datasets={f"{kT:g}": dict(path=ds.meta.get("path", ""), sha256=ds.sha256, where=w,
                                              L=ds.L, command=ds.meta.get("command", ""))
                              for kT, (ds, _, w) in sets.items()},
                    machine=machine, models=rows), args.out, indent=1)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
