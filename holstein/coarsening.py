r"""Coarsening studies: batches of Langevin quenches, C(r, t), the domain size L(t) and α.

After a quench to kT below the CDW transition, checkerboard domains grow. For a
non-conserved scalar order parameter Allen–Cahn dynamics predicts L(t) ∝ t^α with α = 1/2
(Allen & Cahn 1979; Bray, Adv. Phys. 43, 357 (1994)). This module turns a force function into
an ensemble of quenches and the ensemble into the quantities of such a study:

* :func:`run_quenches` — B replicas integrated as one batch
  ``(B, L, L)``; replica b is bit-for-bit the unbatched quench with integer seed ``seeds[b]``
  (the convention of :func:`holstein.notebook.quench` and of the dataset's ED quench runs), so
  an ML ensemble can share hot starts and noise with an ED one;
* :func:`run_temperatures` — the same ensemble at several bath temperatures;
* :func:`dataset_trajectories` — the ED quench runs stored in a dataset, as an ensemble;
* :func:`correlation_curves`, :func:`domain_growth` — the ensemble C(r, t) (⟨φ_i φ_j⟩/⟨φ²⟩,
  averaged over replicas) and L(t) from C(L) = 1/2;
* :func:`growth_exponent` — α from a log–log fit in a stated window, with the least-squares
  error and a jackknife error over replicas;
* :func:`compact_observables` — what a long or large quench keeps instead of its snapshots: per
  replica and recorded time m(t), C(r, t), L(t), the radially averaged S(q) and S(π, π), plus
  optional float16 φ maps; :func:`merge_compact` joins replica batches,
  :func:`ensemble_correlation` and :func:`growth_exponent_compact` give the ensemble C(r, t),
  L(t) and α from them, the same numbers :func:`domain_growth` and :func:`growth_exponent` give
  from the snapshots.

Arrays are numpy: ``time (T,)``, ``Q (T, B, L, L)``; lengths in lattice spacings, time in 1/t.
Depends only on :mod:`holstein.observables`, :mod:`holstein.dynamics` and :mod:`holstein.params`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import dynamics
from . import observables as obs
from .params import PAPER, HolsteinParams

__all__ = ["run_quenches", "run_temperatures", "dataset_trajectories", "correlation_curves",
           "domain_growth", "growth_exponent", "default_window", "compact_observables", "merge_compact",
           "ensemble_correlation", "growth_exponent_compact"]


# ----------------------------------------------------------------------------- running ensembles
def run_quenches(force_fn: Callable, L: int, n_steps: int, every: int, seeds: Sequence[int] = (0,),
                 p: HolsteinParams = PAPER, device: str = "cpu", path=None, progress: bool = True) -> dict:
    """A batch of Langevin quenches from hot starts to ``p.kT`` with ``force_fn``.

    Replica b starts from ``hot_start(L, p, seed=seeds[b])`` and draws the noise of seed
    ``seeds[b]``, exactly as an unbatched run with that integer seed. With ``path`` (a .npz)
    the result is loaded if present, else computed (resumable through a checkpoint next to it)
    and saved there.

    Returns ``dict(time (T,), step (T,), Q (T, B, L, L), seeds (B,))`` with T = 1 + ceil(n_steps / every)
    (the final state is always recorded) and time = step · dt.
    """
    if path is not None:
        path = Path(path)
        if path.exists():
            with np.load(path) as z:
                return dict(time=z["time"], step=z["step"], Q=z["Q"], seeds=z["seeds"])
    hot, noise = dynamics.matched_seeds([int(s) for s in seeds])
    Q0, V0 = dynamics.hot_start(L, p, seed=hot, batch=len(hot), device=device)
    state = dynamics.init(Q0, force_fn, p, V0=V0, seed=noise)
    ckpt = None if path is None else path.with_suffix(".ckpt")
    _, traj = dynamics.run(state, force_fn, p, n_steps=n_steps, record_every=every, progress=progress,
                           checkpoint_path=ckpt, checkpoint_every=max(every, 500), resume=ckpt is not None)
    out = dict(time=np.asarray(traj.time), step=np.asarray(traj.step), Q=np.asarray(traj.Q),
               seeds=np.asarray(seeds, dtype=np.int64))
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **out)
        ckpt.unlink(missing_ok=True)
    return out


def run_temperatures(force_fn: Callable, L: int, n_steps: int, every: int, kTs: Sequence[float],
                     seeds: Sequence[int] = (0,), p: HolsteinParams = PAPER, device: str = "cpu",
                     cache_dir=None, tag: str = "model", progress: bool = True) -> dict:
    """:func:`run_quenches` at each bath temperature in ``kTs`` -> ``{kT: run}``.

    ``force_fn`` may be a callable ``Q -> F`` or a function ``kT -> (Q -> F)`` when the force
    depends on kT (ED: the Fermi function); pass the latter as ``lambda kT: ...`` with
    ``force_fn.per_temperature = True``. Runs are cached in ``cache_dir`` (if given) under a
    name made of ``tag`` and the sizes.
    """
    out = {}
    for kT in kTs:
        fn = force_fn(kT) if getattr(force_fn, "per_temperature", False) else force_fn
        path = None
        if cache_dir is not None:
            s = "-".join(str(int(x)) for x in seeds)
            path = Path(cache_dir) / f"ensemble_{tag}_L{L}_n{n_steps}_e{every}_kT{kT:g}_s{s}.npz"
        out[float(kT)] = run_quenches(fn, L, n_steps, every, seeds, p.replace(kT=float(kT)), device, path, progress)
    return out


def dataset_trajectories(ds, t_max: float | None = None) -> dict:
    """The ED quench runs stored in a dataset (``kind == 1``) as an ensemble.

    Run r was started with integer seed :func:`holstein.dynamics.run_seed` (meta['seed'], r) (see
    :func:`holstein.data.generate`), returned as ``seeds`` so that :func:`run_quenches` can
    repeat it with another force. Only the times common to all runs (and <= ``t_max``) are kept;
    the hot start t = 0 itself is not stored in a dataset.

    Returns ``dict(time (T,), step (T,), Q (T, R, L, L), seeds (R,))``; snapshots are matched by
    their step number, step = t / dt (time is step · dt).
    """
    quench = np.flatnonzero(ds.kind == 1)
    runs = np.unique(ds.run[quench])
    if runs.size == 0:
        raise ValueError("the dataset holds no quench snapshots")
    per_run = [quench[ds.run[quench] == r] for r in runs]
    dt = ds.params.dt
    steps = [np.rint(ds.time[idx] / dt).astype(np.int64) for idx in per_run]  # exact: time = step · dt
    common = sorted(set(steps[0]).intersection(*map(set, steps[1:])))
    if t_max is not None:
        common = [s for s in common if s * dt <= t_max]
    if not common:
        raise ValueError("the dataset's quench runs share no snapshot times (<= t_max)")
    Q = np.stack([np.stack([ds.Q[idx[np.flatnonzero(st == s)[0]]] for idx, st in zip(per_run, steps)])
                  for s in common])
    seed = int(ds.meta.get("seed", 0))
    step = np.asarray(common, dtype=np.int64)
    return dict(time=step * dt, step=step, Q=Q, seeds=np.array([dynamics.run_seed(seed, r) for r in runs], dtype=np.int64))


# ----------------------------------------------------------------------------- observables
def correlation_curves(Q, dr: float | None = 1.0, use_phi: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Ensemble correlation C(r, t) = ⟨φ_i φ_{i+r}⟩ / ⟨φ²⟩ at every recorded time.

    Q: ``(T, B, L, L)`` (replicas averaged before normalising, the ensemble definition of
    :func:`holstein.observables.correlation_map`) or ``(T, L, L)``.
    Returns ``r (n_r,)`` and ``C (T, n_r)``.
    """
    Q = np.asarray(Q, dtype=np.float64) if not isinstance(Q, torch.Tensor) else Q.detach().cpu().numpy()
    if Q.ndim == 3:
        Q = Q[:, None]
    if Q.ndim != 4:
        raise ValueError(f"Q must have shape (T, B, L, L) or (T, L, L), got {Q.shape}")
    curves = [obs.correlation(Q[k], use_phi=use_phi, average_batch=True, dr=dr) for k in range(Q.shape[0])]
    return curves[0][0], np.stack([C for _, C in curves])


