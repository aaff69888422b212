r"""Analysis of quench runs: the domain-growth exponent α(T) with a jackknife over replicas,
dynamical scaling (collapse), and the paired ED-vs-ML test of replicas that share hot starts and noise.

Everything works on the compact observables of a run (:mod:`holstein.quench.recorder`):
``time (T,)`` (= step · dt, in 1/t), ``C (T, B, n_r)``, ``phi2 (T, B)``, ``m``, ``L (T, B)``; lengths in
lattice spacings. Allen–Cahn dynamics of a non-conserved order parameter predicts L(t) ∝ t^α with
α = 1/2 (Allen & Cahn 1979; Bray, Adv. Phys. 43, 357 (1994)).
"""
from __future__ import annotations

import numpy as np

from .. import observables as obs
from ..criticality import jackknife_error
from .start import seed_list

__all__ = ["jsonable", "default_window", "ensemble_correlation", "growth_exponent", "collapse_spread", "analyse",
           "paired_differences", "paired_test"]


def default_window(time, Lt, L_sys: int, max_fraction: float = 0.25) -> tuple[float, float]:
    """The default fit window of :func:`growth_exponent`: from a tenth of the last recorded time (past
    domain formation) to the last time with L(t) <= ``max_fraction`` · L_sys (before the box limits
    the growth)."""
    time, Lt = np.asarray(time, dtype=float), np.asarray(Lt, dtype=float)
    t_min = 0.1 * float(time[-1])
    ok = np.flatnonzero(np.isfinite(Lt) & (Lt <= max_fraction * L_sys) & (time >= t_min))
    t_max = float(time[ok[-1]]) if ok.size else t_min
    return t_min, t_max


def ensemble_correlation(comp: dict, replicas=None) -> np.ndarray:
    """The ensemble C(r, t) = Σ_b G_b(r) / Σ_b G_b(0) ``(T, n_r)`` from the per-replica curves of
    :func:`holstein.quench.recorder.compact_observables` (C_b weighted by ⟨φ²⟩_b), over ``replicas``
    (indices; default all)."""
    C, w = np.asarray(comp["C"]), np.asarray(comp["phi2"])
    if replicas is not None:
        C, w = C[:, replicas], w[:, replicas]
    num = np.where(w[..., None] > 0, C, 0.0) * w[..., None]
    den = w.sum(axis=1)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num.sum(axis=1) / np.where(den > 0, den, 1.0), np.nan)


def growth_exponent(comp: dict, t_min: float | None = None, t_max: float | None = None, level: float = 0.5,
                    max_fraction: float = 0.25) -> dict:
    """The exponent α of L(t) ∝ t^α of a run's compact observables ``comp``: a log–log fit
    (:func:`holstein.observables.fit_growth_exponent`) of the ensemble L(t) (C(L) = ``level``) in
    [t_min, t_max] (default :func:`default_window`); NaN with fewer than 3 valid points.

    Errors: ``alpha_err_fit`` (least squares; too small, successive L(t) are correlated) and
    ``alpha_err_jackknife`` over replicas (B >= 2); ``alpha_err`` is the larger. Returns
    ``dict(alpha, alpha_err, alpha_err_fit, alpha_err_jackknife, fit, t_min, t_max, n_points,
    growth)``; ``growth`` holds time (T,), r (n_r,), the ensemble C (T, n_r) and L (T,).
    """
    r = np.asarray(comp["r"])

    def L_of(keep):
        return np.array([obs.domain_size(r, c, level=level) for c in ensemble_correlation(comp, keep)])

    time = np.asarray(comp["time"], dtype=np.float64)  # step · dt
    growth = dict(time=time, r=r, C=ensemble_correlation(comp), L=L_of(None))
    B = np.shape(comp["C"])[1]
    w0, w1 = default_window(time, growth["L"], int(comp["L_sys"]), max_fraction)
    t_min = w0 if t_min is None else float(t_min)
    t_max = w1 if t_max is None else float(t_max)
    out = dict(alpha=float("nan"), alpha_err=float("nan"), alpha_err_fit=float("nan"),
               alpha_err_jackknife=float("nan"), fit=None, t_min=t_min, t_max=t_max, n_points=0, growth=growth)
    try:
        fit = obs.fit_growth_exponent(time, growth["L"], t_min=t_min, t_max=t_max)
    except ValueError:
        return out
    out.update(alpha=fit.alpha, alpha_err_fit=fit.alpha_err, fit=fit, n_points=fit.n_points)
    if B >= 2:
        alphas = []
        for b in range(B):
            try:
                Lb = L_of([c for c in range(B) if c != b])
                alphas.append(obs.fit_growth_exponent(time, Lb, t_min=t_min, t_max=t_max).alpha)
            except ValueError:
                alphas.append(np.nan)
        out["alpha_err_jackknife"] = jackknife_error(alphas)  # NaN where a fit failed
    out["alpha_err"] = float(np.nanmax([out["alpha_err_fit"], out["alpha_err_jackknife"]]))
    return out


