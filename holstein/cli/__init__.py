"""Command line: ``python -m holstein {generate,simulate,train,bench,sweep,coarsen} ...`` (``--help`` on each).

Every subcommand checks its arguments and its output path before any work, writes its results
atomically to the artifact paths the book reads (:mod:`holstein.catalog`) unless ``--out`` says
otherwise, and reports a user error in one line (exit status 2) instead of a traceback.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path


from ..profiles import PROFILES, get_profile
from . import bench, coarsen, sweep
from .common import add_physics, device, int_at_least, non_negative, params_from, positive
from .common import add_lattice, add_overwrite, add_threads, set_threads

__all__ = ["main", "build_parser"]


def cmd_generate(args) -> int:
    from .. import catalog, data, recipes
    from ..files import check_replaceable, check_writable

    prof = get_profile(args.profile)
    p = params_from(args)
    L = prof.L_ed if args.L is None else args.L
    if L % 2 and p.lattice == "square":  # before any file: a refused start must leave no partial work behind
        raise ValueError(f"L must be even (the CDW checkerboard), got {L}")
    out = check_writable(args.out or catalog.dataset_path(L, prof.name, p.lattice), "--out")
    check_replaceable(out, "dataset", args.overwrite)  # a dataset may be regenerated; nothing else replaced
    set_threads(args)
    ds = data.generate(out, L=L, p=p, n_random=prof.n_random if args.n_random is None else args.n_random,
                       n_quench=prof.n_quench if args.n_quench is None else args.n_quench,
                       quench_runs=prof.quench_runs if args.runs is None else args.runs,
                       quench_every=prof.quench_every if args.every is None else args.every,
                       seed=args.seed, device=args.device, command=args.command_line, only_runs=args.only_run)
    if ds is None:
        print(f"quench runs {sorted(set(args.only_run))} of {out} are done (checkpoints in {out}.parts/); "
              "the same command without --only-run assembles the file")
        return 0
    print(f"wrote {out}: {len(ds)} snapshots on {L}x{L}{'x2' if p.lattice == 'honeycomb' else ''}, "
          f"sha256 {ds.sha256[:16]}")
    return 0


def cmd_simulate(args) -> int:
    """``simulate``: one quench from the hot start of ``--seed`` with the quench engine, keeping the Q
    snapshots (:func:`holstein.quench.run`); resumable, extendable, refused for a force not valid here."""
    from .. import dynamics, quench
    from ..files import check_replaceable, check_writable, file_kind
    from ..force import load_force

    prof = get_profile(args.profile)
    p = params_from(args)
    L = prof.L_ed if args.L is None else args.L
    out = check_writable(args.out, "--out")  # before the first step, not after the last
    check_replaceable(out, "trajectory", args.overwrite)  # its own output (a rerun), nothing else
    if out.suffix != ".npz":
        raise ValueError(f"--out {out}: a simulate result is an .npz file; name it <something>.npz")
    set_threads(args)
    ckpt = quench.files(out)[2]
    force = load_force(args.model, p, device=args.device)
    if args.overwrite and out.exists() and file_kind(out) != "trajectory":  # asked to replace another kind
        for f in quench.files(out):
            f.unlink(missing_ok=True)
    if args.fresh:
        ckpt.unlink(missing_ok=True)
        quench.files(out)[1].unlink(missing_ok=True)
        if out.exists():
            quench.load(out)  # a quench result may be replaced, nothing else
            out.unlink()
    try:
        ident, res = quench.run(force, L, args.seed, p, args.steps, args.every, out, snapshots=True,
                                device=args.device, command=args.command_line, desc=f"simulate L={L}")
    except dynamics.BlowUpError as e:
        print(f"error: {e}\nkept the {len(e.result[1]['step'])} snapshots recorded before it in {out} (marked "
              "incomplete: complete=False)", file=sys.stderr)
        return 3
    except KeyboardInterrupt as e:
        print(f"interrupted: {e}; the checkpoint {ckpt} holds the run so far; run the same command again to "
              "resume it (add --fresh to start over)", file=sys.stderr)
        return 130
    except ValueError as e:
        if "belongs to another run" in str(e):
            raise ValueError(f"{e} (--fresh deletes it and starts over)") from None
        raise
    if not bool(res["complete"]):
        print(f"error: {out} holds a run that blew up at step {int(res['step'][-1])} or soon after (complete=False); "
              "--fresh starts it over", file=sys.stderr)
        return 3
    print(f"wrote {out}: {len(res['step'])} snapshots of a {L}x{L} quench to kT={p.kT}")
    return 0


def cmd_train(args) -> int:
    from .. import catalog, data, recipes, train

    prof = get_profile(args.profile)
    if args.data:
        ds = data.load(args.data)
        ds.meta["path"] = str(args.data)
    else:
        ds = recipes.dataset(prof)  # records the path it loaded in meta["path"]
    if args.lattice and args.lattice != ds.params.lattice:  # the lattice is the dataset's; say so if asked otherwise
        raise ValueError(f"--lattice {args.lattice}: the dataset {ds.meta['path']} is on the {ds.params.lattice} lattice")
    overrides = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch_size),
                                   ("dtype", args.dtype), ("seed", args.seed), ("init_from", args.init_from)) if v is not None}
    if args.max_train is not None:  # 0: 'all'
        overrides["max_train"] = args.max_train or None
    if args.balance:
        overrides["balance_kinds"] = True
    if args.budget_min is not None:
        overrides["budget_s"] = 60.0 * args.budget_min
    cfg = train.train_config(args.model, prof, device=args.device, **overrides)
    if args.target:
        cfg.model_config = dict(cfg.model_config, target=args.target)
    if args.center:
        cfg.model_config = dict(cfg.model_config, center=False if args.center == "none" else args.center)
    out = Path(args.out) if args.out else catalog.model_dir(args.model, ds.L)
    whole = [(f, data.load(f)) for f in args.extra or []]
    split = [(f, data.load(f)) for f in args.extra_train or []]
    more = [d for _, d in whole] + [(d, "train") for _, d in split]
    model, hist = train.train(cfg, ds, out, resume=args.resume, extra=more or None)
    test = ds.split()[1]
    pred = train.predict(model, ds.Q[test])  # once, for the metrics and for heldout.npz
    metrics = train.metrics_of(ds, test, pred)
    extra = dict(dataset=ds.meta["path"], dataset_sha256=ds.sha256,
                 extra_training_data=(args.extra[0] if len(args.extra) == 1 else args.extra) if args.extra else None,
                 extra_train_split=[f for f, _ in split] or None, extra_sha256=data.extras_key(more or None),
                 heldout_extra={f: train.evaluate(model, d) for f, d in split} or None,
                 epochs_run=len(hist["epoch"]), train_seconds=float(sum(hist["seconds"])),
                 command=args.command_line)
    path = train.save_metrics(out / "metrics.json", args.model, model, metrics, extra)
    train.save_heldout(out / "heldout.npz", ds, test, pred)
    m = metrics["all"]
    print(f"{args.model}: {model.n_parameters()} parameters, held-out force RMSE {m['rmse']:.4g} "
          f"({100 * m['rmse_over_std']:.2f}% of std), R² {m['r2']:.5f}; wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m holstein", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    prof_help = f"size profile {sorted(PROFILES)} (default: $HOLSTEIN_PROFILE or ci)"

    g = sub.add_parser("generate", help="generate an ED dataset (.npz), resumable")
    g.add_argument("--profile", help=prof_help)
    g.add_argument("--L", type=int_at_least(2), help="lattice size, even; honeycomb: cells per side "
                                                     "(default: the profile's L_ed)")
    g.add_argument("--n-random", type=non_negative, help="hot random snapshots")
    g.add_argument("--n-quench", type=non_negative, help="quench snapshots")
    g.add_argument("--runs", type=positive, help="independent quench trajectories")
    g.add_argument("--every", type=positive, help="Langevin steps between quench snapshots")
    g.add_argument("--out", help="output .npz (default holstein/artifacts/data/ed_L<L>_<profile>.npz; honeycomb: "
                                 "data/honeycomb/ed_hc<L>_<profile>.npz)")
    g.add_argument("--only-run", type=non_negative, action="append", metavar="R",
                   help="run only quench trajectory R (repeatable) and stop: several processes can share one "
                        "dataset's trajectories; the command without --only-run then assembles the file")
    add_overwrite(g)
    add_threads(g)
    add_physics(g)
    add_lattice(g)
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("simulate", help="Langevin quench from a hot start with ED or a trained model")
    s.add_argument("--model", default="ed", help="'ed', 'kpm', a committed model (e.g. gcn_lean_mu_L24_extra) or a "
                                                 "checkpoint (.pt) from `train`; a model refuses parameters it was "
                                                 "not trained for")
    s.add_argument("--profile", help=prof_help)
    s.add_argument("--L", type=int_at_least(2), help="lattice size, even (default: the profile's L_ed)")
    s.add_argument("--steps", type=non_negative, required=True)
    s.add_argument("--every", type=positive, default=50, help="steps between recorded snapshots (the final "
                                                             "state is always recorded)")
    s.add_argument("--out", required=True, help="output .npz (a quench result: Q snapshots, compact observables); "
                                                "its checkpoint <stem>.ckpt lives beside it until the run completes, "
                                                "its final state <stem>.state.pt after (a rerun with more --steps "
                                                "extends it)")
    s.add_argument("--fresh", action="store_true", help="delete an existing checkpoint or result of this output "
                                                        "and start over")
    add_overwrite(s)
    add_threads(s)
    add_physics(s)
    add_lattice(s)
    s.set_defaults(func=cmd_simulate)

    t = sub.add_parser("train", help="train a force model on an ED dataset")
    t.add_argument("--model", required=True, help="registered model name (see holstein.train.RECIPES)")
    t.add_argument("--data", help="dataset .npz (default: the profile's dataset)")
    t.add_argument("--extra", action="append", metavar="NPZ",
                   help="another dataset .npz whose every snapshot is added to the training set (repeatable; "
                        "any L, same parameters); validation and the held-out test stay --data's")
    t.add_argument("--extra-train", action="append", metavar="NPZ",
                   help="another dataset .npz of which only the training split is added (repeatable; any L): its "
                        "held-out snapshots stay unseen and metrics.json scores the model on them too")
    t.add_argument("--profile", help=prof_help)
    t.add_argument("--epochs", type=non_negative)
    t.add_argument("--budget-min", type=float, help="wall-clock training budget in minutes: stop after the epoch "
                                                    "that reaches it (with --epochs as the upper limit)")
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=positive)
    t.add_argument("--max-train", type=lambda v: 0 if v == "all" else positive(v),
                   help="train on this many evenly spaced training snapshots, or 'all' (default: the profile's "
                        "cap for the reference models, all for the lean ones)")
    t.add_argument("--dtype", choices=["float64", "float32"])
    t.add_argument("--target", choices=["total", "electronic"], help="learn the total or only the electronic force")
    t.add_argument("--center", choices=["none", "mean", "median"],
                   help="feed the model Q - mean(Q) or Q - median(Q) (atomic-limit μ), a global input "
                        "(default: the model's recipe in holstein.train.RECIPES)")
    t.add_argument("--balance", action="store_true",
                   help="weight random and quench snapshots by 1/their force variance in the loss")
    t.add_argument("--seed", type=non_negative)
    t.add_argument("--init-from", metavar="CHECKPOINT",
                   help="start from this checkpoint's weights and scales (e.g. a temperature-aware model from its "
                        "T-blind twin; parameters it lacks keep their initialisation)")
    t.add_argument("--device", default="cpu", type=device)
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (every setting but --epochs "
                                                         "must match)")
    t.add_argument("--out", help="output directory (default holstein/artifacts/models/<model>_L<L>)")
    add_lattice(t)
    t.set_defaults(func=cmd_train)
    bench.add_parser(sub, prof_help)
    sweep.add_parser(sub, prof_help)
    coarsen.add_parser(sub, prof_help)
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m holstein " + shlex.join(argv)  # recorded with every artifact
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, FloatingPointError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # read-only folders, a file where a folder should be, a full disk
        where = f" {e.filename}" if e.filename else ""
        print(f"error: cannot write{where}: {e.strerror or e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; rerun the same command to resume from its checkpoint", file=sys.stderr)
        return 130
