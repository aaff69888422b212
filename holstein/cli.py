"""Command line: ``python -m holstein {generate,simulate,train,bench} ...`` (``--help`` on each).

Every subcommand checks its arguments and its output path before any work, writes its results
atomically to the artifact paths the book reads (:mod:`holstein.artifacts`) unless ``--out`` says
otherwise, and reports a user error in one line (exit status 2) instead of a traceback.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

from .params import PAPER
from .profiles import PROFILES, get_profile

__all__ = ["main"]


def _int_at_least(minimum: int):
    """argparse type: an integer >= ``minimum``, with the valid range in the error."""
    def parse(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be an integer >= {minimum}, got {v}")
        return v
    parse.__name__ = f"integer >= {minimum}"
    return parse


positive, non_negative = _int_at_least(1), _int_at_least(0)


def _device(name: str) -> str:
    """argparse type: a torch device checked once (one line for an unknown device or a missing CUDA)."""
    import torch

    try:
        dev = torch.device(name)
    except RuntimeError:
        raise argparse.ArgumentTypeError(f"unknown device {name!r}; use cpu, or cuda where a GPU is present") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise argparse.ArgumentTypeError(f"{name}: CUDA is not available on this machine; use --device cpu")
    if dev.type not in ("cpu", "cuda"):
        raise argparse.ArgumentTypeError(f"{name}: only cpu and cuda are supported")
    return name


def _params(args):
    changes = {k: getattr(args, k) for k in ("g", "kT", "gamma", "dt") if getattr(args, k, None) is not None}
    return PAPER.replace(**changes)


def _add_physics(sp):
    sp.add_argument("--g", type=float, help=f"coupling g (default {PAPER.g})")
    sp.add_argument("--kT", type=float, help=f"bath temperature (default {PAPER.kT})")
    sp.add_argument("--gamma", type=float, help=f"Langevin friction (default {PAPER.gamma})")
    sp.add_argument("--dt", type=float, help=f"time step in 1/t (default {PAPER.dt})")
    sp.add_argument("--device", default="cpu", type=_device, help="torch device, e.g. cpu or cuda")
    sp.add_argument("--seed", type=non_negative, default=0)


def cmd_generate(args) -> int:
    from . import artifacts, data
    from .files import check_writable

    prof = get_profile(args.profile)
    p = _params(args)
    L = prof.L_ed if args.L is None else args.L
    out = check_writable(args.out or artifacts.dataset_path(L, prof.name), "--out")
    ds = data.generate(out, L=L, p=p, n_random=prof.n_random if args.n_random is None else args.n_random,
                       n_quench=prof.n_quench if args.n_quench is None else args.n_quench,
                       quench_runs=prof.quench_runs if args.runs is None else args.runs,
                       quench_every=prof.quench_every if args.every is None else args.every,
                       seed=args.seed, device=args.device, command=args.command_line)
    print(f"wrote {out}: {len(ds)} snapshots on {L}x{L}, sha256 {ds.sha256[:16]}")
    return 0


def _force(args, p):
    """(force_fn, force_id) of ``--model``: "ed", a committed model name or a checkpoint path
    (:func:`holstein.artifacts.force_and_id`)."""
    from . import artifacts

    return artifacts.force_and_id(args.model, p, args.device)


def cmd_simulate(args) -> int:
    import torch

    from . import dynamics
    from .files import atomic_write, check_writable

    prof = get_profile(args.profile)
    p = _params(args)
    L = prof.L_ed if args.L is None else args.L
    out = check_writable(args.out, "--out")  # before the first step, not after the last
    ckpt = out.with_name(out.name + ".ckpt")
    if args.fresh:
        ckpt.unlink(missing_ok=True)
    force_fn, force_id = _force(args, p)
    Q0, V0 = dynamics.hot_start(L, p, seed=args.seed)
    state = dynamics.init(torch.as_tensor(Q0, device=args.device), force_fn, p,
                          V0=torch.as_tensor(V0, device=args.device), seed=args.seed)
    meta = dict(params=json.dumps(p.to_dict()), model=args.model, force=force_id, command=args.command_line)
    save = lambda traj, complete: atomic_write(out, lambda fh: np.savez_compressed(  # noqa: E731
        fh, Q=np.asarray(traj.Q), time=np.asarray(traj.time), step=np.asarray(traj.step), complete=complete, **meta))
    try:
        _, traj = dynamics.run(state, force_fn, p, n_steps=args.steps, record_every=args.every,
                               checkpoint_path=ckpt, checkpoint_every=max(args.every, 1000), resume=True,
                               progress=True, force_id=force_id)
    except dynamics.BlowUpError as e:
        save(e.trajectory, False)
        print(f"error: {e}\nkept the {len(e.trajectory)} snapshots recorded before it in {out} (marked "
              "incomplete: complete=False)", file=sys.stderr)
        return 3
    except KeyboardInterrupt as e:
        print(f"interrupted: {e}; the checkpoint {ckpt} holds the run so far; run the same command again to "
              "resume it (add --fresh to start over)", file=sys.stderr)
        return 130
    save(traj, True)
    ckpt.unlink(missing_ok=True)
    print(f"wrote {out}: {len(traj.time)} snapshots of a {L}x{L} quench to kT={p.kT}")
    return 0


def cmd_bench(args) -> int:
    from . import artifacts, bench
    from .files import check_writable, write_json

    prof = get_profile(args.profile)
    if args.what == "ed":
        Ls = tuple(args.L) if args.L else prof.bench_L
        out = check_writable(args.out or artifacts.ARTIFACTS / "bench" / "ed.json")
        res = bench.bench_ed(Ls, repeats=5 if args.repeats is None else args.repeats, device=args.device)
        res["command"] = args.command_line
        path = write_json(res, out, indent=2)
        for r in res["results"]:
            print(f"L={r['L']:3d}  ED forces {r['t_ed_forces_s'] * 1e3:9.2f} ms   eigh {r['t_eigh_s'] * 1e3:9.2f} ms"
                  f"   ratio {r['ratio']:.3f}")
        print(f"wrote {path}")
    elif args.what == "speed":
        return _bench_speed(args, bench)
    elif args.what == "transfer":
        return _bench_transfer(args, bench)
    return 0


def _bench_transfer(args, bench) -> int:
    """``bench transfer``: :func:`holstein.transfer.transfer_check` with the committed 24×24 models."""
    from . import artifacts, train
    from .files import check_writable, write_json
    from .transfer import transfer_check

    names = args.models or ["gcn_lean", "gcn_lean_mu", "bp_mlp_lean", "energy_gnn_lean"]
    fns = {}
    for name in names:  # a model name (weights in <name>_L24/) or a directory under artifacts/models
        fns[name] = train.load_model(artifacts.weights_path(name), device=args.device).double().as_force_fn()
    if args.driver not in fns:
        raise ValueError(f"--driver {args.driver!r} must be one of the models {names}")
    L = args.L[0] if args.L else 200
    kw = dict(probe_distance=args.probe_distance, tol=args.kpm_tol)
    if args.kpm_moments:
        kw["n_moments"] = args.kpm_moments
    out = check_writable(args.out or f"benchmarks/transfer_L{L}.json")
    res = transfer_check(fns, L, args.steps, args.every, args.driver, seed=args.seed, kpm_kwargs=kw,
                         device=args.device)
    res["command"] = args.command_line
    path = write_json(res, out, indent=2)
    for s in res["snapshots"]:
        print(f"t = {s['time']:7.1f}: KPM {s['t_kpm_s']:.1f} s, M = {s['n_moments']}")
    for name, d in res["models"].items():
        a = d["all"]
        print(f"{name:>16}: RMSE {a['rmse']:.4f} = {100 * a['rmse_over_std']:.2f}% of the force std, max {a['max_abs']:.3f}")
    print(f"wrote {path}")
    return 0


def _bench_speed(args, bench) -> int:
    """``bench speed``: :func:`holstein.bench.bench_speed` with the full (or ``--tiny``) sizes, then plots."""
    from .files import check_writable, write_json
    from .plotting import plot_speed

    out = check_writable(args.out or "benchmarks/speed.json")
    kw = (bench.SPEED_TINY if args.tiny else bench.SPEED_FULL).kwargs()
    given = dict(Ls=args.L, ed_Ls=args.ed_L, reference_Ls=args.reference_L, ensemble_B=args.ensemble_B,
                 dtype_Ls=args.dtype_L, scaling_Ls=args.scaling_L, ensemble_L=args.ensemble_L,
                 compile_L=args.compile_L, budget_s=args.budget, compile=args.compile, models=args.models)
    kw.update({k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if v is not None})
    if args.repeats is not None:
        kw["repeats"] = args.repeats
    caps = dict(kw.pop("max_L", {}))
    for item in args.max_L or ():
        name, _, L = item.partition("=")
        if not L.isdigit():
            raise ValueError(f"--max-L takes NAME=L (e.g. gcn=64 kpm=256), got {item!r}")
        caps[name] = int(L)
    kpm_kwargs = {"n_moments": args.kpm_moments} if args.kpm_moments else None
    res = bench.bench_speed(**kw, max_L=caps, kpm=not args.no_kpm, kpm_kwargs=kpm_kwargs,
                            reference_grad=not args.reference_no_grad, device=args.device, seed=args.seed)
    res["command"] = args.command_line
    res["plots"] = [str(p) for p in plot_speed(res, out.with_suffix(""))]
    path = write_json(res, out, indent=2)
    print(bench.speed_summary(res))
    print(f"wrote {path} and {', '.join(res['plots'])}")
    return 0


def cmd_train(args) -> int:
    from . import artifacts, data, train

    prof = get_profile(args.profile)
    if args.data:
        ds = data.load(args.data)
        ds.meta["path"] = str(args.data)
    else:
        ds = artifacts.dataset(prof)  # records the path it loaded in meta["path"]
    overrides = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch_size),
                                   ("dtype", args.dtype), ("seed", args.seed)) if v is not None}
    if args.balance:
        overrides["balance_kinds"] = True
    cfg = train.train_config(args.model, prof, device=args.device, **overrides)
    if args.target:
        cfg.model_config = dict(cfg.model_config, target=args.target)
    if args.center:
        cfg.model_config = dict(cfg.model_config, center=False if args.center == "none" else args.center)
    out = Path(args.out) if args.out else artifacts.model_dir(args.model, ds.L)
    more = data.load(args.extra) if args.extra else None
    model, hist = train.train(cfg, ds, out, resume=args.resume, extra=more)
    metrics = train.evaluate(model, ds)
    extra = dict(dataset=ds.meta["path"], dataset_sha256=ds.sha256,
                 extra_training_data=args.extra, extra_sha256=None if more is None else more.sha256,
                 epochs_run=len(hist["epoch"]), train_seconds=float(sum(hist["seconds"])),
                 command=args.command_line)
    path = train.save_metrics(out / "metrics.json", args.model, model, metrics, extra)
    m = metrics["all"]
    print(f"{args.model}: {model.n_parameters()} parameters, held-out force RMSE {m['rmse']:.4g} "
          f"({100 * m['rmse_over_std']:.2f}% of std), R² {m['r2']:.5f}; wrote {path}")
    return 0


def cmd_sweep(args) -> int:
    """``sweep``: a temperature × replica sweep on Dask (:func:`holstein.ensemble.sweep`), or ``--analyse DIR``."""
    from . import ensemble

    if args.analyse:
        groups = ensemble.analyse(args.analyse)
        if not groups:
            raise ValueError(f"{args.analyse} holds no sweep tasks (no {ensemble.MANIFEST})")
        for g in groups:
            ident = g["identity"]
            print(f"{ident['force'][:60]}, L={ident['L']}, {ident['steps']} steps every {ident['every']}:")
            for kT, r in g["results"].items():
                print(f"  kT = {kT:<6g} alpha = {r['alpha']:.3f} ± {r['alpha_err']:.3f} (jackknife ± "
                      f"{r['alpha_err_jackknife']:.3f}) from {r['n_replicas']} replicas, {r['n_points']} points "
                      f"in t ∈ [{r['t_min']:g}, {r['t_max']:g}]")
            for kT, seeds, err in g["failed"]:
                print(f"  kT = {kT:<6g} seeds {seeds}: failed: {err}")
        print(f"wrote {Path(args.analyse) / 'analysis.json'}")
        return 0
    missing = [f"--{k}" for k in ("kT", "steps", "out") if getattr(args, k) is None]
    if missing:
        raise ValueError(f"sweep needs {', '.join(missing)} (or --analyse DIR)")
    if args.scheduler and args.cluster:
        raise ValueError("give --scheduler or --cluster, not both")
    prof = get_profile(args.profile)
    p = PAPER.replace(**{k: getattr(args, k) for k in ("g", "gamma", "dt") if getattr(args, k) is not None})
    seeds = range(args.seed, args.seed + args.replicas)
    tasks = ensemble.make_tasks(args.model, prof.L_ed if args.L is None else args.L, args.kT, seeds, args.steps,
                                args.every, p=p, scheme=args.scheme, batch=args.batch)
    client, close = (None, lambda: None)  # None: sweep starts a LocalCluster only if there is work
    if args.scheduler or args.cluster:
        client, close = ensemble.connect(scheduler=args.scheduler, cluster=args.cluster)
    try:
        res = ensemble.sweep(tasks, args.out, client=client, workers=args.workers,
                             checkpoint_every=args.checkpoint_every, device=args.device,
                             retry_failed=args.retry_failed)
    finally:
        close()
    print(f"{res['total']} tasks: {res['ran']} run, {res['skipped']} already finished; {res['done']} done, "
          f"{res['failed']} failed, {res['pending']} pending; manifest {Path(args.out) / ensemble.MANIFEST}")
    return 0 if res["done"] == res["total"] else 3


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m holstein", description=__doc__)
    sub = ap.add_subparsers(dest="command", required=True)
    prof_help = f"size profile {sorted(PROFILES)} (default: $HOLSTEIN_PROFILE or ci)"

    g = sub.add_parser("generate", help="generate an ED dataset (.npz), resumable")
    g.add_argument("--profile", help=prof_help)
    g.add_argument("--L", type=_int_at_least(2), help="lattice size, even (default: the profile's L_ed)")
    g.add_argument("--n-random", type=non_negative, help="hot random snapshots")
    g.add_argument("--n-quench", type=non_negative, help="quench snapshots")
    g.add_argument("--runs", type=positive, help="independent quench trajectories")
    g.add_argument("--every", type=positive, help="Langevin steps between quench snapshots")
    g.add_argument("--out", help="output .npz (default holstein/artifacts/data/ed_L<L>_<profile>.npz)")
    _add_physics(g)
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("simulate", help="Langevin quench from a hot start with ED or a trained model")
    s.add_argument("--model", default="ed", help="'ed', a committed model (e.g. gcn_lean_mu_L24_extra) or a "
                                                 "checkpoint (.pt) from `train`")
    s.add_argument("--profile", help=prof_help)
    s.add_argument("--L", type=_int_at_least(2), help="lattice size, even (default: the profile's L_ed)")
    s.add_argument("--steps", type=non_negative, required=True)
    s.add_argument("--every", type=positive, default=50, help="steps between recorded snapshots (the final "
                                                             "state is always recorded)")
    s.add_argument("--out", required=True, help="output .npz with Q snapshots and times; its checkpoint "
                                                "OUT.ckpt lives beside it until the run completes")
    s.add_argument("--fresh", action="store_true", help="delete an existing checkpoint and start over")
    _add_physics(s)
    s.set_defaults(func=cmd_simulate)

    t = sub.add_parser("train", help="train a force model on an ED dataset")
    t.add_argument("--model", required=True, help="registered model name (see holstein.train.RECIPES)")
    t.add_argument("--data", help="dataset .npz (default: the profile's dataset)")
    t.add_argument("--extra", help="a second dataset .npz (same L, other trajectories) added to the training set; "
                                   "validation and held-out test stay those of --data")
    t.add_argument("--profile", help=prof_help)
    t.add_argument("--epochs", type=non_negative)
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=positive)
    t.add_argument("--dtype", choices=["float64", "float32"])
    t.add_argument("--target", choices=["total", "electronic"], help="learn the total or only the electronic force")
    t.add_argument("--center", choices=["none", "mean", "median"],
                   help="feed the model Q - mean(Q) or Q - median(Q) (atomic-limit μ), a global input "
                        "(default: the model's recipe in holstein.train.RECIPES)")
    t.add_argument("--balance", action="store_true",
                   help="weight random and quench snapshots by 1/their force variance in the loss")
    t.add_argument("--seed", type=non_negative)
    t.add_argument("--device", default="cpu", type=_device)
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt (every setting but --epochs "
                                                         "must match)")
    t.add_argument("--out", help="output directory (default holstein/artifacts/models/<model>_L<L>)")
    t.set_defaults(func=cmd_train)

    from .bench.speed import SPEED_FULL as D, SPEED_TINY as T  # the speed benchmark's settings, stated once

    def dflt(v):
        return " ".join(f"{k}={x}" for k, x in v.items()) if hasattr(v, "items") else " ".join(map(str, v))

    b = sub.add_parser("bench", help="benchmarks written as JSON (+ PNG plots for speed)")
    b.add_argument("what", choices=["ed", "speed", "transfer"],
                   help="ed: ED force evaluation vs a bare eigh; speed: ED, KPM and the models against L, the "
                        "reference approach, ensembles, float32, torch.compile (holstein.bench.bench_speed); "
                        "transfer: the committed models' force error on a large quench against KPM "
                        "(holstein.transfer.transfer_check)")
    b.add_argument("--profile", help=prof_help)
    b.add_argument("--L", "--Ls", dest="L", type=_int_at_least(2), nargs="+",
                   help=f"lattice sizes (ed: default the profile's bench_L; speed: KPM and models, default "
                        f"{dflt(D.Ls)}; transfer: default 200)")
    b.add_argument("--repeats", type=positive, help=f"ed: timed calls per size (default 5); speed: the most timed calls "
                                                f"per point (default {D.repeats}, {T.repeats} with --tiny)")
    b.add_argument("--device", default="cpu", type=_device)
    b.add_argument("--seed", type=non_negative, default=0)
    b.add_argument("--out", help="output JSON (default holstein/artifacts/bench/ed.json, benchmarks/speed.json for speed, "
                                 "benchmarks/transfer_L<L>.json for transfer)")
    sp = b.add_argument_group("speed")
    sp.add_argument("--tiny", action="store_true", help="everything at minimal sizes, in seconds (a smoke test)")
    sp.add_argument("--ed-L", type=positive, nargs="+", help=f"ED sizes (default {dflt(D.ed_Ls)})")
    sp.add_argument("--models", nargs="+", help=f"registered models (default {dflt(D.models)}; transfer: the "
                                                 "lean models with committed weights)")
    sp.add_argument("--max-L", nargs="+", metavar="NAME=L",
                    help=f"caps on L per method, e.g. gcn=32 kpm=256 (default {dflt(D.max_L)})")
    sp.add_argument("--budget", type=float,
                    help=f"seconds of timed calls per point, at least one call (default {D.budget_s:g})")
    sp.add_argument("--scaling-L", type=positive, nargs=2,
                    help=f"the two sizes of the linear-scaling ratio (default {dflt(D.scaling_Ls)})")
    sp.add_argument("--reference-L", type=positive, nargs="+",
                    help=f"sizes of the reference comparison (default {dflt(D.reference_Ls)})")
    sp.add_argument("--reference-no-grad", action="store_true",
                    help="call the reference GCN under torch.no_grad (the reference code does not)")
    sp.add_argument("--ensemble-L", type=positive, help=f"lattice of the ensemble benchmark (default {D.ensemble_L})")
    sp.add_argument("--ensemble-B", type=positive, nargs="+", help=f"replica counts (default {dflt(D.ensemble_B)})")
    sp.add_argument("--dtype-L", type=positive, nargs="+",
                    help=f"sizes of the float32/float64 comparison (default {dflt(D.dtype_Ls)})")
    sp.add_argument("--compile", action=argparse.BooleanOptionalAction, default=None,
                    help=f"time torch.compile of the lean model (default: {'yes' if D.compile else 'no'}, "
                         f"{'yes' if T.compile else 'no'} with --tiny)")
    sp.add_argument("--compile-L", type=positive, help=f"lattice of the torch.compile timing (default {D.compile_L})")
    sp.add_argument("--no-kpm", action="store_true", help="leave out KPM")
    sp.add_argument("--kpm-moments", type=positive, help="KPM Chebyshev moments (default: chosen by holstein.kpm)")
    tr = b.add_argument_group("transfer")
    tr.add_argument("--steps", type=positive, default=4000, help="Langevin steps of the large quench (default 4000)")
    tr.add_argument("--every", type=positive, default=1000, help="steps between checked snapshots (default 1000)")
    tr.add_argument("--driver", default="gcn_lean", help="the model that drives the quench (default gcn_lean)")
    tr.add_argument("--probe-distance", type=positive, default=8, help="KPM probing distance (default 8)")
    tr.add_argument("--kpm-tol", type=float, default=1e-4, help="KPM truncation tolerance (default 1e-4)")
    b.set_defaults(func=cmd_bench)

    w = sub.add_parser("sweep", help="quenches at several temperatures × replicas as Dask tasks (resumable), "
                                     "or --analyse DIR for alpha(T)")
    w.add_argument("--model", default="ed", help="'ed', a committed model or a checkpoint (.pt), as for simulate")
    w.add_argument("--profile", help=prof_help)
    w.add_argument("--L", type=_int_at_least(2), help="lattice size, even (default: the profile's L_ed)")
    w.add_argument("--kT", type=float, nargs="+", help="bath temperatures")
    w.add_argument("--replicas", type=positive, default=1, help="replicas per temperature (seeds SEED, SEED+1, ...)")
    w.add_argument("--batch", type=positive, default=1, help="replicas integrated together in one task")
    w.add_argument("--steps", type=non_negative)
    w.add_argument("--every", type=positive, default=100, help="steps between recorded times")
    w.add_argument("--checkpoint-every", type=positive, default=1000, help="steps between task checkpoints")
    w.add_argument("--scheme", choices=["vv_ou", "baoab"], default="vv_ou")
    w.add_argument("--g", type=float, help=f"coupling g (default {PAPER.g})")
    w.add_argument("--gamma", type=float, help=f"Langevin friction (default {PAPER.gamma})")
    w.add_argument("--dt", type=float, help=f"time step in 1/t (default {PAPER.dt})")
    w.add_argument("--seed", type=non_negative, default=0, help="first replica seed")
    w.add_argument("--device", default="cpu", help="torch device of the workers (cuda: one worker per GPU)")
    w.add_argument("--scheduler", help="a Dask scheduler address (tcp://...) or scheduler file")
    w.add_argument("--cluster", help="a YAML cluster config (e.g. examples/slurm.yaml; needs dask-jobqueue)")
    w.add_argument("--workers", type=positive, help="local worker processes (default: one per core)")
    w.add_argument("--retry-failed", action="store_true", help="run tasks that blew up again")
    w.add_argument("--out", help="output folder: tasks/*.npz, manifest.json")
    w.add_argument("--analyse", "--analyze", metavar="DIR", help="gather the finished tasks of DIR into alpha(T)")
    w.set_defaults(func=cmd_sweep)
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