def domain_growth(time, Q, dr: float | None = 1.0, level: float = 0.5) -> dict:
    """C(r, t) and the domain size L(t) defined by C(L(t), t) = ``level`` (NaN where undefined).

    Returns ``dict(time (T,), r (n_r,), C (T, n_r), L (T,))``.
    """
    r, C = correlation_curves(Q, dr=dr)
    Lt = np.array([obs.domain_size(r, c, level=level) for c in C])
    return dict(time=np.asarray(time, dtype=np.float64), r=r, C=C, L=Lt)


def default_window(time, Lt, L_sys: int, max_fraction: float = 0.25) -> tuple[float, float]:
    """The default fit window [t_min, t_max] of :func:`growth_exponent`.

    t_min: one tenth of the last recorded time (the early, non-scaling regime of domain
    formation is excluded); t_max: the last time with L(t) <= ``max_fraction`` · L_sys (beyond
    that the periodic box limits the growth). Either may leave fewer than 3 points, in which
    case the fit reports that no exponent can be extracted.
    """
    time, Lt = np.asarray(time, dtype=float), np.asarray(Lt, dtype=float)
    t_min = 0.1 * float(time[-1])
    ok = np.flatnonzero(np.isfinite(Lt) & (Lt <= max_fraction * L_sys) & (time >= t_min))
    t_max = float(time[ok[-1]]) if ok.size else t_min
    return t_min, t_max


