r"""Does float32 change a reference model's result? The same trained weights evaluated on the
held-out snapshots in float64 and in float32.

The reference models of ``holstein/artifacts/reference/`` were trained in float32 (2× faster on
this CPU). This check loads a run's ``best.pt`` (not committed: 40–130 MB, under ``runs/ref/``),
predicts the held-out forces of the book dataset in both precisions and writes, per model, the
held-out RMSE in each, the rms and max of the difference of the two predictions, and that rms
over the RMSE (≪ 1: the precision does not change the result)::

    python benchmarks/reference_float32.py runs/ref/bp_mlp_L24 runs/ref/gcn_L24 runs/ref/energy_gnn_L24 \
        --out holstein/artifacts/reference/float32_check.json
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from holstein import recipes, train
from holstein.models import checkpoint
from holstein.bench import machine_record
from holstein.files import write_json
from holstein.profiles import get_profile


def check(run: Path, ds) -> dict:
    """Held-out forces of ``run/best.pt`` in float64 and float32 -> the comparison (JSON-ready)."""
    test = ds.split()[1]
    model, ck = checkpoint.load_checkpoint(run / "best.pt", dataset=ds)
    F = ds.F[test]
    pred = {}
    for name, dtype in (("float64", torch.float64), ("float32", torch.float32)):
        pred[name] = train.predict(model.to(dtype), ds.Q[test])
    d = pred["float32"] - pred["float64"]
    rmse = {k: train.force_metrics(F, p)["rmse"] for k, p in pred.items()}
    return dict(model=ck["model"], run=str(run), rmse_float64=rmse["float64"], rmse_float32=rmse["float32"],
                diff_rms=float(np.sqrt(np.mean(d ** 2))), diff_max=float(np.abs(d).max()),
                diff_rms_over_rmse=float(np.sqrt(np.mean(d ** 2)) / rmse["float64"]), n_snapshots=int(len(test)))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="training output folders holding best.pt")
    ap.add_argument("--profile", default="book")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    ds = recipes.dataset(get_profile(args.profile))
    with machine_record() as machine:
        rows = [check(r, ds) for r in args.runs]
    for r in rows:
        print(f"{r['model']:12s} held-out RMSE float64 {r['rmse_float64']:.5f}, float32 {r['rmse_float32']:.5f}; "
              f"prediction difference rms {r['diff_rms']:.2e} (max {r['diff_max']:.2e}) = "
              f"{r['diff_rms_over_rmse']:.1e} of the RMSE")
    write_json(dict(benchmark="reference_float32", dataset_sha256=ds.sha256, results=rows, machine=machine,
                    command="python benchmarks/reference_float32.py " + shlex.join(sys.argv[1:] if argv is None else argv)),
               args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
