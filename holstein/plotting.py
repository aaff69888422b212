"""The few figure helpers reused across chapters: fields, S(q), C(r), the collapse, L(t).

Each helper draws on a matplotlib ``Axes`` passed in (no pyplot state, no backend choice),
labels every axis with symbols and units (lengths in lattice spacings a = 1, time in units of
ħ/t with t the hopping) and returns what it drew, so a notebook can restyle it.
"""
from __future__ import annotations

import numpy as np

from . import observables as obs

__all__ = ["plot_field", "plot_structure_factor", "plot_correlations", "plot_collapse", "plot_domain_growth"]

TIME_LABEL = r"time $t$ ($\hbar/t_{\mathrm{hop}}$)"
R_LABEL = r"$r$ (lattice spacings)"


def _np(a):
    if type(a).__module__.startswith("torch"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def plot_field(ax, field, title=None, cmap="RdBu_r", symmetric=True, label=None):
    """Show a lattice field (L, L) as an image, x to the right and y up, with a colorbar.

    ``symmetric=True`` centres the colour scale on 0 (vmin = -vmax = -max|field|), so the two
    CDW phases (φ = ±Q0) get opposite colours. ``label`` names the colorbar (e.g. r"$\\phi_i$").
    Returns the ``AxesImage``.
    """
    f = _np(field)
    if f.ndim != 2:
        raise ValueError(f"field must have shape (L, L), got {f.shape}")
    kw = {}
    if symmetric:
        vmax = float(np.max(np.abs(f))) or 1.0
        kw = dict(vmin=-vmax, vmax=vmax)
    Lx, Ly = f.shape
    im = ax.imshow(f.T, origin="lower", cmap=cmap, interpolation="nearest",
                   extent=(-0.5, Lx - 0.5, -0.5, Ly - 0.5), **kw)
    cb = ax.figure.colorbar(im, ax=ax)
    if label is not None:
        cb.set_label(label)
    ax.set_xlabel(r"$x$ (lattice spacings)")
    ax.set_ylabel(r"$y$ (lattice spacings)")
    if title is not None:
        ax.set_title(title)
    return im


def plot_structure_factor(ax, S, log=False, cmap="viridis", title=None):
    """Show S(q) on q ∈ [0, 2π)², centred on the CDW peak (π, π), axes qx/π and qy/π.

    S: (L, L) in FFT order (as from :func:`holstein.observables.structure_factor`), or
    (..., L, L), which is averaged over the leading dims. ``log`` uses log10(S + tiny).
    Returns the ``AxesImage``.
    """
    S = _np(S)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"S must have shape (..., L, L), got {S.shape}")
    if S.ndim > 2:
        S = S.reshape((-1,) + S.shape[-2:]).mean(axis=0)
    L = S.shape[-1]
    img = np.log10(S + 1e-300) if log else S
    h = 1.0 / L  # half a pixel, in units of π (pixel spacing 2π/L)
    im = ax.imshow(img.T, origin="lower", cmap=cmap, interpolation="nearest", extent=(-h, 2 - h, -h, 2 - h))
    cb = ax.figure.colorbar(im, ax=ax)
    cb.set_label(r"$\log_{10} S(\mathbf{q})$" if log else r"$S(\mathbf{q})$")
    ax.set_xticks([0, 0.5, 1, 1.5])
    ax.set_yticks([0, 0.5, 1, 1.5])
    ax.set_xlabel(r"$q_x / \pi$ (1/lattice spacing)")
    ax.set_ylabel(r"$q_y / \pi$ (1/lattice spacing)")
    if title is not None:
        ax.set_title(title)
    return im


def _labels(labels, n):
    if labels is None:
        return [None] * n
    labels = list(labels)
    if len(labels) != n:
        raise ValueError(f"need {n} labels, got {len(labels)}")
    return labels


def plot_correlations(ax, r, C_list, labels=None, level=0.5, marker="o"):
    """Plot C(r) curves (r shared, or a list of arrays one per curve) with the level C = 1/2
    that defines the domain size. Returns the list of ``Line2D``."""
    C_list = [_np(C) for C in C_list]
    r_list = [_np(rk) for rk in r] if isinstance(r, (list, tuple)) else [_np(r)] * len(C_list)
    lines = []
    for rk, Ck, lab in zip(r_list, C_list, _labels(labels, len(C_list))):
        lines += ax.plot(rk, Ck, marker=marker, ms=3, label=lab)
    if level is not None:
        ax.axhline(level, color="0.5", ls=":", lw=1)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel(R_LABEL)
    ax.set_ylabel(r"$C(r)$ (normalised, $C(0)=1$)")
    if labels is not None:
        ax.legend()
    return lines


def plot_collapse(ax, r, C_list, L_list, labels=None, marker="o"):
    """Plot C against r / L(t) for several times: the dynamic-scaling collapse.

    Arguments as in :func:`holstein.observables.scaling_collapse`. Returns the ``Line2D`` list.
    """
    pairs = obs.scaling_collapse(r, C_list, L_list)
    lines = []
    for (x, C), lab in zip(pairs, _labels(labels, len(pairs))):
        lines += ax.plot(x, C, marker=marker, ms=3, ls="-", lw=0.8, label=lab)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set_xlabel(r"$r / L(t)$ (dimensionless)")
    ax.set_ylabel(r"$C(r, t)$")
    if labels is not None:
        ax.legend()
    return lines


def plot_domain_growth(ax, t, Lt, fit=None, label="data"):
    """Log–log plot of the domain size L(t), optionally with the fitted power law A t^α.

    ``fit``: a :class:`holstein.observables.GrowthFit`, ``True`` to fit all points here, or
    None. The fit line spans the fitted time window and its legend entry reads α ± σ_α.
    Returns the :class:`GrowthFit` used (or None).
    """
    t, Lt = _np(t), _np(Lt)
    ax.loglog(t, Lt, "o", ms=4, label=label)
    if fit is True:
        fit = obs.fit_growth_exponent(t, Lt)
    if fit is not None:
        tt = np.geomspace(fit.t_min, fit.t_max, 100)
        ax.loglog(tt, fit(tt), "-", color="k", lw=1,
                  label=rf"$L \propto t^{{\alpha}}$, $\alpha = {fit.alpha:.3f} \pm {fit.alpha_err:.3f}$")
    ax.set_xlabel(TIME_LABEL)
    ax.set_ylabel(r"$L(t)$ (lattice spacings)")
    ax.legend()
    return fit
