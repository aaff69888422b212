"""Where the committed results live, and load-or-make for the datasets and trained models.

Every artifact under ``holstein/artifacts/`` (the folder beside this module) records the
command that made it. The command line writes to these same paths by default, so
what ``python -m holstein generate/train/bench`` makes is what the book reads:

    data/ed_L<L>_<profile>.npz        ED datasets                 (``generate``)
    models/<model>_L<L>[_<tag>]/      weights, metrics, history   (``train``)
    reference/<model>_L<L>/           metrics, history, held-out predictions of a run without its weights
    bench/*.json, bench/*.png         every benchmark result: ED cost, speed, KPM accuracy, transfer, ...
                                      (:data:`BENCHMARKS`; ``bench ed/speed/transfer``, ``benchmarks/*.py``)
    coarsening/L200/kT<kT>.npz        the 200x200 coarsening runs (``coarsen``; :mod:`holstein.quench` store)
    ed_vs_ml/L<L>/<force>/kT0.1.npz   ED and ML quenches from fresh hot starts (``coarsen``)

If an artifact is missing (e.g. at the ``ci`` profile) it is made here, resumably, under
:func:`cache_dir` (``$HOLSTEIN_CACHE``, default ``runs/``).
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import data, train
from .params import PAPER
from .profiles import Profile, get_profile

__all__ = ["ARTIFACTS", "BENCHMARKS", "cache_dir", "dataset_path", "dataset", "model_dir",
           "committed_dir", "committed_models", "best_model", "trained_model", "force_fn", "benchmark", "COARSENING", "coarsening_runs", "ED_VS_ML", "trained_dir", "fresh_quenches", "REFERENCE", "ReferenceRun",
           "reference_run"]

ARTIFACTS = Path(__file__).parent / "artifacts"
#: The one root of every benchmark result (JSON, PNG), inside the package so that an installed
#: package has them; read them with :func:`benchmark`. The scripts live in ``<repository>/benchmarks/``.
BENCHMARKS = ARTIFACTS / "bench"
COARSENING = ARTIFACTS / "coarsening" / "L200"
ED_VS_ML = ARTIFACTS / "ed_vs_ml"
REFERENCE = ARTIFACTS / "reference"
REFERENCE_FILES = ("metrics.json", "history.json", "heldout.npz")


def cache_dir() -> Path:
    """``$HOLSTEIN_CACHE`` (default ``runs/``), created."""
    path = Path(os.environ.get("HOLSTEIN_CACHE", "runs"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def dataset_path(L: int, profile: str) -> Path:
    """The committed path of the ED dataset of a profile and lattice."""
    return ARTIFACTS / "data" / f"ed_L{L}_{profile}.npz"


def dataset(prof: Profile | None = None, progress: bool = True) -> data.Dataset:
    """The ED dataset of a profile: the committed artifact if there is one, else generated (cached).

    ``ds.meta["path"]`` is the file actually loaded.
    """
    prof = prof or get_profile()
    committed = dataset_path(prof.L_ed, prof.name)
    path = committed if committed.exists() else cache_dir() / committed.name
    if path.exists():
        ds = data.load(path)
    else:
        ds = data.generate(path, L=prof.L_ed, p=PAPER, n_random=prof.n_random, n_quench=prof.n_quench,
                           quench_runs=prof.quench_runs, quench_every=prof.quench_every, seed=0, progress=progress,
                           command=f"python -m holstein generate --profile {prof.name} --out {path}")
    ds.meta["path"] = str(path)
    return ds


def model_dir(name: str, L: int, tag: str = "") -> Path:
    """The committed folder of a trained model: ``models/<name>_L<L>`` (+ ``_<tag>``)."""
    return ARTIFACTS / "models" / (f"{name}_L{L}" + (f"_{tag}" if tag else ""))


def committed_dir(name: str, L: int) -> Path | None:
    """The committed folder holding ``best.pt`` of ``name`` (a registered name at lattice L, or a folder
    name under ``models/``), or None when nothing is committed for it."""
    return next((d for d in (model_dir(name, L), ARTIFACTS / "models" / name) if (d / "best.pt").exists()), None)


def committed_models() -> dict[str, dict]:
    """{folder name: its metrics.json} of every committed model."""
    out = {}
    for m in sorted((ARTIFACTS / "models").glob("*/metrics.json")):
        out[m.parent.name] = json.loads(m.read_text())
    return out


def best_model(kind: str = "quench") -> str:
    """The committed model (folder name) with the smallest held-out RMSE/std on ``kind`` snapshots."""
    scores = {k: v["metrics"][kind]["rmse_over_std"] for k, v in committed_models().items() if kind in v["metrics"]}
    if not scores:
        raise ValueError(f"no committed model has held-out metrics for {kind!r} snapshots")
    return min(scores, key=scores.get)


def trained_dir(name: str, prof: Profile | None = None, device: str = "cpu", ds: data.Dataset | None = None,
                progress: bool = True) -> Path:
    """The folder holding ``best.pt`` (and ``history.json``) of ``name`` at a profile: the committed
    one if present (a registered name at the dataset's L, or a committed folder name), else one
    trained now under :func:`cache_dir` (cached, resumable)."""
    prof = prof or get_profile()
    ds = ds or dataset(prof)
    out = committed_dir(name, ds.L)
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
    model, ck = train.load_checkpoint(out / "best.pt", device=device, dataset=ds)
    if (out / "history.json").exists():
        ck["history"] = json.loads((out / "history.json").read_text())
    return model, ck


@dataclass(frozen=True)
class ReferenceRun:
    """A training run committed without its weights (``reference/<name>_L<L>/``, made by ``train``).

    ``metrics``: its ``metrics.json`` (:func:`holstein.train.save_metrics`: ``metrics`` by kind all /
    random / quench, ``parameters``, ``config``, ``epochs_run``, ``train_seconds``, ``command``, ...);
    ``history``: its ``history.json``, lists per epoch of ``epoch``, ``train_loss``, ``val_loss``,
    ``val_rmse`` (t per unit Q), ``lr`` and ``seconds`` (wall time of that epoch);
    ``heldout``: the arrays of its ``heldout.npz`` (:func:`holstein.train.save_heldout`): ``index``
    (n,), ``kind`` (n,), ``F`` and ``F_pred`` (n, L, L) float32.
    """

    name: str
    path: Path
    metrics: dict
    history: dict
    heldout: dict


def reference_run(name: str, ds: data.Dataset) -> ReferenceRun | None:
    """The committed run of model ``name`` on dataset ``ds`` (folder ``REFERENCE / f"{name}_L{ds.L}"``),
    or None when none is committed. A ValueError when the folder lacks one of its three files, or
    when the run belongs to another dataset (its ``dataset_sha256`` is not ``ds.sha256``), another
    model, or another held-out set: the numbers of another dataset are never shown silently."""
    path = REFERENCE / f"{name}_L{ds.L}"
    if not path.is_dir():
        return None
    missing = [f for f in REFERENCE_FILES if not (path / f).exists()]
    if missing:
        raise ValueError(f"{path} is an incomplete committed run: {', '.join(missing)} missing (commit "
                         f"{', '.join(REFERENCE_FILES)} of the run)")
    metrics = json.loads((path / "metrics.json").read_text())
    with np.load(path / "heldout.npz") as f:
        heldout = {k: f[k] for k in f.files}
    for what, sha in (("metrics.json", metrics.get("dataset_sha256")), ("heldout.npz", str(heldout["dataset_sha256"]))):
        if sha != ds.sha256:
            raise ValueError(f"{path / what} belongs to dataset {str(sha)[:12]}…, not to "
                             f"{ds.meta.get('path', 'this one')} ({ds.sha256[:12]}…); retrain it on this dataset "
                             f"(its command: {metrics.get('command')})")
    if metrics.get("model") != name:
        raise ValueError(f"{path / 'metrics.json'} is a run of {metrics.get('model')!r}, not of {name!r}")
    if not np.array_equal(heldout["index"], ds.split()[1]):
        raise ValueError(f"{path / 'heldout.npz'} holds other snapshots than the held-out set of this dataset")
    heldout.pop("dataset_sha256")
    return ReferenceRun(name, path, metrics, json.loads((path / "history.json").read_text()), heldout)


def force_fn(name: str, p=PAPER, prof: Profile | None = None, device: str = "cpu"):
    """``Q -> F`` for ``"ed"`` (with parameters ``p``) or a trained model (:meth:`ForceModel.as_force_fn`)."""
    if name == "ed":
        from . import ed

        return lambda Q: ed.forces(Q, p)
    model, _ = trained_model(name, prof, device=device)
    return model.as_force_fn()


def benchmark(name: str) -> dict | None:
    """The committed benchmark result ``holstein/artifacts/bench/<name>.json`` (:data:`BENCHMARKS`),
    or None (with a note saying how to make it) where it is not there."""
    path = BENCHMARKS / f"{name}.json"
    if not path.exists():
        print(f"{path} is not here (installed without the repository?); make it with the command "
              "in the README's benchmark table")
        return None
    return json.loads(path.read_text())


def _series_force(name: str, prof: Profile, device: str):
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
    at the profile's temperatures: the committed runs (:data:`COARSENING`, made by ``coarsen``)
    where the profile says so and all exist, else run now at the profile's ``L_large``,
    ``large_steps``, ``large_every`` and ``large_replicas`` (cached and resumable under
    :func:`cache_dir`) with the best committed model in float32 where it is valid at every
    temperature, else with ED where L_large allows (the ci size: a T-blind model is valid at its
    training kT only), else with the model at the temperatures it is valid for (printed)."""
    from . import quench

    prof = prof or get_profile()
    paths = {kT: quench.run_path(COARSENING, kT) for kT in prof.temperatures}
    if prof.large_committed and all(p.exists() for p in paths.values()):
        return {kT: quench.load(p) for kT, p in paths.items()}
    forces, note = _series_force(best_model(), prof, device)
    if note:
        print(f"coarsening_runs: {note}")
    runs = {}
    for kT, force in forces.items():
        out = cache_dir() / f"coarsen_{force.name}_{prof.name}"
        runs[kT] = quench.run(force, prof.L_large, list(range(prof.large_replicas)), PAPER.replace(kT=kT),
                              prof.large_steps, prof.large_every, quench.run_path(out, kT),
                              phi_steps=quench.default_phi_steps(prof.large_steps, prof.large_every), device=device,
                              progress=progress, command=f"holstein.artifacts.coarsening_runs(profile {prof.name!r})")
    return runs


def fresh_quenches(prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """``{force: (identity, result)}``: ED and ML quenches at kT = 0.1 on the profile's ``L_ed``
    from hot starts that no dataset used (seeds ``fresh_seed …`` + ``fresh_replicas``), replica k
    of every force sharing its hot start and noise (:func:`holstein.quench.paired_differences`).

    Where the profile says so and an ED run is committed (:data:`ED_VS_ML`), the committed runs:
    ``"ed"`` and one per committed model, made by ``coarsen --model <force> --L <L_ed> --kT 0.1
    --replicas R --seed S --steps N --every E --phi-steps ... --out ed_vs_ml/L<L>/<force>``. Else run now (cached,
    resumable) for ED and every lean recipe, trained at the profile if none is committed; models in
    float32 (the ``coarsen`` default), ED in float64.
    """
    from . import quench
    from .force import load_force

    prof = prof or get_profile()
    kT, seeds = PAPER.kT, list(range(prof.fresh_seed, prof.fresh_seed + prof.fresh_replicas))
    root = ED_VS_ML / f"L{prof.L_ed}"
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
    for name in ["ed"] + [n for n in train.RECIPES if "_lean" in n]:
        if name == "ed":
            force = load_force("ed", PAPER, device=device)
        else:
            force = load_force(str(trained_dir(name, prof, device, progress=progress) / "best.pt"), PAPER, "float32",
                               device)
        runs[name] = quench.run(force, prof.L_ed, seeds, PAPER, prof.fresh_steps, prof.fresh_every,
                                quench.run_path(out / name, kT), phi_steps=phi_steps, device=device, progress=progress,
                                command=f"holstein.artifacts.fresh_quenches(profile {prof.name!r})")
    return runs
