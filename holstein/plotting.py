"""Figure helpers reused across chapters: neighbour shells, fields, S(q), C(r), the collapse, L(t),
paired ensembles, the density of states, the KPM convergence and the speed benchmark.

Each helper draws on the matplotlib ``Axes`` passed in (no pyplot state), labels every axis with
symbols and units (lengths in lattice spacings, time in ħ/t) and returns what it drew. The
force-field figures live in :mod:`holstein.plotting_models`, the temperature ones in
:mod:`holstein.plotting_kT`.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import observables as obs

__all__ = ["plot_shells", "plot_field", "plot_structure_factor", "plot_correlations", "plot_collapse",
           "plot_domain_growth", "plot_paired", "plot_dos", "plot_kpm_convergence", "speed_figures", "plot_speed"]


TIME_LABEL = r"time $t$ ($\hbar/t_{\mathrm{hop}}$)"


def _np(a):
    if type(a).__module__.startswith("torch"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def plot_shells(ax):
    """The 8 neighbour shells r² ∈ SHELL_RADII2 of a site on the grid of offsets (δx, δy), with their
    circles and site counts. Returns the scatter collections."""
    import matplotlib.pyplot as plt

    from .lattice import SHELL_RADII2, shell_offsets

    shells = shell_offsets()
    rmax = int(np.ceil(np.sqrt(max(SHELL_RADII2))))
    gx, gy = np.meshgrid(np.arange(-rmax, rmax + 1), np.arange(-rmax, rmax + 1))
    ax.scatter(gx, gy, s=12, color="0.85", zorder=0)
    arts = [ax.scatter([0], [0], s=160, color="k", marker="*", label="site $i$", zorder=3)]
    for c, r2, offs in zip(plt.cm.tab10(np.arange(len(shells))), SHELL_RADII2, shells):
        arts.append(ax.scatter(offs[:, 0], offs[:, 1], s=90, color=c, label=rf"$r^2 = {r2}$ ({len(offs)})", zorder=2))
        ax.add_patch(plt.Circle((0, 0), np.sqrt(r2), fill=False, color=c, lw=0.6, alpha=0.6))
    ax.set(aspect="equal", xlabel=r"$\delta_x$ (lattice spacings)", ylabel=r"$\delta_y$ (lattice spacings)",
           title=f"{1 + sum(len(s) for s in shells)} sites within r ≤ √{max(SHELL_RADII2)}")
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize="small")
    return arts


def plot_field(ax, field, title=None, cmap="RdBu_r", symmetric=True, label=None):
    """A lattice field (L, L) as an image, x to the right and y up, with a colorbar named ``label``;
    ``symmetric`` centres the colour scale on 0 (the two CDW phases get opposite colours).
    Returns the ``AxesImage``."""
    f = _np(field)
    if f.ndim != 2:
        raise ValueError(f"field must have shape (L, L), got {f.shape}")
    vmax = float(np.max(np.abs(f))) or 1.0
    kw = dict(vmin=-vmax, vmax=vmax) if symmetric else {}
    Lx, Ly = f.shape
    im = ax.imshow(f.T, origin="lower", cmap=cmap, interpolation="nearest",
                   extent=(-0.5, Lx - 0.5, -0.5, Ly - 0.5), **kw)
    ax.figure.colorbar(im, ax=ax, label=label)
    ax.set(xlabel=r"$x$ (lattice spacings)", ylabel=r"$y$ (lattice spacings)")
    if title is not None:
        ax.set_title(title)
    return im


def plot_structure_factor(ax, S, log=False, cmap="viridis", title=None):
    """S(q) on q ∈ [0, 2π)², axes qx/π and qy/π. S: (L, L) in FFT order (as from
    :func:`holstein.observables.structure_factor`), or (..., L, L), averaged over the leading dims;
    ``log``: log10(S + tiny). Returns the ``AxesImage``."""
    S = _np(S)
    if S.ndim < 2 or S.shape[-1] != S.shape[-2]:
        raise ValueError(f"S must have shape (..., L, L), got {S.shape}")
    if S.ndim > 2:
        S = S.reshape((-1,) + S.shape[-2:]).mean(axis=0)
    L = S.shape[-1]
    img = np.log10(S + 1e-300) if log else S
    h = 1.0 / L  # half a pixel, in units of π (pixel spacing 2π/L)
    im = ax.imshow(img.T, origin="lower", cmap=cmap, interpolation="nearest", extent=(-h, 2 - h, -h, 2 - h))
    ax.figure.colorbar(im, ax=ax, label=r"$\log_{10} S(\mathbf{q})$" if log else r"$S(\mathbf{q})$")
    ax.set(xticks=[0, 0.5, 1, 1.5], yticks=[0, 0.5, 1, 1.5], xlabel=r"$q_x / \pi$ (1/lattice spacing)",
           ylabel=r"$q_y / \pi$ (1/lattice spacing)")
    if title is not None:
        ax.set_title(title)
    return im


def _labels(labels, n):
    labels = [None] * n if labels is None else list(labels)
    if len(labels) != n:
        raise ValueError(f"need {n} labels, got {len(labels)}")
    return labels


def plot_correlations(ax, r, C_list, labels=None, level=0.5, marker="o"):
    """C(r) curves (r shared, or one array per curve) with the level C = 1/2 that defines the domain
    size. Returns the ``Line2D`` list."""
    C_list = [_np(C) for C in C_list]
    r_list = [_np(rk) for rk in r] if isinstance(r, (list, tuple)) else [_np(r)] * len(C_list)
    lines = []
    for rk, Ck, lab in zip(r_list, C_list, _labels(labels, len(C_list))):
        lines += ax.plot(rk, Ck, marker=marker, ms=3, label=lab)
    if level is not None:
        ax.axhline(level, color="0.5", ls=":", lw=1)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set(xlabel=r"$r$ (lattice spacings)", ylabel=r"$C(r)$ (normalised, $C(0)=1$)")
    if labels is not None:
        ax.legend()
    return lines


def plot_collapse(ax, r, C_list, L_list, labels=None, marker="o"):
    """C against r / L(t) for several times, the dynamic-scaling collapse (arguments of
    :func:`holstein.observables.scaling_collapse`). Returns the ``Line2D`` list."""
    pairs = obs.scaling_collapse(r, C_list, L_list)
    lines = []
    for (x, C), lab in zip(pairs, _labels(labels, len(pairs))):
        lines += ax.plot(x, C, marker=marker, ms=3, ls="-", lw=0.8, label=lab)
    ax.axhline(0, color="0.8", lw=0.8)
    ax.set(xlabel=r"$r / L(t)$ (dimensionless)", ylabel=r"$C(r, t)$")
    if labels is not None:
        ax.legend()
    return lines


def plot_domain_growth(ax, t, Lt, fit=None, label="data"):
    """Log–log L(t), with the power law A t^α of ``fit`` (a :class:`holstein.observables.GrowthFit`,
    ``True`` to fit all points here, or None) over its window. Returns the fit used (or None)."""
    t, Lt = _np(t), _np(Lt)
    ax.loglog(t, Lt, "o", ms=4, label=label)
    if fit is True:
        fit = obs.fit_growth_exponent(t, Lt)
    if fit is not None:
        tt = np.geomspace(fit.t_min, fit.t_max, 100)
        ax.loglog(tt, fit(tt), "-", color="k", lw=1,
                  label=rf"$L \propto t^{{\alpha}}$, $\alpha = {fit.alpha:.3f} \pm {fit.alpha_err:.3f}$")
    ax.set(xlabel=TIME_LABEL, ylabel=r"$L(t)$ (lattice spacings)")
    ax.legend()
    return fit


def plot_paired(ax, bx, x, values: dict, diffs: dict, reference: str = "ed", ylabel: str = "", z: float = 2.0):
    r"""Paired ensembles against a reference: on ``ax`` each ensemble's replica mean of ``values``
    {label: (X, B) array} against ``x (X,)`` (band: its standard error; NaNs ignored), on ``bx`` each
    one's paired difference from the ``reference`` {label: (mean (X,), SE (X,))}, as from
    :func:`holstein.quench.paired_differences`, with a ± ``z``·SE band. Returns {label: (mean, sem)}."""
    out = {}
    for key, v in values.items():
        v = np.asarray(v, float)
        n = np.sum(np.isfinite(v), axis=1)
        mean = np.nanmean(v, axis=1)
        sem = np.nanstd(v, axis=1, ddof=1) / np.sqrt(np.maximum(n, 1))
        out[key] = (mean, sem)
        line, = ax.plot(x, mean, label=key, lw=2.2 if key == reference else 1, color="k" if key == reference else None)
        ax.fill_between(x, mean - sem, mean + sem, color=line.get_color(), alpha=0.2)
    for key, (d, se) in diffs.items():
        line, = bx.plot(x, d, label=key, lw=1)
        bx.fill_between(x, d - z * se, d + z * se, color=line.get_color(), alpha=0.2)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize="small")
    bx.axhline(0, color="0.3", lw=0.8)
    bx.set_ylabel(rf"$\Delta$ (paired, $\pm{z:g}$ SE)")
    return out


def plot_dos(ax, eps, gap_edges=None, bins=80):
    """Histogram of the single-particle energies ``eps`` (the density of states), dashed lines at
    ``gap_edges`` (e.g. ±gQ0). Returns the counts."""
    counts, _, _ = ax.hist(_np(eps).ravel(), bins=bins, density=True, color="tab:blue", alpha=0.7,
                           label="ED eigenvalues")
    for e in gap_edges or ():
        ax.axvline(e, color="k", ls="--", lw=1)
    ax.set(xlabel=r"energy $\varepsilon$ (units of $t$)", ylabel="density of states")
    ax.legend(loc="upper right")
    return counts


def plot_kpm_convergence(ax, moments, errors: dict, bounds: dict | None = None, level: float = 1e-3):
    """max_i |n^KPM - n^ED| against the Chebyshev moments M (log y), one series per label of ``errors``
    with its estimate ``bounds[label]`` dashed, a dotted line at ``level``. Returns the error lines."""
    lines = []
    for label, err in errors.items():
        (line,) = ax.semilogy(moments, err, "o-", label=label)
        lines.append(line)
        if bounds is not None:
            ax.semilogy(moments, bounds[label], "--", color=line.get_color(), lw=1)
    ax.axhline(level, color="k", lw=0.8, ls=":")
    ax.set(xlabel="Chebyshev moments $M$", ylabel=r"$\max_i |n_i^{\mathrm{KPM}} - n_i^{\mathrm{ED}}|$")
    ax.legend(fontsize=8)
    return lines


# ----------------------------------------------------------------------------- speed benchmark
def plot_speed(res: dict, stem) -> list[Path]:
    """The :func:`speed_figures` of a :func:`holstein.bench.bench_speed` result, written as
    ``<stem>_scaling.png`` and ``<stem>_ensemble.png``; returns the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(f"{stem.name}_{kind}.png") for kind in ("scaling", "ensemble")]
    for fig, path in zip(speed_figures(res), paths):
        fig.savefig(path, dpi=120)
    return paths


