"""Command line: ``python -m holstein {generate,simulate,train,bench} ...`` (``--help`` on each)."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from .params import PAPER
from .profiles import PROFILES, get_profile

__all__ = ["main"]


def _params(args):
    changes = {k: getattr(args, k) for k in ("g", "kT", "gamma", "dt") if getattr(args, k, None) is not None}
    return PAPER.replace(**changes)


def _add_physics(sp):
    sp.add_argument("--g", type=float, help=f"coupling g (default {PAPER.g})")
    sp.add_argument("--kT", type=float, help=f"bath temperature (default {PAPER.kT})")
    sp.add_argument("--gamma", type=float, help=f"Langevin friction (default {PAPER.gamma})")
    sp.add_argument("--dt", type=float, help=f"time step in 1/t (default {PAPER.dt})")
    sp.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    sp.add_argument("--seed", type=int, default=0)


def cmd_generate(args) -> int:
    from . import data

    prof = get_profile(args.profile)
    p = _params(args)
    L = args.L or prof.L_ed
    out = Path(args.out or f"artifacts/data/ed_L{L}_{prof.name}.npz")
    ds = data.generate(out, L=L, p=p, n_random=prof.n_random if args.n_random is None else args.n_random,
                       n_quench=prof.n_quench if args.n_quench is None else args.n_quench,
                       quench_runs=args.runs or prof.quench_runs, quench_every=args.every or prof.quench_every,
                       seed=args.seed, device=args.device, command=args.command_line)
    print(f"wrote {out}: {len(ds)} snapshots on {L}x{L}, sha256 {ds.sha256[:16]}")
    return 0


def cmd_simulate(args) -> int:
    import torch

    from . import dynamics, ed

    prof = get_profile(args.profile)
    p = _params(args)
    L = args.L or prof.L_ed
    if args.model == "ed":
        force_fn = lambda Q: ed.forces(Q, p)  # noqa: E731
    else:
        from .train import load_model

        model = load_model(args.model, device=args.device)
        force_fn = lambda Q: model(Q).detach()  # noqa: E731
    Q0, V0 = dynamics.hot_start(L, p, seed=args.seed)
    state = dynamics.init(torch.as_tensor(Q0, device=args.device), force_fn, p,
                          V0=torch.as_tensor(V0, device=args.device), seed=args.seed)
    out = Path(args.out)
    ckpt = out.with_name(out.name + ".ckpt")
    _, traj = dynamics.run(state, force_fn, p, n_steps=args.steps, record_every=args.every, checkpoint_path=ckpt,
                           checkpoint_every=max(args.every, 1000), resume=True, progress=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, Q=np.asarray(traj.Q), time=np.asarray(traj.time), params=str(p.to_dict()),
                        model=args.model, command=args.command_line)
    ckpt.unlink(missing_ok=True)
    print(f"wrote {out}: {len(traj.time)} snapshots of a {L}x{L} quench to kT={p.kT}")
    return 0


def cmd_bench(args) -> int:
    from . import bench

    prof = get_profile(args.profile)
    if args.what == "ed":
        Ls = tuple(args.L) if args.L else prof.bench_L
        res = bench.bench_ed(Ls, repeats=args.repeats, device=args.device)
        res["command"] = args.command_line
        path = bench.write_json(res, args.out or "artifacts/bench/ed.json")
        for r in res["results"]:
            print(f"L={r['L']:3d}  ED forces {r['t_ed_forces_s'] * 1e3:9.2f} ms   eigh {r['t_eigh_s'] * 1e3:9.2f} ms"
                  f"   ratio {r['ratio']:.3f}")
        print(f"wrote {path}")
    return 0


def cmd_train(args) -> int:
    from . import data, notebook, train

    prof = get_profile(args.profile)
    ds = data.load(args.data) if args.data else notebook.dataset(prof)
    overrides = {k: v for k, v in (("epochs", args.epochs), ("lr", args.lr), ("batch_size", args.batch_size),
                                   ("dtype", args.dtype), ("seed", args.seed)) if v is not None}
    if args.balance:
        overrides["balance_kinds"] = True
    cfg = notebook.train_config(args.model, prof, device=args.device, **overrides)
    if args.target:
        cfg.model_config = dict(cfg.model_config, target=args.target)
    if args.center:
        cfg.model_config = dict(cfg.model_config, center=False if args.center == "none" else args.center)
    out = Path(args.out or f"runs/{args.model}_L{ds.L}")
    model, hist = train.train(cfg, ds, out, resume=args.resume)
    metrics = train.evaluate(model, ds)
    extra = dict(dataset=str(args.data or notebook.dataset_path(prof)), dataset_sha256=ds.sha256,
                 epochs_run=len(hist["epoch"]), train_seconds=float(sum(hist["seconds"])),
                 command=args.command_line)
    path = train.save_metrics(out / "metrics.json", args.model, model, metrics, extra)
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
    g.add_argument("--L", type=int, help="lattice size (default: the profile's L_ed)")
    g.add_argument("--n-random", type=int, help="hot random snapshots")
    g.add_argument("--n-quench", type=int, help="quench snapshots")
    g.add_argument("--runs", type=int, help="independent quench trajectories")
    g.add_argument("--every", type=int, help="Langevin steps between quench snapshots")
    g.add_argument("--out", help="output .npz (default artifacts/data/ed_L<L>_<profile>.npz)")
    _add_physics(g)
    g.set_defaults(func=cmd_generate)

    s = sub.add_parser("simulate", help="Langevin quench from a hot start with ED or a trained model")
    s.add_argument("--model", default="ed", help="'ed' or a model checkpoint (.pt) from `train`")
    s.add_argument("--profile", help=prof_help)
    s.add_argument("--L", type=int, help="lattice size (default: the profile's L_ed)")
    s.add_argument("--steps", type=int, required=True)
    s.add_argument("--every", type=int, default=50, help="steps between recorded snapshots")
    s.add_argument("--out", required=True, help="output .npz with Q snapshots and times")
    _add_physics(s)
    s.set_defaults(func=cmd_simulate)

    t = sub.add_parser("train", help="train a force model on an ED dataset")
    t.add_argument("--model", required=True, help="registered model name (see holstein.models.available())")
    t.add_argument("--data", help="dataset .npz (default: the profile's dataset)")
    t.add_argument("--profile", help=prof_help)
    t.add_argument("--epochs", type=int)
    t.add_argument("--lr", type=float)
    t.add_argument("--batch-size", type=int)
    t.add_argument("--dtype", choices=["float64", "float32"])
    t.add_argument("--target", choices=["total", "electronic"], help="learn the total or only the electronic force")
    t.add_argument("--center", choices=["none", "mean", "median"],
                   help="feed the model Q - mean(Q) or Q - median(Q) (atomic-limit μ), a global input "
                        "(default: the model's recipe in holstein.notebook.RECIPES)")
    t.add_argument("--balance", action="store_true",
                   help="weight random and quench snapshots by 1/their force variance in the loss")
    t.add_argument("--seed", type=int)
    t.add_argument("--device", default="cpu")
    t.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    t.add_argument("--out", help="output directory (default runs/<model>_L<L>)")
    t.set_defaults(func=cmd_train)

    b = sub.add_parser("bench", help="benchmarks written as JSON")
    b.add_argument("what", choices=["ed"], help="ed: ED force evaluation vs a bare eigh")
    b.add_argument("--profile", help=prof_help)
    b.add_argument("--L", type=int, nargs="+", help="lattice sizes (default: the profile's bench_L)")
    b.add_argument("--repeats", type=int, default=5)
    b.add_argument("--device", default="cpu")
    b.add_argument("--out", help="output JSON (default artifacts/bench/ed.json)")
    b.set_defaults(func=cmd_bench)
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.command_line = "python -m holstein " + shlex.join(argv)  # recorded with every artifact
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
