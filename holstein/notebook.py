"""Support for the book's notebooks: setup, and the datasets and trained models of a profile.

At the ``book`` and ``paper`` profiles the notebooks reuse what the package's own CLI produced
and committed under ``holstein/artifacts/`` (each artifact records the command that made it);
if an artifact is missing it is made here, resumably, under ``$HOLSTEIN_CACHE`` (default
``runs/``). At the ``ci`` profile everything is recomputed small.
"""
from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path

import numpy as np
import torch

from . import data, train
from .params import PAPER
from .profiles import Profile, get_profile

__all__ = ["setup", "dataset", "trained_model", "ARTIFACTS", "cache_dir"]

ARTIFACTS = Path(__file__).parent / "artifacts"


def cache_dir() -> Path:
    path = Path(os.environ.get("HOLSTEIN_CACHE", "runs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def dataset_path(prof: Profile) -> Path:
    return ARTIFACTS / "data" / f"ed_L{prof.L_ed}_{prof.name}.npz"


def dataset(prof: Profile | None = None, progress: bool = True) -> data.Dataset:
    """The ED dataset of a profile: the committed artifact if there is one, else generated (cached)."""
    prof = prof or get_profile()
    committed = dataset_path(prof)
    if committed.exists():
        return data.load(committed)
    path = cache_dir() / committed.name
    if path.exists():
        return data.load(path)
    return data.generate(path, L=prof.L_ed, p=PAPER, n_random=prof.n_random, n_quench=prof.n_quench,
                         quench_runs=prof.quench_runs, quench_every=prof.quench_every, seed=0, progress=progress,
                         command=f"python -m holstein generate --profile {prof.name} --out {path}")


#: Training recipes used by the book (and by `python -m holstein train`). The reference models
#: follow the reference work (total force; the energy GNN with lr 1e-4 and 1000 × MSE). The lean
#: models learn only the electronic force g(n_i - 1/2) (the elastic force is exact) and see one
#: global number: the direct-force ones Q - median(Q), the atomic-limit estimate of μ, and the
#: energy model Q - mean(Q), which makes its electronic forces sum to zero exactly, as
#: Σ_i (n_i - 1/2) = 0 at half filling. Chapter 6 and holstein/artifacts/README.md give the numbers.
RECIPES = {
    "bp_mlp": dict(model_config={}, loss_scale=1.0, reference=True),
    "gcn": dict(model_config={}, loss_scale=1.0, reference=True),
    "energy_gnn": dict(model_config={}, loss_scale=1000.0, lr=1e-4, reference=True),
    "bp_mlp_lean": dict(model_config=dict(target="electronic", center="median"), loss_scale=1.0),
    "gcn_lean": dict(model_config=dict(target="electronic", center="median"), loss_scale=1.0),
    "gcn_lean_mu": dict(model_config=dict(center="median"), loss_scale=1.0),
    "energy_gnn_lean": dict(model_config=dict(target="electronic", center="mean"), loss_scale=1.0),
}


def train_config(name: str, prof: Profile, device: str = "cpu", **overrides) -> train.TrainConfig:
    r = dict(RECIPES[name])
    reference = r.pop("reference", False)
    r.setdefault("epochs", prof.epochs_reference if reference else prof.epochs)
    if reference:
        r.setdefault("max_train", prof.reference_max_train)
    r.update(overrides)
    return train.TrainConfig(model=name, device=device, **r)


def trained_model(name: str, prof: Profile | None = None, device: str = "cpu", ds: data.Dataset | None = None,
                  progress: bool = True):
    """(model, checkpoint) for ``name`` at a profile: the committed weights if present, else trained now.

    The checkpoint's ``history`` is the full training history (all epochs, not only up to the best).
    """
    prof = prof or get_profile()
    ds = ds or dataset(prof)
    out = ARTIFACTS / "models" / f"{name}_L{ds.L}"
    if not (out / "best.pt").exists():
        out = cache_dir() / f"{name}_{prof.name}_L{ds.L}"
        if not (out / "history.json").exists():  # written when a training run completes
            train.train(train_config(name, prof, device=device), ds, out, resume=True, progress=progress)
    model, ck = train.load_checkpoint(out / "best.pt", device=device, dataset=ds)
    if (out / "history.json").exists():
        ck["history"] = json.loads((out / "history.json").read_text())
    return model, ck


def force_function(name: str, p=PAPER, prof: Profile | None = None, device: str = "cpu"):
    """``force_fn(Q) -> F`` for 'ed' or for a trained model name (loaded/trained for the profile)."""
    from . import ed

    if name == "ed":
        return lambda Q: ed.forces(Q, p)
    model, _ = trained_model(name, prof, device=device)

    def fn(Q):
        with torch.set_grad_enabled(model.energy_based):
            return model(Q).detach()

    return fn


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
    path = cache_dir() / f"quench_{name}_{prof.name}_L{L}_n{n_steps}_e{every}_kT{kT:g}_s{seed}.npz"
    run = coarsening.run_quenches(force_function(name, p, prof, device), L, n_steps, every, seeds=[seed], p=p,
                                  device=device, path=path, progress=progress)
    return dict(time=run["time"], Q=run["Q"][:, 0])


def benchmark(name: str) -> dict | None:
    """The committed benchmark result ``benchmarks/<name>.json`` of the repository, or None (with a
    note saying how to make it) where the package was installed without the repository."""
    from .bench import BENCHMARKS

    path = BENCHMARKS / f"{name}.json"
    if not path.exists():
        print(f"{path} is not here (installed without the repository?); make it with the command "
              "in the README's benchmark table")
        return None
    return json.loads(path.read_text())