def growth_exponent(time, Q, t_min: float | None = None, t_max: float | None = None, dr: float | None = 1.0,
                    level: float = 0.5, max_fraction: float = 0.25) -> dict:
    """The growth exponent α of L(t) ∝ t^α for an ensemble ``Q (T, B, L, L)``.

    α is fitted on log–log axes (:func:`holstein.observables.fit_growth_exponent`) to the
    ensemble L(t) in the window [t_min, t_max] (default :func:`default_window`). Two errors:
    ``alpha_err_fit``, the least-squares standard error (too small: successive L(t) of one
    run are correlated), and ``alpha_err_jackknife`` over replicas (B >= 2; NaN otherwise),
    σ² = (B-1)/B Σ_b (α_(b) - ᾱ)² with α_(b) the fit without replica b. ``alpha_err`` is the
    larger of the two. If the window holds fewer than 3 valid points α is NaN and ``fit`` None.

    Returns ``dict(alpha, alpha_err, alpha_err_fit, alpha_err_jackknife, fit, t_min, t_max,
    n_points, growth)`` with ``growth`` from :func:`domain_growth`.
    """
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim == 3:
        Q = Q[:, None]
    growth = domain_growth(time, Q, dr=dr, level=level)
    return _fit_alpha(growth, lambda keep: domain_growth(time, Q[:, keep], dr=dr, level=level)["L"],
                      Q.shape[1], Q.shape[-1], t_min, t_max, max_fraction)


