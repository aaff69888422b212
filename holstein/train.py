"""Training, checkpoints and evaluation of force models on ED datasets.

Loss: mean squared error of the normalised forces, (F_pred - F_ED)² / f_scale², times
``loss_scale`` (the reference energy GNN uses 1000 × MSE). Adam (lr 1e-3 by default) with
ReduceLROnPlateau(factor 0.85, patience 5) on the validation loss, early stopping.

Splits: the dataset's held-out test set (every 7th snapshot, :func:`holstein.data.split_indices`)
is never used for training or model selection; validation is every 6th snapshot of the rest.

A checkpoint (``last.pt``, ``best.pt``) holds the model name and config, weights (with the
normalisation buffers), optimizer and scheduler state, the epoch, the history, the training
config, the Holstein parameters and the dataset sha256. Resuming continues exactly: the
shuffling of epoch e is drawn from a generator seeded by (seed, e).
"""
from __future__ import annotations

import copy
import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from . import models
from .models.checkpoint import load_model
from . import data
from .data import Dataset, extras_key, split_train_val, training_sets
from .files import atomic_write, write_json

__all__ = ["TrainConfig", "train", "snapshot_weights", "evaluate", "predict",
           "save_metrics", "save_heldout", "metrics_of", "force_metrics", "RECIPES", "train_config"]

_DTYPES = {"float64": torch.float64, "float32": torch.float32}


@dataclass
class TrainConfig:
    """Hyper-parameters of one training run (JSON-able)."""

    model: str
    model_config: dict = field(default_factory=dict)
    epochs: int = 50
    lr: float = 1e-3
    batch_size: int = 1          # configurations per optimisation step
    lr_factor: float = 0.85
    lr_patience: int = 5
    early_stopping: int = 25     # epochs without validation improvement before stopping
    loss_scale: float = 1.0
    balance_kinds: bool = False  # weight random and quench snapshots by 1/their force variance
    max_train: int | None = None  # use only this many (evenly spaced) training snapshots
    budget_s: float | None = None  # stop after the epoch in which the training seconds reach this budget
    dtype: str = "float64"
    seed: int = 0
    device: str = "cpu"
    init_from: str | None = None  # a checkpoint whose weights (and scales) start the run (new parameters keep their init)

    def __post_init__(self):
        if self.dtype not in _DTYPES:
            raise ValueError(f"dtype must be one of {sorted(_DTYPES)}, got {self.dtype!r}")
        if self.epochs < 0 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError("need epochs >= 0, batch_size >= 1 and lr > 0")
        if self.budget_s is not None and not self.budget_s > 0:
            raise ValueError(f"budget_s must be > 0 seconds, got {self.budget_s!r}")


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
    "gcn_lean_mu_T": dict(model_config=dict(center="median"), loss_scale=1.0),
    "energy_gnn_lean": dict(model_config=dict(target="electronic", center="mean"), loss_scale=1.0),
}


def train_config(name: str, prof, device: str = "cpu", **overrides) -> TrainConfig:
    """The book's recipe for model ``name`` at a profile (its epochs, reference-model caps), with overrides."""
    if name not in RECIPES:
        raise ValueError(f"no training recipe for model {name!r}; available: {sorted(RECIPES)}")
    r = dict(RECIPES[name])
    reference = r.pop("reference", False)
    r.setdefault("epochs", prof.epochs_reference if reference else prof.epochs)
    if reference:
        r.setdefault("max_train", prof.reference_max_train)
    r.update(overrides)
    return TrainConfig(model=name, device=device, **r)


def _targets(ds: Dataset, target: str) -> np.ndarray:
    return ds.F if target == "total" else ds.electronic_forces


def _make_model(cfg: TrainConfig, ds: Dataset) -> models.ForceModel:
    mc = dict(cfg.model_config)
    if mc.get("target", getattr(models.REGISTRY.get(cfg.model), "default_target", "total")) == "electronic":
        mc.setdefault("physics", ds.params.to_dict())
    return models.build(cfg.model, **mc)


