"""Support for the book's notebooks: setup, trained models, a cached quench, and tables.

Paths, datasets and trained models of a profile live in :mod:`holstein.artifacts`; this module
only adds what a notebook cell needs on top of them.
"""
from __future__ import annotations

import random
import sys

import numpy as np
import torch

from . import artifacts
from .params import PAPER
from .profiles import Profile, get_profile

__all__ = ["setup", "quench", "markdown_table", "load_models", "held_out_metrics", "metrics_table",
           "benchmark_label"]


def setup(seed: int = 0) -> tuple[str, Profile]:
    """Seed everything, pick the device (cuda when present) and the profile; print both."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    prof = get_profile()
    import matplotlib.pyplot as plt

    try:  # inside a Jupyter kernel: draw figures inline even if MPLBACKEND says otherwise
        from IPython import get_ipython

        if get_ipython() is not None and hasattr(get_ipython(), "kernel"):
            get_ipython().run_line_magic("matplotlib", "inline")
    except ImportError:
        pass
    plt.rcParams.update({"figure.dpi": 100, "axes.grid": False, "figure.figsize": (6.4, 4.0)})
    where = "Colab" if "google.colab" in sys.modules else "local"
    print(f"profile: {prof.name} | device: {device} | {where}")
    return device, prof


def quench(name: str, L: int, n_steps: int, every: int, kT: float = PAPER.kT, seed: int = 0,
           prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """A Langevin quench from the reference hot start to ``kT`` with ED or a trained model.

    Returns ``dict(time (T,), Q (T, L, L))`` (numpy): the one-replica case of
    :func:`holstein.coarsening.run_quenches`, cached (and resumable) in :func:`cache_dir` so that
    chapters share it.
    """
    from . import coarsening

    prof = prof or get_profile()
    p = PAPER.replace(kT=kT)
    path = artifacts.cache_dir() / f"quench_{name}_{prof.name}_L{L}_n{n_steps}_e{every}_kT{kT:g}_s{seed}.npz"
    run = coarsening.run_quenches(artifacts.force_fn(name, p, prof, device), L, n_steps, every, seeds=[seed], p=p,
                                  device=device, path=path, progress=progress)
    return dict(time=run["time"], Q=run["Q"][:, 0])


def markdown_table(header, rows, align=None):
    """A Markdown table (an ``IPython.display.Markdown`` when IPython is present, else the text).

    ``header``: column titles; ``rows``: sequences of cells (str, or numbers shown with ``str``);
    ``align``: one of "l", "r" per column (default: left for the first, right for the others).
    """
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(map(str, r)) + " |" for r in [header, rule, *rows]]
    text = "\n".join(lines)
    try:
        from IPython.display import Markdown

        return Markdown(text)
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return text


def load_models(names, prof: Profile | None = None, device: str = "cpu", ds=None, report: bool = True) -> dict:
    """{name: (model, checkpoint)} of :func:`holstein.artifacts.trained_model` (committed weights, else
    trained now, cached). ``report`` prints a line per model: committed or trained here, the best
    epoch of how many, the learning rate, the loss scale (if not 1) and the time per epoch."""
    prof = prof or get_profile()
    ds = ds or artifacts.dataset(prof)
    out, width = {}, max(map(len, names), default=0)
    for name in names:
        committed = artifacts.committed_dir(name, ds.L) is not None
        model, ck = out[name] = artifacts.trained_model(name, prof, device, ds=ds)
        cfg = ck["train_config"]
        if report:
            scale = f"loss scale {cfg['loss_scale']:g}, " if cfg["loss_scale"] != 1 else ""
            print(f"{name:{width}s} {'committed weights' if committed else 'trained here':17s} best epoch "
                  f"{ck['epoch'] + 1} of {cfg['epochs']}, lr {cfg['lr']:g}, {scale}"
                  f"{np.mean(ck['history']['seconds']):.2g} s per epoch")
    return out


def held_out_metrics(trained: dict, ds) -> dict:
    """{name: :func:`holstein.train.evaluate` on the held-out test set} for {name: model or (model, ck)}."""
    from . import train

    return {name: train.evaluate(m[0] if isinstance(m, tuple) else m, ds) for name, m in trained.items()}


def metrics_table(results: dict, kinds=("all", "random", "quench")):
    """:func:`markdown_table` of held-out force errors (:func:`holstein.train.force_metrics` entries, as in
    :func:`held_out_metrics`): per model and kind of snapshot the count, RMSE, RMSE/std(F) and R²."""
    rows = []
    for name, res in results.items():
        for kind in kinds:
            r = res.get(kind)
            rows.append([f"`{name}`", kind] + (["0", "–", "–", "(none at this profile)"] if r is None else
                        [r["count"], f"{r['rmse']:.4f}", f"{r['rmse_over_std']:.3%}", f"{r['r2']:.4f}"]))
    return markdown_table(["model", "snapshots", "n", "RMSE", "RMSE/std(F)", "R²"], rows,
                          align=["l", "l", "r", "r", "r", "r"])


def benchmark_label(res: dict, name: str) -> str:
    """One line saying where the timings of the committed benchmark ``benchmarks/<name>.json``
    (``res``, as from :func:`holstein.artifacts.benchmark`) come from: the machine (GPU or CPU model,
    cores, torch threads, device, torch version), its load average when the benchmark started
    (``machine["loadavg"]`` or ``loadavg_before``; said so where the file records none) and the
    command that made it. Timings shown in the book carry this label; live ones say so instead."""
    m = res.get("machine", {})
    load = m.get("loadavg") or res.get("loadavg_before")
    load = (f"load average {', '.join(f'{x:.2f}' for x in load)} (1, 5, 15 min) when it started" if load
            else "load average not recorded in the file")
    return (f"committed timings (benchmarks/{name}.json): {m.get('gpu') or m.get('cpu_model') or m.get('processor', '?')}, "
            f"{m.get('cpu_count', '?')} cores, torch threads: {m.get('threads', '?')}, device "
            f"{m.get('device', '?')}, torch {m.get('torch', '?')}; {load}; made by `{res.get('command', '?')}`")