def _fit_alpha(growth: dict, L_without, B: int, L_sys: int, t_min, t_max, max_fraction) -> dict:
    """α, its fit and jackknife errors from the ensemble ``growth`` (time, L) and ``L_without(keep)``,
    the ensemble L(t) of the replicas ``keep`` (a list of indices): see :func:`growth_exponent`."""
    w0, w1 = default_window(growth["time"], growth["L"], L_sys, max_fraction)
    t_min = w0 if t_min is None else float(t_min)
    t_max = w1 if t_max is None else float(t_max)
    out = dict(alpha=float("nan"), alpha_err=float("nan"), alpha_err_fit=float("nan"),
               alpha_err_jackknife=float("nan"), fit=None, t_min=t_min, t_max=t_max, n_points=0, growth=growth)
    try:
        fit = obs.fit_growth_exponent(growth["time"], growth["L"], t_min=t_min, t_max=t_max)
    except ValueError:
        return out
    out.update(alpha=fit.alpha, alpha_err_fit=fit.alpha_err, fit=fit, n_points=fit.n_points)
    if B >= 2:
        alphas = []
        for b in range(B):
            try:
                Lb = L_without([c for c in range(B) if c != b])
                alphas.append(obs.fit_growth_exponent(growth["time"], Lb, t_min=t_min, t_max=t_max).alpha)
            except ValueError:
                alphas.append(np.nan)
        alphas = np.asarray(alphas)
        if np.all(np.isfinite(alphas)):
            out["alpha_err_jackknife"] = float(np.sqrt((B - 1) / B * np.sum((alphas - alphas.mean()) ** 2)))
    out["alpha_err"] = float(np.nanmax([out["alpha_err_fit"], out["alpha_err_jackknife"]]))
    return out