def _warm_start(model: models.ForceModel, path) -> None:
    """Start from the weights and scales of the checkpoint ``path`` (same architecture up to new
    parameters, e.g. a temperature-aware model from its T-blind twin; those keep their initialisation)."""
    ck = torch.load(path, map_location="cpu", weights_only=False)
    try:
        missing, unexpected = model.load_state_dict(ck["state_dict"], strict=False)
    except RuntimeError as e:
        missing, unexpected = [str(e).splitlines()[1].strip()], []
    if unexpected or any(not k.startswith("film.") for k in missing):
        raise ValueError(f"--init-from {path}: its weights do not fit a {type(model).__name__} "
                         f"(missing {missing}, unexpected {unexpected})")


def _fit_scales(model: models.ForceModel, sets: list) -> None:
    """Input and force scales from the training snapshots ``sets`` ([(dataset, indices)], pooled;
    for one set the same numbers as the std of its (n, L, L) arrays)."""
    Qs = np.concatenate([d.Q[i].ravel() for d, i in sets])
    Y = np.concatenate([_targets(d, model.target)[i].ravel() for d, i in sets])
    model.q_scale.fill_(float(Qs.std()))
    model.f_scale.fill_(float(Y.std()))
    if hasattr(model, "fit_normalisation"):
        ds, idx = sets[0]
        model.fit_normalisation(torch.as_tensor(ds.Q[idx[: min(len(idx), 32)]]))


def snapshot_weights(ds: Dataset, idx: np.ndarray, balance: bool) -> np.ndarray:
    """Loss weight of every snapshot: 1, or with ``balance`` var(F)/var_kind(F) so that hot random and
    quench snapshots (whose force spreads differ ~6×) weigh alike in the loss."""
    w = np.ones(len(ds))
    if balance:
        total = ds.F[idx].var()
        for k in np.unique(ds.kind[idx]):
            w[ds.kind == k] = total / ds.F[idx][ds.kind[idx] == k].var()
    return w


def _batch_loss(model, Q, F, w, cfg: TrainConfig, kT: float | None = None) -> torch.Tensor:
    pred = model(Q, kT=kT)
    mse = torch.mean(((pred - F) / model.f_scale.to(F.dtype)) ** 2, dim=tuple(range(1, F.dim())))  # (B,)
    return cfg.loss_scale * torch.mean(w * mse)


def predict(model: models.ForceModel, Q, batch: int = 8, kT: float | None = None) -> np.ndarray:
    """Model forces for fields ``Q: (S, L, L)`` (numpy or torch), evaluated in batches -> numpy;
    ``kT``: the electrons' temperature of a temperature-aware model (ignored by the others)."""
    ref = next(model.parameters())
    was_training = model.training
    model.eval()
    fn = model.as_force_fn(kT=kT)
    out = [fn(torch.as_tensor(np.asarray(Q[s:s + batch]), dtype=ref.dtype, device=ref.device)).to("cpu", torch.float64)
           .numpy() for s in range(0, len(Q), batch)]
    model.train(was_training)
    return np.concatenate(out) if out else np.zeros((0,) + tuple(np.shape(Q)[1:]))


def force_metrics(F_true, F_pred, worst: float = 0.01) -> dict:
    """Force errors of ``F_pred`` against ``F_true`` (arrays of one shape, e.g. (S, L, L)).

    Returns rmse, mae, max_abs (largest |error|), r2 = 1 - MSE/var(F_true), force_std = std(F_true),
    rmse_over_std, count (snapshots: the leading axis of a batch, else 1) and worst_share, the
    share of the squared error carried by the ``worst`` fraction of sites with the largest errors.
    The one error measure of training, the held-out tables, the transfer check and the book.
    """
    F_true, F_pred = np.asarray(F_true, dtype=np.float64), np.asarray(F_pred, dtype=np.float64)
    if F_true.shape != F_pred.shape:
        raise ValueError(f"F_true {F_true.shape} and F_pred {F_pred.shape} differ in shape")
    err2 = ((F_pred - F_true) ** 2).ravel()
    rmse, std = float(np.sqrt(err2.mean())), float(F_true.std())
    top = np.sort(err2)[::-1][: max(1, int(round(worst * err2.size)))]
    return dict(rmse=rmse, mae=float(np.sqrt(err2).mean()), max_abs=float(np.sqrt(err2.max())),
                r2=float(1 - err2.mean() / F_true.var()), force_std=std, rmse_over_std=rmse / std,
                count=int(F_true.shape[0]) if F_true.ndim >= 3 else 1,  # (S, L, L) or honeycomb (S, L, L, 2)
                worst_share=float(top.sum() / err2.sum()) if err2.sum() > 0 else 0.0)


