"""Recipes: how each artifact is made, and the one load-or-make. The only reader of the profiles.

Each recipe returns the committed artifact where :mod:`holstein.catalog` has it (verified), else
makes it at the profile's sizes, resumably, under :func:`cache_dir` (``$HOLSTEIN_CACHE``, default
``runs/``), with the command that makes the committed one:

* :func:`dataset` — the profile's ED dataset (``generate``);
* :func:`trained_dir`, :func:`trained_model` — a model trained on it with its recipe
  (:data:`holstein.train.RECIPES`; ``train``);
* :func:`coarsening_runs` — the large coarsening experiment (``coarsen``);
* :func:`fresh_quenches` — ED and ML quenches from fresh hot starts (chapter 7; ``coarsen``).

Forces are never made here: :func:`holstein.load_force` resolves them, and refuses what they are
not valid for; a temperature series uses the force valid at every temperature (:func:`series_force`).
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
    """The ED dataset of a profile: the committed artifact if there is one, else generated (cached).

    ``ds.meta["path"]`` is the file actually loaded.
    """
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
    """The folder holding ``best.pt`` (and ``history.json``) of ``name`` at a profile: the committed
    one if present (a registered name at the dataset's L, or a committed folder name), else one
    trained now under :func:`cache_dir` (cached, resumable)."""
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
    """(model, checkpoint) of :func:`trained_dir`. The checkpoint's ``history`` is the full training
    history (all epochs, not only up to the best)."""
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

    refused = {}
    for kT in prof.temperatures:
        try:
            load_force(name, PAPER.replace(kT=kT), "float32", device)
        except ValueError as e:
            refused[kT] = str(e)
    if not refused:
        return {kT: load_force(name, PAPER.replace(kT=kT), "float32", device) for kT in prof.temperatures}, None
    why = next(iter(refused.values()))
    try:
        ed.check_memory(prof.L_large, prof.large_replicas)
        return ({kT: load_force("ed", PAPER.replace(kT=kT), device=device) for kT in prof.temperatures},
                f"ED at every temperature ({why})")
    except ValueError:
        keep = [kT for kT in prof.temperatures if kT not in refused]
        return ({kT: load_force(name, PAPER.replace(kT=kT), "float32", device) for kT in keep},
                f"{name} at kT = {keep} only ({why})")


def coarsening_runs(prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """``{kT: (identity, result)}`` of the large coarsening experiment (:func:`holstein.quench.run`)
    at the profile's temperatures: the committed runs (:data:`catalog.COARSENING`, made by ``coarsen``)
    where the profile says so and all exist, else run now at the profile's ``L_large``,
    ``large_steps``, ``large_every`` and ``large_replicas`` (cached and resumable under
    :func:`cache_dir`) with the best committed model in float32 where it is valid at every
    temperature, else with ED where L_large allows (the ci size: a T-blind model is valid at its
    training kT only), else with the model at the temperatures it is valid for (printed)."""
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
    """``{force: (identity, result)}``: ED and ML quenches at kT = 0.1 on the profile's ``L_ed``
    from hot starts that no dataset used (seeds ``fresh_seed …`` + ``fresh_replicas``), replica k
    of every force sharing its hot start and noise (:func:`holstein.quench.paired_differences`).

    Where the profile says so and an ED run is committed (:data:`catalog.ED_VS_ML`), the committed runs:
    ``"ed"`` and one per committed model, made by ``coarsen --model <force> --L <L_ed> --kT 0.1
    --replicas R --seed S --steps N --every E --phi-steps ... --out ed_vs_ml/L<L>/<force>``. Else run now (cached,
    resumable) for ED and every lean recipe, trained at the profile if none is committed; models in
    float32 (the ``coarsen`` default), ED in float64.
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