def collapse_spread(r, C, Lt, x_max: float = 1.5, n_x: int = 61) -> float:
    r"""How well C(r, t_k) collapse onto one f(r / L(t_k)): the rms over x = r/L ∈ [0, ``x_max``] (reached
    by every curve) of the standard deviation across the K times of C_k(x L_k), in units of C(0) = 1;
    0 for perfect dynamical scaling. r: ``(n_r,)``; C: ``(K, n_r)``; Lt: ``(K,)`` finite, > 0."""
    r, C, Lt = np.asarray(r, float), np.atleast_2d(np.asarray(C, float)), np.asarray(Lt, float).ravel()
    if C.shape != (Lt.size, r.size) or Lt.size < 2:
        raise ValueError(f"need C of shape (K >= 2, {r.size}) and K domain sizes, got {C.shape} and {Lt.size}")
    if not np.all(np.isfinite(Lt) & (Lt > 0)):
        raise ValueError(f"every domain size must be finite and > 0, got {Lt}")
    x = np.linspace(0.0, min(x_max, float(np.min(r.max() / Lt))), n_x)
    curves = np.stack([np.interp(x * Lk, r, Ck) for Ck, Lk in zip(C, Lt)])
    return float(np.sqrt(np.mean(np.var(curves, axis=0))))


def analyse(results: dict, t_min: float | None = None, t_max: float | None = None, n_collapse: int = 6) -> dict:
    """α(T) and dynamical scaling of runs ``{kT: result}``: per kT, α and its errors
    (:func:`growth_exponent`), ``growth_factor`` = L(t_max)/L(t_min), ``alpha_window`` (α for the
    window's start halved and doubled, its end at 1/2 and 3/4 of it) and ``collapse``
    (:func:`collapse_spread` at ``n_collapse`` log-spaced times of the window). JSON-ready numbers.
    """
    out = {}
    for kT, res in sorted(results.items()):
        fit = growth_exponent(res, t_min=t_min, t_max=t_max)
        g, lo, hi = fit["growth"], fit["t_min"], fit["t_max"]
        inside = np.flatnonzero((g["time"] >= lo) & (g["time"] <= hi) & np.isfinite(g["L"]))
        row = dict(alpha=fit["alpha"], alpha_err=fit["alpha_err"], alpha_err_fit=fit["alpha_err_fit"],
                   alpha_err_jackknife=fit["alpha_err_jackknife"], t_min=lo, t_max=hi, n_points=fit["n_points"],
                   n_replicas=int(np.shape(res["C"])[1]), growth_factor=float("nan"), alpha_window={},
                   collapse=float("nan"), L_final=float(g["L"][-1]))
        if inside.size >= 2:
            row["growth_factor"] = float(g["L"][inside[-1]] / g["L"][inside[0]])
            for name, (a, b) in dict(start_half=(lo / 2, hi), start_double=(2 * lo, hi), end_half=(lo, lo + (hi - lo) / 2),
                                     end_three_quarters=(lo, lo + 3 * (hi - lo) / 4)).items():
                row["alpha_window"][name] = growth_exponent(res, t_min=a, t_max=b)["alpha"]
            pick = np.unique(np.round(np.geomspace(inside[0] + 1, inside[-1] + 1, n_collapse)).astype(int) - 1)
            if pick.size >= 2:
                row["collapse"] = collapse_spread(g["r"], g["C"][pick], g["L"][pick])
        out[float(kT)] = row
    return out