# ----------------------------------------------------------------------------- compact observables
def compact_observables(time, Q, L_sys: int | None = None, dr: float | None = 1.0, phi_at=None,
                        level: float = 0.5) -> dict:
    r"""Per-replica observables of a quench at every recorded time, to keep instead of Q itself.

    Q: ``(T, B, L, L)``, or ``(T, L, L)`` (then B = 1; the replica axis is kept); ``L_sys``, if
    given, must equal L. For each time t and replica b (numpy, float64 unless stated):

    * ``m (T, B)`` — the CDW order :func:`holstein.observables.cdw_order`;
    * ``r (n_r,)``, ``C (T, B, n_r)`` — C(r) = ⟨φ_i φ_{i+r}⟩/⟨φ²⟩ of the replica alone
      (:func:`holstein.observables.correlation`, shells of width ``dr``; C(0) = 1), and
      ``phi2 (T, B)`` = ⟨φ²⟩ = G(0), the weight that turns per-replica curves back into the
      ensemble C of :func:`domain_growth` (:func:`ensemble_correlation`);
    * ``L (T, B)`` — the first crossing C(L) = ``level`` (:func:`holstein.observables.domain_size`);
    * ``k (n_k,)``, ``S (T, B, n_k)`` — S(q) (:func:`holstein.observables.structure_factor`)
      averaged over shells of |q - (π, π)| = k (width ``dr`` · 2π/L; k in 1/lattice spacing),
      and ``S_pipi (T, B)`` = S(π, π) = N m²;
    * with ``phi_at`` (times): ``phi_time (K,)``, the recorded times nearest to them, and
      ``phi (K, B, L, L)`` float16, the local order φ_i there (:func:`holstein.observables.local_cdw`).

    Also ``time (T,)`` and ``L_sys``. Sizes per time: O(B · L) numbers (+ the chosen maps).
    """
    if type(Q).__module__.startswith("torch"):
        Q = Q.detach().cpu().numpy()
    Q = np.asarray(Q, dtype=np.float64)
    if Q.ndim == 3:
        Q = Q[:, None]
    time = np.asarray(time, dtype=np.float64).ravel()
    if Q.ndim != 4 or Q.shape[0] != time.size:
        raise ValueError(f"Q must have shape (T, B, L, L) or (T, L, L) with T = len(time) = {time.size}, "
                         f"got {Q.shape}")
    L = Q.shape[-1]
    if L_sys is not None and int(L_sys) != L:
        raise ValueError(f"L_sys = {L_sys} but Q is {Q.shape[-2]}x{L}")
    T, B = Q.shape[:2]
    m, phi2, Lt, S_pipi = (np.empty((T, B)) for _ in range(4))
    C = S = None
    for i in range(T):
        q = Q[i]                                                    # (B, L, L)
        m[i] = obs.cdw_order(q)
        phi2[i] = (obs.local_cdw(q) ** 2).mean(axis=(-2, -1))
        r, Ci = obs.correlation(q, average_batch=False, dr=dr)      # (B, n_r)
        Lt[i] = [obs.domain_size(r, c, level=level) for c in Ci]
        Smap = obs.structure_factor(q)                              # (B, L, L), FFT order
        S_pipi[i] = Smap[:, L // 2, L // 2]
        k, Si = obs.radial_average(np.roll(Smap, (L // 2, L // 2), axis=(-2, -1)), dr=dr)  # (π, π) -> index 0
        C = np.empty((T, B, r.size)) if C is None else C
        S = np.empty((T, B, k.size)) if S is None else S
        C[i], S[i] = Ci, Si
    out = dict(time=time, L_sys=np.int64(L), m=m, r=r, C=C, phi2=phi2, L=Lt, k=k * 2 * np.pi / L, S=S,
               S_pipi=S_pipi)
    if phi_at is not None:
        idx = np.array([int(np.argmin(np.abs(time - t))) for t in np.atleast_1d(phi_at)], dtype=np.int64)
        out["phi_time"] = time[idx]
        out["phi"] = np.stack([obs.local_cdw(Q[i]) for i in idx]).astype(np.float16) if idx.size else \
            np.empty((0, B, L, L), np.float16)
    return out


_PER_REPLICA = ("m", "C", "phi2", "L", "S", "S_pipi")


def merge_compact(parts: Sequence[dict]) -> dict:
    """Join :func:`compact_observables` of replica batches (same times, lattice and bins) along B."""
    if not parts:
        raise ValueError("merge_compact needs at least one part")
    first = parts[0]
    for p in parts[1:]:
        for key in ("time", "r", "k", "L_sys") + (("phi_time",) if "phi" in first else ()):
            if key not in p or np.shape(p[key]) != np.shape(first[key]) or not np.allclose(p[key], first[key]):
                raise ValueError(f"merge_compact: the parts differ in {key!r}")
    out = {k: first[k] for k in ("time", "r", "k", "L_sys")}
    out.update({k: np.concatenate([p[k] for p in parts], axis=1) for k in _PER_REPLICA})
    if "phi" in first:
        out["phi_time"] = first["phi_time"]
        out["phi"] = np.concatenate([p["phi"] for p in parts], axis=1)
    return out


def ensemble_correlation(comp: dict, replicas=None) -> np.ndarray:
    """The ensemble C(r, t) = Σ_b G_b(r) / Σ_b G_b(0) of :func:`correlation_curves`, from the
    per-replica curves of :func:`compact_observables` (C_b weighted by ⟨φ²⟩_b) -> ``(T, n_r)``.

    ``replicas``: indices of the replicas to include (default all)."""
    C, w = np.asarray(comp["C"]), np.asarray(comp["phi2"])
    if replicas is not None:
        C, w = C[:, replicas], w[:, replicas]
    num = np.where(w[..., None] > 0, C, 0.0) * w[..., None]
    den = w.sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num.sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def growth_exponent_compact(comp: dict, t_min: float | None = None, t_max: float | None = None,
                            level: float = 0.5, max_fraction: float = 0.25) -> dict:
    """:func:`growth_exponent` from :func:`compact_observables` (e.g. merged over tasks): the same
    window, fit and jackknife over replicas, on the ensemble L(t) of :func:`ensemble_correlation`.

    Returns the dict of :func:`growth_exponent`; its ``growth`` holds time, r, the ensemble C and L.
    """
    r = np.asarray(comp["r"])

    def L_of(keep):
        return np.array([obs.domain_size(r, c, level=level) for c in ensemble_correlation(comp, keep)])

    time = np.asarray(comp["time"], dtype=np.float64)
    growth = dict(time=time, r=r, C=ensemble_correlation(comp), L=L_of(None))
    return _fit_alpha(growth, L_of, np.shape(comp["C"])[1], int(comp["L_sys"]), t_min, t_max, max_fraction)
