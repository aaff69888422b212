r"""Held-out errors of the lean models on the 40×40 set and on the 24×24 book set, whatever
lattice they were trained on.

Every model given (a training run's folder holding ``best.pt`` and ``metrics.json``, or a
committed model's name) is evaluated with :func:`holstein.train.evaluate` on the held-out
snapshots (every 7th) of both datasets, by kind (all / random / quench), in float64. None of
these snapshots trained any of the models: the 24×24 models never saw the 40×40 set, the 40×40
models saw only the 24×24 *training* split (``train --extra-train``) and the separate extra set.
Writes, per model, what it was trained on, its epochs and seconds, and both tables::

    python benchmarks/heldout_L40.py gcn_lean_mu_L24 gcn_lean_mu_L24_extra holstein/artifacts/L40/* \
        --out holstein/artifacts/L40/heldout.json
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from holstein import catalog, data, train
from holstein.models.checkpoint import load_model
from holstein.bench import machine_record
from holstein.files import write_json

SETS = {"L40": catalog.dataset_path(40, "paper"), "L24": catalog.dataset_path(24, "book")}


def row(where: str, sets: dict) -> dict:
    """Trained-on facts and held-out metrics by kind on every dataset in ``sets`` of one model."""
    folder = Path(where) if Path(where).is_dir() else catalog.committed_dir(where, 24)
    if folder is None:
        raise SystemExit(f"{where}: neither a run folder nor a committed model")
    m = json.loads((folder / "metrics.json").read_text())
    model = load_model(folder / "best.pt")
    out = dict(model=m["model"], run=str(folder), trained_on=[Path(m["dataset"]).name]
               + [Path(f).name for f in (m.get("extra_train_split") or [])]
               + [Path(f).name for f in ([m["extra_training_data"]] if isinstance(m.get("extra_training_data"), str)
                                         else m.get("extra_training_data") or [])],
               epochs=m["epochs_run"], train_seconds=m["train_seconds"], parameters=m["parameters"],
               command=m["command"])
    out["heldout"] = {name: train.evaluate(model, ds) for name, ds in sets.items()}
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+", help="run folders or committed model names")
    ap.add_argument("--out", default="holstein/artifacts/L40/heldout.json")
    args = ap.parse_args(argv)
    sets = {name: data.load(path) for name, path in SETS.items()}
    with machine_record() as machine:
        rows = {Path(w).name: row(w, sets) for w in args.models}
    for name, r in rows.items():
        cells = [f"{k} {100 * r['heldout'][k][part]['rmse_over_std']:.2f}%" for k in sets for part in ("random", "quench")]
        print(f"{name:28s} {r['epochs']:4d} epochs {r['train_seconds']:6.0f} s  " + "  ".join(cells))
    write_json(dict(command="python " + " ".join(shlex.quote(a) for a in sys.argv), datasets={k: str(v) for k, v in SETS.items()},
                    sha256={k: ds.sha256 for k, ds in sets.items()}, machine=machine, models=rows), args.out, indent=2)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
