"""``python -m holstein coarsen``: the large coarsening experiment at several temperatures with the
quench engine (:func:`holstein.quench.run`), resumable and extendable; ``--analyse DIR`` for α(T),
``--merge DIR DIR ... --out OUT`` to join runs of disjoint seeds."""
from __future__ import annotations

import sys
from pathlib import Path

from .common import COUPLING, add_coupling, add_lattice, add_threads, device, int_at_least, non_negative, params_from
from .common import positive, set_threads

__all__ = ["cmd_coarsen", "add_parser", "add_series", "series_seeds"]


def add_series(p, replicas: int, analyse: str) -> None:
    """The options of a temperature series of batched quenches (``coarsen``, ``sweep``)."""
    p.add_argument("--kT", type=float, nargs="+", help="bath temperatures (one run each, in this order)")
    p.add_argument("--replicas", type=positive, default=replicas, help="replicas per temperature (seeds SEED, "
                                                                       "SEED+1, ...)")
    p.add_argument("--seed", type=non_negative, default=0, help="first replica seed")
    p.add_argument("--steps", type=non_negative, help="total steps (a finished shorter run is extended)")
    p.add_argument("--every", type=positive, default=100, help="steps between recorded observables")
    p.add_argument("--scheme", choices=["vv_ou", "baoab"], default="vv_ou")
    add_coupling(p)
    add_lattice(p)
    p.add_argument("--analyse", "--analyze", metavar="DIR", help=analyse)


def series_seeds(args, command: str) -> list[int]:
    """The replica seeds of a series; a ValueError names the options it lacks."""
    missing = [f"--{k}" for k in ("kT", "steps", "out") if getattr(args, k) is None]
    if missing:
        raise ValueError(f"{command} needs {', '.join(missing)} (or --analyse DIR)")
    return list(range(args.seed, args.seed + args.replicas))


def _runs(out) -> list[Path]:
    runs = sorted(Path(out).glob("kT*.npz"))
    if not runs:
        raise ValueError(f"{out} holds no finished runs (kT*.npz)")
    return runs


def _analyse(out, command: str = "") -> int:
    """α(T) of every run in ``out``; an unfinished temperature (a checkpoint without a result) or an
    incomplete one (a blow-up) is named, and left out of the fit or marked, never silently."""
    from .. import quench
    from ..files import write_json

    runs = _runs(out)
    loaded = {ident["kT"]: (ident, res) for ident, res in map(quench.load, runs)}
    unfinished = sorted(f.name for f in Path(out).glob("kT*.ckpt") if not quench.files(f)[0].exists())
    rows = quench.analyse({kT: res for kT, (_, res) in loaded.items()})
    for kT, r in rows.items():
        r["complete"] = bool(loaded[kT][1]["complete"])
        print(f"kT = {kT:<5g} alpha = {r['alpha']:.3f} ± {r['alpha_err']:.3f} (jackknife over {r['n_replicas']} "
              f"replicas) in t ∈ [{r['t_min']:g}, {r['t_max']:g}]; L grew {r['growth_factor']:.2f}x there; "
              f"collapse spread {r['collapse']:.3f}" + ("" if r["complete"] else " (INCOMPLETE: the run blew up)"))
    for name in unfinished:
        print(f"{name}: unfinished (no result yet): left out; rerun its coarsen command to finish it")
    path = write_json(quench.jsonable(dict(command=command, runs=[str(r) for r in runs], unfinished=unfinished,
                                     results={str(k): v for k, v in rows.items()})), Path(out) / "analysis.json")
    print(f"wrote {path}")
    return 0


def _merge(dirs, out, command: str = "") -> int:
    """``--merge DIR DIR ... --out OUT``: each temperature's runs of the DIRs as one run in OUT (a new folder,
    or one of merged runs only: never one of the parts)."""
    from .. import quench
    from ..files import check_writable

    if out is None:
        raise ValueError("coarsen --merge needs --out (the folder of the merged runs)")
    target_dir = Path(out).resolve()
    if any(Path(d).resolve() == target_dir for d in dirs):
        raise ValueError(f"--out {out} is one of the merged folders: the merge would replace a part; give a new folder")
    names = [f.name for f in _runs(dirs[0])]
    Path(out).mkdir(parents=True, exist_ok=True)
    for name in names:
        parts = [Path(d) / name for d in dirs]
        missing = [str(f) for f in parts if not f.exists()]
        if missing:
            raise ValueError(f"no {name} in {', '.join(str(Path(m).parent) for m in missing)}")
        target = check_writable(Path(out) / name, "--out")
        if quench.files(target)[1].exists():
            raise ValueError(f"{target} is an extendable run (it has {quench.files(target)[1].name}), not a merged "
                             "one; give a new folder")
        ident, res = quench.merge([quench.load(f) for f in parts], target, command)
        print(f"{target}: {len(ident['seeds'])} replicas (seeds {ident['seeds'][0]}-{ident['seeds'][-1]}), "
              f"steps {int(res['step'][0])}-{int(res['step'][-1])}")
    return 0