def evaluate(model: models.ForceModel, ds: Dataset, idx=None, dtype: torch.dtype | None = None) -> dict:
    """Force errors on snapshots ``idx`` (default: the held-out test set): RMSE, MAE, R², and the
    same separately for hot random and quench snapshots (RMSE also as a fraction of the force std).

    ``dtype``: evaluate a copy of the model in this precision (e.g. float32 inference of a model
    trained in float64); the errors are always computed in float64 against the ED forces.
    """
    idx = ds.split()[1] if idx is None else np.asarray(idx)
    if dtype is not None:
        model = copy.deepcopy(model).to(dtype)
    return metrics_of(ds, idx, predict(model, ds.Q[idx], kT=ds.params.kT))


def metrics_of(ds: Dataset, idx, pred) -> dict:
    """:func:`evaluate`'s table from predictions ``pred (n, L, L)`` of the snapshots ``idx``:
    ``force_metrics`` of all of them and of each kind present (random, quench)."""
    idx, pred = np.asarray(idx), np.asarray(pred)
    out = dict(all=force_metrics(ds.F[idx], pred))
    for name, k in data.KINDS.items():
        sel = ds.kind[idx] == k
        if sel.any():
            out[name] = force_metrics(ds.F[idx][sel], pred[sel])
    return out


def _save(path: Path, payload: dict) -> None:
    atomic_write(path, lambda fh: torch.save(payload, fh))


