"""The committed results: where they live, and readers that verify them. A reader never trains,
generates, runs or writes anything; what is missing is made by :mod:`holstein.recipes`.

Every artifact under ``holstein/artifacts/`` (the folder beside this module, shipped with the
package) records the command that made it:

    data/ed_L<L>_<profile>.npz        ED datasets                 (``generate``)
    data/kT/ed_L24_kT<kT>.npz         the ED temperature grid     (``generate --kT``)
    models/<model>_L<L>[_<tag>]/      weights, metrics, history   (``train``)
    L40/<model>_L40[_L24]/            the models trained on the 40x40 set
    reference/<model>_L<L>/           metrics, history, held-out predictions of a run without its weights
    bench/*.json, bench/*.png         every benchmark result (:data:`BENCHMARKS`; ``bench``, ``benchmarks/*.py``)
    coarsening/L200/kT<kT>.npz        the 200x200 coarsening runs (``coarsen``; :mod:`holstein.quench` store)
    coarsening/L64_T/kT<kT>.npz       64x64 coarsening across the ordered phase (``coarsen``)
    ed_vs_ml/L<L>/<force>/kT0.1.npz   ED and ML quenches from fresh hot starts (``coarsen``)
    kT/*.json                         accuracy against kT, the Binder cumulant (``benchmarks/*_kT.py``)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ARTIFACTS", "BENCHMARKS", "COARSENING", "ED_VS_ML", "REFERENCE", "KT", "HONEYCOMB", "dataset_path", "model_dir",
           "committed_dir", "committed_models", "model_name", "model_metrics", "best_model", "ReferenceRun",
           "reference_run", "benchmark", "result"]

ARTIFACTS = Path(__file__).parent / "artifacts"
#: The one root of every benchmark result (JSON, PNG); the scripts live in ``<repository>/benchmarks/``.
BENCHMARKS = ARTIFACTS / "bench"
COARSENING = ARTIFACTS / "coarsening" / "L200"
ED_VS_ML = ARTIFACTS / "ed_vs_ml"
REFERENCE = ARTIFACTS / "reference"
KT = ARTIFACTS / "kT"
#: the honeycomb models (a model root of their own: the square lattice's chapters list models/ and L40/)
HONEYCOMB = ARTIFACTS / "honeycomb"
REFERENCE_FILES = ("metrics.json", "history.json", "heldout.npz")
_MODEL_ROOTS = (ARTIFACTS / "models", ARTIFACTS / "L40", HONEYCOMB)


def dataset_path(L: int, profile: str, lattice: str = "square") -> Path:
    """The committed path of the ED dataset of a profile and lattice (honeycomb: L cells per side)."""
    if lattice == "honeycomb":
        return ARTIFACTS / "data" / "honeycomb" / f"ed_hc{L}_{profile}.npz"
    return ARTIFACTS / "data" / f"ed_L{L}_{profile}.npz"


def model_dir(name: str, L: int, tag: str = "") -> Path:
    """The folder of a trained model under ``models/``: ``<name>_L<L>`` (+ ``_<tag>``)."""
    return ARTIFACTS / "models" / (f"{name}_L{L}" + (f"_{tag}" if tag else ""))


def committed_dir(name: str, L: int) -> Path | None:
    """The committed folder of ``name``: a registered name at lattice L (``<name>_L<L>``) or a folder
    name, or None when nothing is committed for it."""
    known = committed_models()
    return next((known[n].parent for n in (model_dir(name, L).name, name) if n in known), None)


def committed_models(roots=_MODEL_ROOTS, lattice: str | None = None) -> dict[str, Path]:
    """{folder name: its ``best.pt``} of every committed model (``models/``, ``L40/``, ``honeycomb/``);
    ``lattice``: only the models of that lattice (their ``metrics.json`` config's physics)."""
    out = {}
    for root in roots:
        for f in sorted(root.glob("*/best.pt")):
            if lattice is None or _lattice(f.parent) == lattice:
                out.setdefault(f.parent.name, f)
    return out


def _lattice(folder: Path) -> str:
    config = json.loads((folder / "metrics.json").read_text()).get("config", {})
    return (config.get("physics") or {}).get("lattice", "square")


def model_name(force_id: str) -> str:
    """The committed model behind a fingerprint ``model:<registered>:<sha256[:16]>[...]`` (e.g. a run's
    ``identity["force"]``), or the fingerprint itself when no committed weights match ("ed" for ED)."""
    import hashlib

    if force_id.startswith("ed:"):
        return "ED"
    parts = force_id.split(":")
    if parts[0] != "model" or len(parts) < 3:
        return force_id
    for name, path in committed_models().items():
        if hashlib.sha256(path.read_bytes()).hexdigest()[:16] == parts[2]:
            return name + (" (float32)" if parts[-1] == "float32" else "")
    return force_id


def model_metrics(name: str) -> dict:
    """The ``metrics.json`` of a committed model (:func:`committed_models` name)."""
    path = committed_models()[name].parent / "metrics.json"
    return json.loads(path.read_text())


def best_model(kind: str = "quench") -> str:
    """The model under ``models/`` with the smallest held-out RMSE/std on ``kind`` snapshots of its set."""
    scores = {}
    for name in committed_models((ARTIFACTS / "models",)):
        m = model_metrics(name)["metrics"]
        if kind in m:
            scores[name] = m[kind]["rmse_over_std"]
    if not scores:
        raise ValueError(f"no committed model has held-out metrics for {kind!r} snapshots")
    return min(scores, key=scores.get)


@dataclass(frozen=True)
class ReferenceRun:
    """A training run committed without its weights (``reference/<name>_L<L>/``, made by ``train``):
    its ``metrics.json`` (:func:`holstein.train.save_metrics`), ``history.json`` (lists per epoch) and
    the arrays of ``heldout.npz`` (:func:`holstein.train.save_heldout`: ``index``, ``kind`` (n,),
    ``F``, ``F_pred`` (n, L, L) float32)."""

    name: str
    path: Path
    metrics: dict
    history: dict
    heldout: dict


def reference_run(name: str, ds) -> ReferenceRun | None:
    """The committed run of model ``name`` on dataset ``ds`` (``REFERENCE / f"{name}_L{ds.L}"``), or None.
    A ValueError when a file is missing, or when the run belongs to another dataset, model or
    held-out set: the numbers of another dataset are never shown silently."""
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


def result(path) -> dict:
    """A committed JSON result (e.g. ``catalog.KT / "heldout.json"``); a FileNotFoundError names the file."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} is not committed; its docstring's command makes it")
    return json.loads(path.read_text())


def benchmark(name: str) -> dict | None:
    """The committed benchmark result ``bench/<name>.json``, or None (with a note) where it is not there."""
    path = BENCHMARKS / f"{name}.json"
    if not path.exists():
        print(f"{path.name} is not among the committed benchmark results; make it with the command in the "
              "README's benchmark table")
        return None
    return json.loads(path.read_text())