def paired_differences(a: tuple, b: tuple, steps=None) -> dict:
    r"""Replica-by-replica differences a − b of two :func:`holstein.quench.store.load` results with the
    same seeds, L and every (e.g. ML and ED from the same hot starts and noise), at ``steps`` (default
    all common ones): ΔC_k(r, t), Δm_k(t), ΔL_k(t), far less noisy than a difference of means.
    Returns ``dict(step (T,), r (n_r,), n, dC, dC_se (T, n_r), dm, dm_se, dL, dL_se (T,))``: means
    over the n replicas and standard errors σ/√n.
    """
    (ia, ra), (ib, rb) = a, b
    for key in ("seeds", "L", "every"):
        if ia[key] != ib[key]:
            raise ValueError(f"the runs are not paired: {key} differ ({ia[key]} and {ib[key]})")
    common = np.intersect1d(ra["step"], rb["step"]) if steps is None else np.asarray(steps, dtype=np.int64)
    ka, kb = (np.searchsorted(r["step"], common) for r in (ra, rb))
    if not (np.array_equal(ra["step"][ka], common) and np.array_equal(rb["step"][kb], common)):
        raise ValueError(f"steps {common} are not recorded in both runs")
    n = len(seed_list(ia["seeds"]))
    out = dict(step=common, r=np.asarray(ra["r"]), n=n)
    for name, key in (("dC", "C"), ("dm", "m"), ("dL", "L")):
        d = np.asarray(ra[key], float)[ka] - np.asarray(rb[key], float)[kb]       # (T, n, ...)
        out[name] = d.mean(axis=1)
        out[name + "_se"] = d.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(out[name], np.nan)
    return out


def paired_test(d: dict, steps, r_max: float = 6.0, z: float = 2.0, tol: float = 0.01) -> list[dict]:
    r"""The reference work's Fig. 6(a) test of :func:`paired_differences` ``d`` at each of ``steps``: is
    \|ΔC(r)\| ≤ z·SE at every r ≤ ``r_max`` (``consistent``) and z·SE ≤ ``tol`` (``sharp``)? Rows of
    ``step``, ``max_dC``, ``max_zse``, ``worst`` (max \|ΔC\|/(z·SE), ≤ 1 consistent; r = 0 counts only if
    ΔC ≠ 0), ``consistent``, ``sharp``, ``replicas_for_tol`` (n·(max z·SE / tol)²) and Δm, ΔL with
    their z·SE (JSON-ready)."""
    rows = []
    near = np.asarray(d["r"]) <= r_max
    for s in steps:
        k = np.flatnonzero(np.asarray(d["step"]) == int(s))
        if k.size != 1:
            raise ValueError(f"step {s} is not among the compared steps {list(d['step'])}")
        k = int(k[0])
        dC, zse = np.abs(d["dC"][k][near]), z * d["dC_se"][k][near]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(zse > 0, dC / zse, np.where(dC > 0, np.inf, 0.0))
        rows.append(dict(step=int(s), max_dC=float(dC.max()), max_zse=float(zse.max()), worst=float(ratio.max()),
                         consistent=bool(np.all(dC <= zse)), sharp=bool(zse.max() <= tol),
                         replicas_for_tol=int(np.ceil(d["n"] * (zse.max() / tol) ** 2)),
                         dm=float(d["dm"][k]), dm_zse=float(z * d["dm_se"][k]),
                         dL=float(d["dL"][k]), dL_zse=float(z * d["dL_se"][k])))
    return rows


def jsonable(x):
    """Plain JSON types; NaN and infinities become null (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    x = x.item() if isinstance(x, np.generic) else x
    return (x if np.isfinite(x) else None) if isinstance(x, float) else x
