"""Time one complete Langevin step (force, integrator, noise, the global μ solve) of the best lean
model on a 200×200 lattice, against the machine's float32 GEMM limit, for 1 and 2 threads.

    python benchmarks/step_L200.py [--label after]     # -> holstein/artifacts/bench/step_L200.json

Standalone on purpose, so that the same script times an older checkout:
``PYTHONPATH=<old checkout> python benchmarks/step_L200.py --label before``. The package timed is
the one on the path; the timer and the machine record are always this checkout's
(``holstein/bench/timing.py``, loaded from beside this script: it needs torch only), and so is the
output file, where each ``--label`` is one entry. The force is ``holstein.load_force`` where the
timed checkout has it, else the model loaded as the checkouts before ``holstein.force`` did.
The float32 model drives float64 dynamics ("float32") or the model runs in float64 ("float64").
Valid only on an idle machine: the ``machine`` record holds the load average before and after.
"""
import argparse
import importlib.util
import json
import sys
from pathlib import Path

import torch

import holstein
from holstein import PAPER, dynamics

ROOT = Path(__file__).resolve().parents[1]  # this checkout (the timed one may be another)
MODEL = "gcn_lean_mu_L24_extra"


def _timing():
    """This checkout's holstein/bench/timing.py, whatever holstein is on the path."""
    spec = importlib.util.spec_from_file_location("_step_L200_timing", ROOT / "holstein/bench/timing.py")
    mod = sys.modules[spec.name] = importlib.util.module_from_spec(spec)  # registered: its dataclass needs it
    spec.loader.exec_module(mod)
    return mod


def _has_load_force() -> bool:
    """Whether the timed checkout has holstein.force: its file (an editable install's finder would answer
    the import from this checkout) and an import that works."""
    if not (Path(holstein.__file__).parent / "force.py").exists():
        return False
    try:
        importlib.import_module("holstein.force")
    except ImportError:
        return False
    return True


def load(precision: str):
    """(force, what it is) of MODEL in the timed checkout: ``load_force``, or (older checkouts) its weights."""
    if not _has_load_force():  # a checkout before holstein.force: the model itself
        from holstein import train

        model = train.load_model(Path(holstein.__file__).parent / f"artifacts/models/{MODEL}/best.pt")
        model = model.to(torch.float32 if precision == "float32" else torch.float64)

        def fn(Q):
            with torch.inference_mode():
                return model(Q)
        return fn, f"{MODEL} weights, {precision} (before holstein.force)"
    from holstein.force import load_force

    force = load_force(MODEL, PAPER, precision=precision)
    return force, force.id


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "holstein/artifacts/bench/step_L200.json"))
    ap.add_argument("--label", default="after")
    ap.add_argument("--L", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--gemm", type=int, default=4096, help="size n of the float32 n×n GEMM of the limit (default 4096)")
    args = ap.parse_args(argv)
    timing = _timing()
    rows = []
    with timing.machine_record("cpu") as machine:
        for threads in args.threads:
            torch.set_num_threads(threads)
            a, b = torch.randn(args.gemm, args.gemm), torch.randn(args.gemm, args.gemm)
            gemm = 2 * args.gemm**3 / timing.measure(lambda: a @ b, 5)["t_min_s"] / 1e9
            for precision in ("float32", "float64"):
                fn, force = load(precision)
                Q0, V0 = dynamics.hot_start(args.L, PAPER, seed=1)
                state = dynamics.init(Q0, fn, PAPER, V0=V0, seed=1)
                step = timing.measure(lambda: dynamics.step(state, fn, PAPER), args.repeats)
                t_force = timing.measure(lambda: fn(Q0), args.repeats)["t_min_s"]
                macs = 17352  # gcn_lean_mu, MACs per site (models.cost.macs_per_site)
                gflops = 2 * macs * args.L**2 / t_force / 1e9
                rows.append(dict(threads=threads, model_dtype=precision, force=force, t_step_s=step["t_min_s"],
                                 t_step_median_s=step["t_s"], t_force_s=t_force, site_steps_per_s=args.L**2 / step["t_min_s"],
                                 force_gflops=gflops, gemm_float32_gflops=gemm, force_pct_of_gemm=100 * gflops / gemm))
                print(rows[-1], flush=True)
    res = dict(benchmark="lean_step_L200", label=args.label, L=args.L, model=MODEL,
               package=str(Path(holstein.__file__).parent), machine=machine, results=rows,
               command="python benchmarks/step_L200.py " + " ".join(sys.argv[1:] if argv is None else argv))
    out = Path(args.out)
    old = json.loads(out.read_text()) if out.exists() else {}
    old[args.label] = res
    out.write_text(json.dumps(old, indent=1) + "\n")
    print(f"wrote {out} [{args.label}]")
    return res


if __name__ == "__main__":
    main()
