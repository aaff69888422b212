"""``python -m holstein bench {ed,speed,transfer}``: benchmarks written as JSON."""
from __future__ import annotations

import argparse

from ..catalog import BENCHMARKS
from ..files import check_writable, write_json
from ..profiles import get_profile
from .common import device, int_at_least, non_negative, positive

__all__ = ["cmd_bench", "add_parser"]


def cmd_bench(args) -> int:
    """``bench ed|speed|transfer``: the benchmark's JSON (with the command) at ``--out``."""
    default = dict(ed="ed.json", speed="speed.json", transfer=f"transfer_L{args.L[0] if args.L else 200}.json")
    out = check_writable(args.out or BENCHMARKS / default[args.what])
    res = {"ed": _bench_ed, "speed": _bench_speed, "transfer": _bench_transfer}[args.what](args)
    res["command"] = args.command_line
    if args.what == "speed":  # its figures, beside the JSON
        from ..plotting import plot_speed

        res["plots"] = [str(p) for p in plot_speed(res, out.with_suffix(""))]
    path = write_json(res, out, indent=2)
    print(f"wrote {path}" + (f" and {', '.join(res['plots'])}" if "plots" in res else ""))
    return 0


def _bench_ed(args) -> dict:
    from ..bench import bench_ed

    Ls = tuple(args.L) if args.L else get_profile(args.profile).bench_L
    res = bench_ed(Ls, repeats=5 if args.repeats is None else args.repeats, device=args.device)
    for r in res["results"]:
        print(f"L={r['L']:3d}  ED forces {r['t_ed_forces_s'] * 1e3:9.2f} ms   eigh {r['t_eigh_s'] * 1e3:9.2f} ms"
              f"   ratio {r['ratio']:.3f}")
    return res


def _bench_transfer(args) -> dict:
    """:func:`holstein.bench.transfer.transfer_check` with the committed 24×24 models, or ``--models``."""
    from ..bench.transfer import transfer_check
    from ..force import load_force
    from ..params import PAPER

    fns = {}
    for entry in args.models or ["gcn_lean", "gcn_lean_mu", "bp_mlp_lean", "energy_gnn_lean"]:
        name, _, where = entry.rpartition("=") if "=" in entry else (entry, "", entry)  # [LABEL=]MODEL
        fns[name] = load_force(where, PAPER, precision="float64", device=args.device)  # refused unless valid at PAPER
    if args.driver not in fns:
        raise ValueError(f"--driver {args.driver!r} must be one of the models {list(fns)}")
    kw = dict(probe_distance=args.probe_distance, tol=args.kpm_tol)
    if args.kpm_moments:
        kw["n_moments"] = args.kpm_moments
    res = transfer_check(fns, args.L[0] if args.L else 200, args.steps, args.every, args.driver, seed=args.seed,
                         kpm_kwargs=kw, device=args.device)
    for s in res["snapshots"]:
        print(f"t = {s['time']:7.1f}: KPM {s['t_kpm_s']:.1f} s, M = {s['n_moments']}")
    for name, d in res["models"].items():
        a = d["all"]
        print(f"{name:>16}: RMSE {a['rmse']:.4f} = {100 * a['rmse_over_std']:.2f}% of the force std, "
              f"max {a['max_abs']:.3f}")
    return res


def _bench_speed(args) -> dict:
    """:func:`holstein.bench.bench_speed` with the full (or ``--tiny``) sizes."""
    from .. import bench

    kw = (bench.SPEED_TINY if args.tiny else bench.SPEED_FULL).kwargs()
    given = dict(Ls=args.L, ed_Ls=args.ed_L, reference_Ls=args.reference_L, ensemble_B=args.ensemble_B,
                 dtype_Ls=args.dtype_L, scaling_Ls=args.scaling_L, ensemble_L=args.ensemble_L,
                 compile_L=args.compile_L, budget_s=args.budget, compile=args.compile, models=args.models,
                 repeats=args.repeats)
    kw.update({k: tuple(v) if isinstance(v, list) else v for k, v in given.items() if v is not None})
    caps = dict(kw.pop("max_L", {}))
    for item in args.max_L or ():
        name, _, L = item.partition("=")
        if not L.isdigit():
            raise ValueError(f"--max-L takes NAME=L (e.g. gcn=64 kpm=256), got {item!r}")
        caps[name] = int(L)
    kpm_kwargs = {"n_moments": args.kpm_moments} if args.kpm_moments else None
    res = bench.bench_speed(**kw, max_L=caps, kpm=not args.no_kpm, kpm_kwargs=kpm_kwargs,
                            reference_grad=not args.reference_no_grad, device=args.device, seed=args.seed)
    print(bench.speed_summary(res))
    return res


def add_parser(sub, prof_help: str) -> None:
    from ..bench.speed import SPEED_FULL as D, SPEED_TINY as T  # the speed benchmark's settings, stated once

    def dflt(v):
        return " ".join(f"{k}={x}" for k, x in v.items()) if hasattr(v, "items") else " ".join(map(str, v))

    b = sub.add_parser("bench", help="benchmarks written as JSON (+ PNG plots for speed)")
    b.add_argument("what", choices=["ed", "speed", "transfer"],
                   help="ed: ED force evaluation vs a bare eigh; speed: ED, KPM and the models against L, the "
                        "reference approach, ensembles, float32, torch.compile (holstein.bench.bench_speed); "
                        "transfer: the committed models' force error on a large quench against KPM "
                        "(holstein.bench.transfer.transfer_check)")
    b.add_argument("--profile", help=prof_help)
    b.add_argument("--L", "--Ls", dest="L", type=int_at_least(2), nargs="+",
                   help=f"lattice sizes (ed: default the profile's bench_L; speed: KPM and models, default "
                        f"{dflt(D.Ls)}; transfer: default 200)")
    b.add_argument("--repeats", type=positive, help=f"ed: timed calls per size (default 5); speed: the most timed calls "
                                                f"per point (default {D.repeats}, {T.repeats} with --tiny)")
    b.add_argument("--device", default="cpu", type=device)
    b.add_argument("--seed", type=non_negative, default=0)
    b.add_argument("--out", help="output JSON (default holstein/artifacts/bench/ed.json, speed.json or "
                                 "transfer_L<L>.json: every benchmark result lives in holstein/artifacts/bench/)")
    sp = b.add_argument_group("speed")
    sp.add_argument("--tiny", action="store_true", help="everything at minimal sizes, in seconds (a smoke test)")
    sp.add_argument("--ed-L", type=positive, nargs="+", help=f"ED sizes (default {dflt(D.ed_Ls)})")
    sp.add_argument("--models", nargs="+", help=f"registered models (default {dflt(D.models)}; transfer: the "
                                                 "lean models with committed weights, or [LABEL=]run folders / .pt files)")
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
