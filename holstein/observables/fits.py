"""Power-law fits and the scaling collapse of coarsening: y = A x^b with standard errors, L ~ t^α,
C(r / L(t)). Lattice-independent (they take numbers, not fields)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["PowerLawFit", "fit_power_law", "GrowthFit", "fit_growth_exponent", "scaling_collapse"]


# ----------------------------------------------------------------------------- power-law fits
@dataclass(frozen=True, eq=False)
class PowerLawFit:
    """Result of :func:`fit_power_law`: y ≈ prefactor · x^slope, fitted to the points ``x``, ``y``.

    slope_err and log_prefactor_err are standard errors from the least-squares covariance
    s² (XᵀX)⁻¹ with s² = RSS / (n - 2) (NaN with only two points).
    """

    slope: float
    slope_err: float
    prefactor: float
    log_prefactor_err: float
    x: np.ndarray  # (n,) the points used
    y: np.ndarray  # (n,)

    @property
    def n_points(self) -> int:
        return int(self.x.size)

    def __call__(self, x):
        """The fitted power law prefactor · x^slope."""
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.slope


def fit_power_law(x, y, x_min: float | None = None, x_max: float | None = None,
                  min_points: int = 2) -> PowerLawFit:
    """Least-squares fit of y = A x^b on log–log axes: the one power-law fit of the package.

        log y = b log x + c,   A = e^c,   σ_b² = s² [(XᵀX)⁻¹]_bb,   s² = RSS / (n - 2)

    Points with non-finite x or y, x <= 0 or y <= 0, or outside [x_min, x_max] are ignored.
    With exactly collinear data the error is 0; with two points it is NaN.

    x, y: (n,)  ->  :class:`PowerLawFit`. Raises ValueError with fewer than ``min_points``
    (at least 2) valid points or fewer than two distinct x.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    y = np.asarray(y, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {x.size} and {y.size}")
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
        if x_min is not None:
            ok &= x >= x_min
        if x_max is not None:
            ok &= x <= x_max
    n, need = int(ok.sum()), max(2, int(min_points))
    if n < need:
        raise ValueError(f"a power-law fit needs at least {need} valid points (finite, positive, in "
                         f"[x_min, x_max]); got {n}")
    lx, ly = np.log(x[ok]), np.log(y[ok])
    if np.ptp(lx) == 0:
        raise ValueError("a power-law fit needs at least two distinct x")
    X = np.stack([lx, np.ones_like(lx)], axis=1)  # (n, 2)
    coef, *_ = np.linalg.lstsq(X, ly, rcond=None)
    if n > 2:
        resid = ly - X @ coef
        cov = float(resid @ resid) / (n - 2) * np.linalg.inv(X.T @ X)
        err, log_err = float(np.sqrt(cov[0, 0])), float(np.sqrt(cov[1, 1]))
    else:
        err = log_err = float("nan")
    return PowerLawFit(slope=float(coef[0]), slope_err=err, prefactor=float(np.exp(coef[1])),
                       log_prefactor_err=log_err, x=x[ok], y=y[ok])


@dataclass(frozen=True)
class GrowthFit:
    """Result of :func:`fit_growth_exponent`: L(t) ≈ prefactor · t^alpha.

    alpha_err and log_prefactor_err are standard errors from the least-squares covariance
    s² (XᵀX)⁻¹ with s² = RSS / (n - 2); n_points, t_min, t_max describe the points used.
    """

    alpha: float
    alpha_err: float
    prefactor: float
    log_prefactor_err: float
    n_points: int
    t_min: float
    t_max: float

    def __call__(self, t):
        """The fitted power law prefactor · t^alpha."""
        return self.prefactor * np.asarray(t, dtype=np.float64) ** self.alpha


def fit_growth_exponent(t, Lt, t_min: float | None = None, t_max: float | None = None) -> GrowthFit:
    """The coarsening law L(t) = A t^α fitted on log–log axes (:func:`fit_power_law` of L against t).

    Points with non-finite t or L, t <= 0 or L <= 0, or outside [t_min, t_max] are ignored.
    With exactly collinear data the error is 0. Allen–Cahn coarsening gives α = 1/2.

    t, Lt: (n,)  ->  :class:`GrowthFit`. Raises ValueError with fewer than 3 valid points.
    """
    f = fit_power_law(t, Lt, x_min=t_min, x_max=t_max, min_points=3)
    return GrowthFit(alpha=f.slope, alpha_err=f.slope_err, prefactor=f.prefactor,
                     log_prefactor_err=f.log_prefactor_err, n_points=f.n_points, t_min=float(f.x.min()),
                     t_max=float(f.x.max()))


# ----------------------------------------------------------------------------- scaling collapse
def scaling_collapse(r, C_list, L_list) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rescale correlations for the dynamic-scaling collapse C(r, t) = f(r / L(t)).

    r: one (n,) array shared by all curves, or a list of arrays, one per curve;
    C_list: list of (n_k,) arrays; L_list: the domain sizes L(t_k) (finite and > 0).
    Returns ``[(r_k / L_k, C_k), ...]``. Raises ValueError on mismatched lengths or bad L.
    """
    C_list = [np.asarray(C, dtype=np.float64) for C in C_list]
    L_arr = np.asarray(L_list, dtype=np.float64).ravel()
    if len(C_list) != L_arr.size:
        raise ValueError(f"C_list and L_list must have the same length, got {len(C_list)} and {L_arr.size}")
    if not np.all(np.isfinite(L_arr) & (L_arr > 0)):
        raise ValueError(f"every domain size must be finite and > 0, got {L_arr}")
    if isinstance(r, (list, tuple)):
        r_list = [np.asarray(rk, dtype=np.float64) for rk in r]
        if len(r_list) != len(C_list):
            raise ValueError(f"r list and C_list must have the same length, got {len(r_list)} and {len(C_list)}")
    else:
        r_list = [np.asarray(r, dtype=np.float64)] * len(C_list)
    out = []
    for rk, Ck, Lk in zip(r_list, C_list, L_arr):
        if rk.shape != Ck.shape:
            raise ValueError(f"r and C must have the same shape, got {rk.shape} and {Ck.shape}")
        out.append((rk / Lk, Ck))
    return out
