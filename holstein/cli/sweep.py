"""``python -m holstein sweep``: quenches at several temperatures × replicas as Dask tasks."""
from __future__ import annotations

import sys
from pathlib import Path

from ..profiles import get_profile
from .coarsen import add_series, series_seeds
from .common import COUPLING, device, int_at_least, params_from, positive

__all__ = ["cmd_sweep", "add_parser"]


def cmd_sweep(args) -> int:
    """``sweep``: a temperature × replica sweep on Dask (:func:`holstein.ensemble.sweep`), or ``--analyse DIR``."""
    from .. import ensemble
    from ..cluster import connect

    if args.analyse:
        groups = ensemble.analyse(args.analyse)
        if not groups:
            raise ValueError(f"{args.analyse} holds no sweep tasks ({ensemble.MANIFEST} lists none)")
        for g in groups:
            ident = g["identity"]
            forces = sorted({r["force"] for r in g["results"].values()})
            print(f"{g['force']} ({'; '.join(forces) or 'no finished task'}), L={ident['L']}, "
                  f"{ident['params']}, every {ident['every']} steps:")
            for kT, r in g["results"].items():
                print(f"  kT = {kT:<6g} alpha = {r['alpha']:.3f} ± {r['alpha_err']:.3f} (jackknife ± "
                      f"{r['alpha_err_jackknife']:.3f}) from {r['n_replicas']} replicas, {r['n_points']} points "
                      f"in t ∈ [{r['t_min']:g}, {r['t_max']:g}]")
            for kT, seeds in g["duplicates"]:
                print(f"  kT = {kT:<6g} seeds {seeds} ran in another batch too: counted once")
            for kT, seeds, err in g["failed"]:
                print(f"  kT = {kT:<6g} seeds {seeds}: failed: {err}")
        print(f"wrote {Path(args.analyse) / 'analysis.json'}")
        return 0
    seeds = series_seeds(args, "sweep")
    if args.scheduler and args.cluster:
        raise ValueError("give --scheduler or --cluster, not both")
    prof = get_profile(args.profile)
    p = params_from(args, COUPLING + ("lattice",))
    tasks = ensemble.make_tasks(args.model, prof.L_ed if args.L is None else args.L, args.kT, seeds, args.steps,
                                args.every, p=p, scheme=args.scheme, batch=args.batch, precision=args.precision)
    client, close = (None, lambda: None)  # None: sweep starts a LocalCluster only if there is work
    if args.scheduler or args.cluster:
        client, close = connect(scheduler=args.scheduler, cluster=args.cluster)
    try:
        res = ensemble.sweep(tasks, args.out, client=client, workers=args.workers,
                             checkpoint_every=args.checkpoint_every, device=args.device,
                             retry_failed=args.retry_failed)
    finally:
        close()
    print(f"{res['total']} tasks: {res['ran']} run, {res['skipped']} already finished; {res['done']} done, "
          f"{res['failed']} failed, {res['pending']} pending; manifest {Path(args.out) / ensemble.MANIFEST}")
    for key, (kT, seeds, err) in res["errors"].items():
        print(f"failed: task {key} (kT = {kT:g}, seeds {seeds}): {err}", file=sys.stderr)
    return 0 if res["done"] == res["total"] else 3


def add_parser(sub, prof_help: str) -> None:
    w = sub.add_parser("sweep", help="quenches at several temperatures × replicas as Dask tasks (resumable), "
                                     "or --analyse DIR for alpha(T)")
    w.add_argument("--model", default="ed", help="'ed', a committed model or a checkpoint (.pt), as for simulate")
    w.add_argument("--profile", help=prof_help)
    w.add_argument("--L", type=int_at_least(2), help="lattice size, even (default: the profile's L_ed)")
    add_series(w, 1, "gather the finished tasks of DIR into alpha(T)")
    w.add_argument("--batch", type=positive, default=1, help="replicas integrated together in one task")
    w.add_argument("--checkpoint-every", type=positive, default=1000, help="steps between task checkpoints")
    w.add_argument("--precision", choices=["float32", "float64"], help="model arithmetic (default float64)")
    w.add_argument("--device", default="cpu", type=device, help="torch device of the workers (cuda: one worker per GPU)")
    w.add_argument("--scheduler", help="a Dask scheduler address (tcp://...) or scheduler file")
    w.add_argument("--cluster", help="a YAML cluster config (e.g. examples/slurm.yaml; needs dask-jobqueue)")
    w.add_argument("--workers", type=positive, help="local worker processes (default: one per core)")
    w.add_argument("--retry-failed", action="store_true", help="run tasks that blew up again")
    w.add_argument("--out", help="output folder: tasks/*.npz, manifest.json")
    w.set_defaults(func=cmd_sweep)