def train(cfg: TrainConfig, ds: Dataset, out_dir, resume: bool = False, progress: bool = True,
          extra=None):
    """Train ``cfg.model`` on ``ds``; write ``best.pt``, ``last.pt`` and ``history.json`` in ``out_dir``.

    Returns (best model, history). With ``resume=True`` continues from ``out_dir/last.pt``
    (which must belong to the same model, config and dataset). ``extra``: more training data, a
    dataset or a list (:func:`holstein.data.training_sets`: other trajectories, other lattice sizes, whole or
    only their training split); model selection and the held-out test set remain those of ``ds``,
    so errors stay comparable.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {out_dir} is an existing file; give a directory for the run")
    out_dir.mkdir(parents=True, exist_ok=True)
    owned = [f for f in ("last.pt", "best.pt", "metrics.json", "history.json") if (out_dir / f).exists()]
    if owned and not (resume and (out_dir / "last.pt").exists()):
        raise ValueError(f"{out_dir} already holds a training run ({', '.join(owned)}); pass --resume to continue "
                         "that run, or choose another --out (or delete the directory)")
    dtype = _DTYPES[cfg.dtype]
    torch.manual_seed(cfg.seed)
    model = _make_model(cfg, ds).to(device=cfg.device, dtype=dtype)
    tr, va, _ = split_train_val(ds)
    if cfg.max_train is not None and cfg.max_train < len(tr):
        tr = tr[np.linspace(0, len(tr) - 1, max(cfg.max_train, 1)).astype(int)]
    if len(tr) == 0 or len(va) == 0:
        raise ValueError(f"dataset of {len(ds)} snapshots is too small for a train/validation/test split")
    sets = training_sets(ds, tr, extra, temperatures=model.temperature_aware)
    kTs = sorted({float(d.params.kT) for d, _ in sets})
    key = extras_key(extra)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=cfg.lr_factor, patience=cfg.lr_patience)
    history = dict(epoch=[], train_loss=[], val_loss=[], val_rmse=[], lr=[], seconds=[])
    start, best, since_best = 0, float("inf"), 0
    if resume and (out_dir / "last.pt").exists():
        ck = torch.load(out_dir / "last.pt", map_location=cfg.device, weights_only=False)
        _check_compatible(ck, cfg, ds, out_dir / "last.pt")
        if ck.get("extra_sha256") != key:
            raise ValueError(f"{out_dir / 'last.pt'} was trained with other extra training data")
        model.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        sched.load_state_dict(ck["scheduler"])
        history, start, best, since_best = ck["history"], ck["epoch"] + 1, ck["best_val"], ck["since_best"]
    elif cfg.init_from:
        _warm_start(model, cfg.init_from)
    else:
        _fit_scales(model, sets)
    weights = [snapshot_weights(d, idx, cfg.balance_kinds) for d, idx in sets]
    w_np = weights[0]  # set 0 starts with ds's snapshots: the weights of the validation ones
    tensors = []  # per lattice size: (Q, F, loss weights) of its dataset
    for (d, _), w in zip(sets, weights):
        Qd, Fd = (t.to(dtype) for t in d.tensors(device=cfg.device))
        tensors.append((Qd, Fd, torch.as_tensor(w, dtype=dtype, device=cfg.device)))
    n_train = sum(len(idx) for _, idx in sets)
    # a temperature-aware model is selected on every temperature: the validation splits of the
    # extras whose training split alone trains, each scored relative to its own force variance
    val_T = [(d, split_train_val(d)[1]) for d, part in data._extra_parts(extra)
             if part == "train" and d.params.kT != ds.params.kT] if model.temperature_aware else []
    bar = tqdm(range(start, cfg.epochs), desc=f"train {cfg.model}", disable=not progress, initial=start,
               total=cfg.epochs)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        total = 0.0
        for j, (g, b) in enumerate(_batches(sets, cfg, epoch)):
            Qg, Fg, Wg = tensors[g]
            b = b.to(cfg.device)
            opt.zero_grad(set_to_none=True)
            loss = _batch_loss(model, Qg[b], Fg[b], Wg[b], cfg, kT=float(sets[g][0].params.kT))
            if not bool(torch.isfinite(loss)):
                raise FloatingPointError(f"training {cfg.model} stopped: the loss became {loss.item()} at epoch "
                                         f"{epoch}, batch {j} (lower --lr, or check the data); "
                                         f"{out_dir / 'last.pt'} holds the last finished epoch")
            loss.backward()
            opt.step()
            total += loss.item() * len(b)
        model.eval()
        vpred = predict(model, ds.Q[va], kT=ds.params.kT)
        per_snapshot = np.mean((vpred - ds.F[va]) ** 2, axis=tuple(range(1, vpred.ndim)))
        val_mse = float(per_snapshot.mean())
        val_loss = cfg.loss_scale * float(np.mean(w_np[va] * per_snapshot)) / float(model.f_scale) ** 2
        if val_T:
            rel = [val_mse / float(ds.F[va].var())]
            for d, v in val_T:
                rel.append(float(np.mean((predict(model, d.Q[v], kT=d.params.kT) - d.F[v]) ** 2)) / float(d.F[v].var()))
            val_loss = cfg.loss_scale * float(np.mean(rel))
        sched.step(val_loss)
        for k, v in (("epoch", epoch), ("train_loss", total / n_train), ("val_loss", val_loss),
                     ("val_rmse", val_mse**0.5), ("lr", opt.param_groups[0]["lr"]), ("seconds", time.perf_counter() - t0)):
            history[k].append(v)
        improved = val_loss < best
        best, since_best = (val_loss, 0) if improved else (best, since_best + 1)
        payload = dict(model=cfg.model, model_config=model.config(), state_dict=model.state_dict(),
                       optimizer=opt.state_dict(), scheduler=sched.state_dict(), epoch=epoch, history=history,
                       best_val=best, since_best=since_best, train_config=dataclasses.asdict(cfg),
                       params=ds.params.to_dict(), dataset_sha256=ds.sha256, dataset_L=ds.L,
                       extra_sha256=key, kT_range=[kTs[0], kTs[-1]] if model.temperature_aware else None,
                       kT_trained=kTs)
        _save(out_dir / "last.pt", payload)
        if improved:
            _save(out_dir / "best.pt", payload)
        bar.set_postfix(train=f"{total / n_train:.3g}", val_rmse=f"{val_mse**0.5:.3g}", lr=f"{opt.param_groups[0]['lr']:.2g}")
        if since_best >= cfg.early_stopping:
            break
        if cfg.budget_s is not None and sum(history["seconds"]) >= cfg.budget_s:
            break  # a fixed wall-clock budget (history["seconds"] gives RMSE against training seconds)
    write_json(history, out_dir / "history.json")
    best_path = out_dir / "best.pt"
    return (load_model(best_path, device=cfg.device) if best_path.exists() else model), history


def _batches(sets: list, cfg: TrainConfig, epoch: int) -> list:
    """One epoch's batches [(set number, snapshot indices)]: each set's snapshots in a seeded random
    order, cut into ``cfg.batch_size`` chunks; with several sets (lattice sizes) the chunks are
    interleaved in a seeded random order. One set gives the order of a single-dataset run."""
    out = []
    for g, (_, idx) in enumerate(sets):
        gen = torch.Generator().manual_seed(cfg.seed * 100003 + epoch + 7919 * g)
        order = torch.as_tensor(idx)[torch.randperm(len(idx), generator=gen)]
        out += [(g, order[s:s + cfg.batch_size]) for s in range(0, len(order), cfg.batch_size)]
    if len(sets) > 1:
        perm = torch.randperm(len(out), generator=torch.Generator().manual_seed(cfg.seed * 100003 + epoch + 104729))
        out = [out[i] for i in perm]
    return out


def _check_compatible(ck: dict, cfg: TrainConfig, ds: Dataset, path) -> None:
    """Refuse to resume a run whose model, dataset or any configuration field but ``epochs`` and
    ``budget_s`` differs."""
    if ck["model"] != cfg.model:
        raise ValueError(f"{path} holds a {ck['model']!r} model, not {cfg.model!r}")
    old, new = ck.get("train_config", {}), dataclasses.asdict(cfg)
    for key in new:
        if key not in ("epochs", "budget_s") and old.get(key) != new[key]:
            raise ValueError(f"cannot resume {path}: {key} = {old.get(key)!r} there, {new[key]!r} here; only the "
                             "epoch count and the budget may change on --resume (start a new --out for other settings)")
    if ck["dataset_sha256"] != ds.sha256:
        raise ValueError(f"{path} was trained on dataset {ck['dataset_sha256'][:12]}…, not on this one "
                         f"({ds.sha256[:12]}…); start a fresh run or use the original dataset")


def save_metrics(path, model_name: str, model: models.ForceModel, metrics: dict, extra: dict | None = None) -> Path:
    """Write a per-model results JSON (metrics, parameter count, and anything in ``extra``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(model=model_name, parameters=model.n_parameters(), config=model.config(), metrics=metrics,
                   **(extra or {}))
    return write_json(payload, path, indent=2)


def save_heldout(path, ds: Dataset, idx, pred) -> Path:
    """Write the held-out predictions a parity or error plot needs, without the weights: ``index``
    (n,) of the test snapshots ``idx`` in ``ds``, their ``kind`` (n,), the ED forces ``F`` and the
    model's ``pred`` as ``F_pred`` (n, L, L), both float32 (the forces are O(1-10); float32 keeps 7
    digits). A few hundred kB for a 24×24 test set, so it can be committed where 10 M-parameter
    weights cannot. ``pred`` is what :func:`metrics_of` scored, so it is predicted once."""
    idx = np.asarray(idx)
    arrays = dict(index=np.asarray(idx, np.int64), kind=np.asarray(ds.kind[idx]), F=ds.F[idx].astype(np.float32),
                  F_pred=np.asarray(pred, np.float32), dataset_sha256=np.array(ds.sha256))
    return atomic_write(Path(path), lambda fh: np.savez_compressed(fh, **arrays))
