r"""The CDW transition temperature from the Binder cumulant of the checkerboard order parameter.

For the staggered order m = (1/N) Σ_i (-1)^{x_i + y_i} Q_i of an L×L lattice in equilibrium at kT,

    U_L(kT) = 1 - ⟨m⁴⟩ / (3 ⟨m²⟩²),

which tends to 2/3 in the ordered phase (m = ±m0) and to 0 in the disordered phase (m Gaussian),
and is size independent at the critical point, up to corrections to scaling: the curves U_L(kT)
of two sizes cross at T_c (Binder, Z. Phys. B 43, 119 (1981)). The Ising universality class of
the checkerboard order puts the crossing at U* ≈ 0.61.

Errors: the samples of one run are correlated in time, so every error is a jackknife over
*replicas* (:func:`jackknife_error`). Arrays are numpy: ``m (T, B)``, T recorded times (after
equilibration) of B replicas.
"""
from __future__ import annotations

import numpy as np

__all__ = ["jackknife_error", "binder", "binder_jackknife", "crossing", "crossing_jackknife"]


def jackknife_error(loo) -> float:
    """σ = sqrt((B-1)/B Σ_b (x_(b) - x̄)²) of the B leave-one-replica-out estimates ``loo``."""
    loo = np.asarray(loo, dtype=np.float64)
    return float(np.sqrt((len(loo) - 1) / len(loo) * np.sum((loo - loo.mean()) ** 2)))


def binder(m) -> float:
    """U = 1 - ⟨m⁴⟩/(3⟨m²⟩²) over all samples of ``m`` (any shape)."""
    m = np.asarray(m, dtype=np.float64)
    m2, m4 = np.mean(m**2), np.mean(m**4)
    return float(1.0 - m4 / (3.0 * m2**2))


def binder_jackknife(m) -> tuple[float, float, np.ndarray]:
    """(U, its jackknife error, the B leave-one-replica-out values) of ``m: (T, B)``, B >= 2."""
    m = np.asarray(m, dtype=np.float64)
    B = m.shape[1]
    if B < 2:
        raise ValueError(f"a jackknife over replicas needs at least 2 replicas, got {B}")
    loo = np.array([binder(np.delete(m, b, axis=1)) for b in range(B)])
    return binder(m), jackknife_error(loo), loo


def crossing(kT, U_small, U_large) -> float:
    """The temperature where U_small(kT) - U_large(kT) changes sign (linear interpolation between the
    two neighbouring grid points of the first sign change), or NaN if it never does.

    Below T_c the larger lattice is more ordered (U_large > U_small), above it less."""
    kT, d = np.asarray(kT, dtype=np.float64), np.asarray(U_small, float) - np.asarray(U_large, float)
    order = np.argsort(kT)
    kT, d = kT[order], d[order]
    for i in range(len(kT) - 1):
        if d[i] == 0:
            return float(kT[i])
        if d[i] * d[i + 1] < 0:
            return float(kT[i] - d[i] * (kT[i + 1] - kT[i]) / (d[i + 1] - d[i]))
    return float(kT[-1]) if len(d) and d[-1] == 0 else float("nan")


def crossing_jackknife(kT, m_small: list, m_large: list) -> tuple[float, float]:
    """T_c from the crossing of two sizes' U(kT), with a jackknife error over replicas.

    ``m_small[i], m_large[i]: (T, B)`` at temperature ``kT[i]`` (the same B everywhere); leaving
    out replica b at every temperature of both sizes gives B crossings, whose spread is the error.
    """
    tc = crossing(kT, [binder(m) for m in m_small], [binder(m) for m in m_large])
    B = min(np.asarray(m).shape[1] for m in (*m_small, *m_large))
    loo = np.array([crossing(kT, [binder(np.delete(m, b, 1)) for m in m_small],
                             [binder(np.delete(m, b, 1)) for m in m_large]) for b in range(B)])
    loo = loo[np.isfinite(loo)]
    return tc, jackknife_error(loo) if len(loo) > 1 else float("nan")
