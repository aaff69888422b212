"""Support for the book's notebooks: setup, a cached quench, and tables.

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

__all__ = ["setup", "quench", "markdown_table"]


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