def speed_figures(res: dict) -> tuple:
    """Two Figures of a :func:`holstein.bench.bench_speed` result (e.g. the committed ``speed.json``).

    Scaling: (a) time per force evaluation against N = L² with c·N³ through ED's largest point and
    c·N through the lean model's, (b) site-steps per second, (c) peak memory of a step. Ensemble:
    site-steps per second against the replicas B, and the reference step against the lean one.
    """
    from matplotlib.figure import Figure

    by = {}
    for r in res["results"]:
        by.setdefault(r["method"], []).append(r)
    scaling = Figure(figsize=(15, 4.6), layout="constrained")
    axes = scaling.subplots(1, 3)
    for name, rs in by.items():
        rs = sorted(rs, key=lambda r: r["N"])
        N = np.array([r["N"] for r in rs], dtype=float)
        style = dict(marker="o", ls="-", lw=2.5 if name in ("ed", "kpm") else 1.5,
                     label=name if name in ("ed", "kpm") else f"{name} ({res['methods'][name]['parameters']:,} par.)")
        axes[0].loglog(N, [r["t_force_s"] for r in rs], **style)
        axes[1].loglog(N, [r["site_steps_per_s"] for r in rs], **style)
        mem = [(n, r["mem_peak_bytes"] / 2 ** 20) for n, r in zip(N, rs) if r.get("mem_peak_bytes")]
        if mem:
            axes[2].loglog(*zip(*mem), **style)
    for name, power, ls in (("ed", 3, "--"), (res["scaling"].get("headline"), 1, ":")):
        rs = sorted(by.get(name, []), key=lambda r: r["N"])
        if rs:
            N = np.array([r["N"] for r in rs], dtype=float)
            axes[0].loglog(N, rs[-1]["t_force_s"] * (N / N[-1]) ** power, "k", ls=ls, lw=1,
                           label=rf"$\propto N^{power}$" if power > 1 else r"$\propto N$")
    for ax, title, ylabel in zip(axes, ("(a) force evaluation", "(b) Langevin dynamics step", "(c) memory"),
                                 ("time per force evaluation (s)", "site-steps per second ($N / t_{\\mathrm{step}}$)",
                                  "peak memory of a step (MiB)")):
        ax.set(xlabel=r"sites $N = L^2$", ylabel=ylabel, title=title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    m = res["machine"]
    scaling.suptitle(f"{m.get('gpu') or m.get('cpu_model') or m['processor']} ({m['device']}, {m['threads']} threads)",
                     fontsize=9)
    ensemble = Figure(figsize=(10, 4.2), layout="constrained")
    ax, bx = ensemble.subplots(1, 2)
    ens = res["ensemble"]
    for dt in sorted({r["dtype"] for r in ens["results"]}):
        rs = sorted((r for r in ens["results"] if r["dtype"] == dt), key=lambda r: r["B"])
        ax.loglog([r["B"] for r in rs], [r["site_steps_per_s"] for r in rs], "o-",
                  label=f"{ens['model']} {dt.split('.')[-1]}")
        ax.set_xscale("log", base=2)
    ax.set(xlabel="replicas $B$", ylabel="site-steps per second ($B N / t_{\\mathrm{step}}$)",
           title=f"(a) ensemble throughput, L = {ens['L']}")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ref = res["reference"]
    if ref.get("status") == "ok" and ref["results"]:
        x = np.arange(len(ref["results"]))
        for k, (key, label) in enumerate((("t_step_reference_s", "reference (PyG, float64, loops)"),
                                          ("t_step_lean_float64_s", f"{ref['lean_model']} float64"),
                                          ("t_step_lean_float32_s", f"{ref['lean_model']} float32"))):
            bars = bx.bar(x + (k - 1) * 0.27, [r[key] for r in ref["results"]], 0.27, label=label, log=True)
            if k:
                bx.bar_label(bars, [f"×{r['speedup_' + key.split('_')[-2]]:.3g}" for r in ref["results"]], fontsize=8)
        bx.set_xticks(x, [f"L = {r['L']}" for r in ref["results"]])
        bx.set_ylabel("time per dynamics step (s)")
        bx.legend(fontsize=8)
    bx.set_title("(b) reference approach vs lean model")
    return scaling, ensemble
