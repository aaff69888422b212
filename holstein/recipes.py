"""Recipes: how each artifact is made, and the one load-or-make. The only reader of the profiles.

Each recipe returns the committed artifact where :mod:`holstein.catalog` has it (verified), else
makes it at the profile's sizes, resumably, under :func:`cache_dir`: :func:`dataset` (``generate``),
:func:`trained_dir` and :func:`trained_model` (``train`` with :data:`holstein.train.RECIPES`),
:func:`coarsening_runs` and :func:`fresh_quenches` (``coarsen``). Forces come from
:func:`holstein.load_force` (:func:`series_force` for a temperature series).
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from . import data, train
from . import catalog
from .models.checkpoint import load_checkpoint
from .params import PAPER
from .profiles import Profile, get_profile

__all__ = ["cache_dir", "dataset", "trained_dir", "trained_model", "series_force", "coarsening_runs",
           "fresh_quenches"]


def cache_dir() -> Path:
    """``$HOLSTEIN_CACHE`` (default ``runs/``), created."""
    path = Path(os.environ.get("HOLSTEIN_CACHE", "runs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dataset(prof: Profile | None = None, progress: bool = True) -> data.Dataset:
    """The ED dataset of a profile: the committed one, else generated (cached); ``ds.meta["path"]`` is
    the file loaded."""
    prof = prof or get_profile()
    committed = catalog.dataset_path(prof.L_ed, prof.name)
    path = committed if committed.exists() else cache_dir() / committed.name
    if path.exists():
        ds = data.load(path)
    else:
        ds = data.generate(path, L=prof.L_ed, p=PAPER, n_random=prof.n_random, n_quench=prof.n_quench,
                           quench_runs=prof.quench_runs, quench_every=prof.quench_every, seed=0, progress=progress,
                           command=f"python -m holstein generate --profile {prof.name} --out {path}")
    ds.meta["path"] = str(path)
    return ds


def trained_dir(name: str, prof: Profile | None = None, device: str = "cpu", ds: data.Dataset | None = None,
                progress: bool = True) -> Path:
    """The folder of ``best.pt`` and ``history.json`` of ``name`` (a registered name at the dataset's L,
    or a committed folder name): the committed one, else trained now under :func:`cache_dir`."""
    prof = prof or get_profile()
    ds = ds or dataset(prof)
    out = catalog.committed_dir(name, ds.L)
    if out is None:
        out = cache_dir() / f"{name}_{prof.name}_L{ds.L}"
        if not (out / "history.json").exists():  # written when a training run completes
            train.train(train.train_config(name, prof, device=device), ds, out, resume=True, progress=progress)
    return out


def trained_model(name: str, prof: Profile | None = None, device: str = "cpu", ds: data.Dataset | None = None,
                  progress: bool = True):
    """(model, checkpoint) of :func:`trained_dir`, the checkpoint's ``history`` the full one."""
    ds = ds or dataset(prof or get_profile())
    out = trained_dir(name, prof, device, ds, progress)
    model, ck = load_checkpoint(out / "best.pt", device=device, dataset=ds)
    if (out / "history.json").exists():
        ck["history"] = json.loads((out / "history.json").read_text())
    return model, ck


def series_force(name: str, prof: Profile, device: str):
    """The force of a temperature series made now: ``name`` where it is valid at every profile
    temperature; else ED where the profile's L_large fits its memory budget (at the ci size);
    else ``name`` at the temperatures it is valid for. Returns ``({kT: Force}, note)``."""
    from . import ed
    from .force import load_force

    forces, refused = {}, []
    for kT in prof.temperatures:
        try:
            forces[kT] = load_force(name, PAPER.replace(kT=kT), "float32", device)
        except ValueError as e:
            refused.append(str(e))
    if not refused:
        return forces, None
    try:
        ed.check_memory(prof.L_large, prof.large_replicas)
        return ({kT: load_force("ed", PAPER.replace(kT=kT), device=device) for kT in prof.temperatures},
                f"ED at every temperature ({refused[0]})")
    except ValueError:
        return forces, f"{name} at kT = {list(forces)} only ({refused[0]})"