def cmd_coarsen(args) -> int:
    """``coarsen``: B replicas per temperature as one batch. A blow-up keeps the records up to it
    (marked incomplete), the other temperatures still run, and the exit status is 3."""
    from .. import catalog, dynamics, quench
    from ..force import load_force

    if args.analyse:
        return _analyse(args.analyse, args.command_line)
    if args.merge:
        return _merge(args.merge, args.out, args.command_line)
    seeds = series_seeds(args, "coarsen")
    set_threads(args)
    model = catalog.best_model() if args.model == "best" else args.model
    p = params_from(args, COUPLING + ("lattice",))
    precision = args.precision or ("float64" if model in ("ed", "kpm") else "float32")
    forces = {kT: load_force(model, p.replace(kT=kT), precision, args.device) for kT in args.kT}  # refusals first
    failed = 0
    for kT, force in forces.items():
        path = quench.run_path(args.out, kT)
        try:
            ident, res = quench.run(force, args.L, seeds, p.replace(kT=kT), args.steps, args.every, path,
                                    scheme=args.scheme, phi_replicas=args.phi_replicas,
                                    phi_steps=quench.default_phi_steps(args.steps, args.every)
                                    if args.phi_steps is None else args.phi_steps,
                                    checkpoint_every=args.checkpoint_every, device=args.device,
                                    command=args.command_line, desc=f"coarsen L={args.L} kT={kT:g} B={len(seeds)}")
        except dynamics.BlowUpError as e:
            failed += 1
            print(f"error: kT = {kT:g}: {e}\nkept the {len(e.result[1]['step'])} recorded times before it in {path} "
                  "(marked incomplete: complete=False); going on with the other temperatures", file=sys.stderr)
            continue
        state = "" if bool(res["complete"]) else " (INCOMPLETE: it blew up before; see its file)"
        failed += not bool(res["complete"])
        print(f"kT = {kT:g}: {res['step'][-1]} steps of {len(seeds)} replicas on {args.L}x{args.L} with {model} "
              f"({res['wall_s']:.0f} s); {path}{state}")
    return 3 if failed else 0


def add_parser(sub, prof_help: str) -> None:
    c = sub.add_parser("coarsen", help="the large coarsening experiment: batched quenches at several temperatures "
                                       "keeping compact observables (resumable, extendable), or --analyse DIR")
    c.add_argument("--model", default="best", help="'best' (the committed model with the smallest held-out quench "
                                                   "error), a committed model, a checkpoint (.pt), 'ed' or 'kpm'")
    c.add_argument("--L", type=int_at_least(2), default=200, help="lattice size, even")
    add_series(c, 4, "alpha(T), growth factors and collapse of DIR's runs")
    c.add_argument("--checkpoint-every", type=positive,
                   help="steps between checkpoints (default: the largest multiple of --every up to 1000)")
    c.add_argument("--phi-replicas", type=non_negative, default=2, help="replicas whose float16 phi maps are kept")
    c.add_argument("--phi-steps", type=non_negative, nargs="+",
                   help="steps whose phi maps are kept, rounded to recorded ones (default: 8 log-spaced, 600, 20000)")
    c.add_argument("--precision", choices=["float32", "float64"],
                   help="model arithmetic (default float32 for models, float64 for ED; the dynamics stay float64)")
    add_threads(c)
    c.add_argument("--device", default="cpu", type=device)
    c.add_argument("--out", help="output folder: kT<kT>.npz results, .state.pt final states, .ckpt checkpoints")
    c.add_argument("--merge", nargs="+", metavar="DIR", help="join the replicas of the same runs (disjoint seeds) "
                                                            "of these folders into --out (a new folder)")
    c.set_defaults(func=cmd_coarsen)