def coarsening_runs(prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """``{kT: (identity, result)}`` of the large coarsening experiment at the profile's temperatures:
    the committed runs (:data:`catalog.COARSENING`) where the profile says so and all exist, else run
    now at the profile's ``large_*`` sizes (cached) with :func:`series_force` of the best model."""
    from . import quench

    prof = prof or get_profile()
    paths = {kT: quench.run_path(catalog.COARSENING, kT) for kT in prof.temperatures}
    if prof.large_committed and all(p.exists() for p in paths.values()):
        return {kT: quench.load(p) for kT, p in paths.items()}
    forces, note = series_force(catalog.best_model(), prof, device)
    if note:
        print(f"coarsening_runs: {note}")
    runs = {}
    for kT, force in forces.items():
        out = cache_dir() / f"coarsen_{force.name}_{prof.name}"
        runs[kT] = quench.run(force, prof.L_large, list(range(prof.large_replicas)), PAPER.replace(kT=kT),
                              prof.large_steps, prof.large_every, quench.run_path(out, kT),
                              phi_steps=quench.default_phi_steps(prof.large_steps, prof.large_every), device=device,
                              progress=progress, command=f"holstein.recipes.coarsening_runs(profile {prof.name!r})")
    return runs


def fresh_quenches(prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """``{force: (identity, result)}``: paired ED and ML quenches at kT = 0.1 on ``L_ed`` from hot starts
    no dataset used (``fresh_*`` of the profile): the committed runs (:data:`catalog.ED_VS_ML`, made by
    ``coarsen``) where the profile says so, else run now (cached) for ED and every T-blind lean recipe
    (models in float32, trained at the profile if none is committed).
    """
    from . import quench
    from .force import load_force

    prof = prof or get_profile()
    kT, seeds = PAPER.kT, list(range(prof.fresh_seed, prof.fresh_seed + prof.fresh_replicas))
    root = catalog.ED_VS_ML / f"L{prof.L_ed}"
    if prof.fresh_committed and quench.run_path(root / "ed", kT).exists():
        runs = {d.name: quench.load(quench.run_path(d, kT)) for d in sorted(root.iterdir())
                if quench.run_path(d, kT).exists()}
        runs = dict(ed=runs.pop("ed"), **runs)
        for name, (ident, res) in runs.items():  # the committed runs are the profile's, or none is used
            if (ident["seeds"] != seeds or int(res["step"][-1]) < prof.fresh_steps
                    or ident["every"] != prof.fresh_every):
                raise ValueError(f"the committed run {root / name} ({len(ident['seeds'])} replicas from seed "
                                 f"{ident['seeds'][0]}, {int(res['step'][-1])} steps every {ident['every']}) is not "
                                 f"the profile's (fresh_* of {prof.name!r}); remake it or set fresh_committed=False")
        return runs
    out = cache_dir() / f"fresh_{prof.name}_L{prof.L_ed}"
    phi_steps = sorted({prof.fresh_every, *prof.fresh_compare, prof.fresh_steps})  # the maps chapter 7 shows
    runs = {}
    for name in ["ed"] + [n for n in train.RECIPES if "_lean" in n and not n.endswith("_T")]:  # T-blind, at kT = 0.1
        if name == "ed":
            force = load_force("ed", PAPER, device=device)
        else:
            force = load_force(str(trained_dir(name, prof, device, progress=progress) / "best.pt"), PAPER, "float32",
                               device)
        runs[name] = quench.run(force, prof.L_ed, seeds, PAPER, prof.fresh_steps, prof.fresh_every,
                                quench.run_path(out / name, kT), phi_steps=phi_steps, device=device, progress=progress,
                                command=f"holstein.recipes.fresh_quenches(profile {prof.name!r})")
    return runs
