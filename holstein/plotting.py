"""Figure helpers reused across chapters: one colour per model, neighbour shells, fields, S(q), C(r), the
collapse, L(t), paired ensembles, the density of states, the KPM convergence and the speed benchmark.

Each helper draws on the matplotlib ``Axes`` passed in (no pyplot state), labels every axis with
symbols and units (lengths in lattice spacings, time in ħ/t) and returns what it drew; a model drawn
under its name has its colour of :func:`model_color` in every figure, and legends with several entries
sit outside the axes (:func:`legend_outside`), off the data. The force-field figures live in
:mod:`holstein.plotting_models`, the temperature ones in :mod:`holstein.plotting_kT`.
"""
from __future__ import annotations

import re
import zlib
from pathlib import Path

import numpy as np

from . import observables as obs

__all__ = ["MODEL_COLORS", "model_key", "model_color", "model_colors", "legend_outside", "plot_shells", "plot_field",
           "plot_fields", "plot_structure_factor", "plot_correlations", "plot_collapse", "plot_domain_growth",
           "plot_paired", "plot_dos", "plot_kpm_convergence", "speed_figures", "plot_speed"]


TIME_LABEL = r"time $t$ ($\hbar/t_{\mathrm{hop}}$)"


def _np(a):
    if type(a).__module__.startswith("torch"):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


# ----------------------------------------------------------------------------- one colour per model
#: The colour of every model of the book, keyed by its name without the size suffixes (_L24, _L40, _L40_L24,
#: _hc16: one model, trained on another lattice or size, keeps its colour); _extra and _T are other models.
MODEL_COLORS = {
    "ed": "#000000", "kpm": "#7f7f7f",                                   # exact references: black, grey
    "gcn_lean": "#1f77b4", "gcn_lean_mu": "#9467bd", "bp_mlp_lean": "#ff7f0e", "energy_gnn_lean": "#2ca02c",
    "gcn_lean_mu_extra": "#d62728", "gcn_lean_mu_t": "#e377c2",          # more data; temperature as input
    "gcn": "#17becf", "bp_mlp": "#8c564b", "energy_gnn": "#bcbd22",      # the reference-size models
}
#: Colours of names not in :data:`MODEL_COLORS` (none of them is one of its colours).
FALLBACK_COLORS = ("#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#5254a3", "#8ca252", "#bd9e39",
                   "#ad494a", "#a55194")
_SIZE = re.compile(r"_(?:l\d+|hc\d+)(?=_|$)")


def _bare(name) -> str:
    """``name`` lower-case, without a ``:...`` or trailing ``(...)`` decoration and the size suffixes; a force
    fingerprint (``model:<name>:<sha>...``, ``ed:...``, e.g. a run's ``identity["force"]``) gives its model's."""
    s = re.sub(r"^model:([^:]+).*", r"\1", str(name)).split(":", 1)[0].strip().lower()
    return _SIZE.sub("", re.sub(r"\s*\(.*\)\s*$", "", s))


def model_key(name) -> str | None:
    """The key of :data:`MODEL_COLORS` of a model's name (``"gcn_lean_mu_L40_L24"`` → ``"gcn_lean_mu"``,
    ``"gcn_lean_mu_T_L24 (float32)"`` → ``"gcn_lean_mu_t"``, ``"ED"`` → ``"ed"``), None for any other label."""
    key = _bare(name)
    return key if key in MODEL_COLORS else None


def model_color(name) -> str:
    """The matplotlib colour (``"#rrggbb"``) of a model, the same in every figure: its :data:`MODEL_COLORS`
    entry, else one of :data:`FALLBACK_COLORS` chosen by a hash of the name (deterministic)."""
    key = model_key(name)
    return MODEL_COLORS[key] if key else FALLBACK_COLORS[zlib.crc32(_bare(name).encode()) % len(FALLBACK_COLORS)]


def model_colors(names) -> list:
    """:func:`model_color` of each of ``names`` drawn together (None for None: matplotlib's cycle); names
    not in the map that would share a fallback colour get the next free one, so that no two series of
    one figure look alike unless they are one model."""
    out, used = [], set()
    for name in names:
        c = None if name is None else model_color(name)
        if c is not None and model_key(name) is None and c in used:
            c = next((f for f in FALLBACK_COLORS if f not in used), c)
        out.append(c)
        used.add(c)
    return out


def legend_outside(ax, where: str = "right", fontsize=8, ncol: int | None = None, handles=None, **kw):
    """The legend of ``ax`` (or of the proxy artists ``handles``) outside the axes, off the data: ``"right"``
    (centred beside it) or ``"below"`` (centred under the x-axis label, in ``ncol`` columns, default up to
    2). ``tight_layout``, a constrained layout and ``savefig(bbox_inches="tight")`` (the notebooks' inline
    figures) keep it in the figure. Returns the ``Legend``, or None where nothing is labelled."""
    handles, labels = ax.get_legend_handles_labels() if handles is None else (handles, [h.get_label() for h in handles])
    if not handles:
        return None
    if where == "right":
        return ax.legend(handles, labels, loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=fontsize, **kw)
    if where != "below":
        raise ValueError(f"where must be 'right' or 'below', got {where!r}")
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from matplotlib.transforms import offset_copy

    rc, pt = mpl.rcParams, lambda key: FontProperties(size=mpl.rcParams[key]).get_size_in_points()
    drop = rc["xtick.major.size"] + rc["xtick.major.pad"] + 1.7 * pt("xtick.labelsize") + 4
    drop += rc["axes.labelpad"] + 1.4 * pt("axes.labelsize") if ax.get_xlabel() else 0
    under = offset_copy(ax.transAxes, fig=ax.figure, y=-drop, units="points")  # below tick labels and x label
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=under,
                     ncol=ncol or min(2, len(handles)), fontsize=fontsize, **kw)


def _legend(ax, legend, fontsize=8, handles=None, **kw):
    """A helper's ``legend``: "right" or "below" (:func:`legend_outside`), "inside" (best place), None (none)."""
    if legend in (None, False):
        return None
    if legend == "inside":
        return ax.legend(**({} if handles is None else dict(handles=handles)), fontsize=fontsize, **kw)
    return legend_outside(ax, legend, fontsize=fontsize, handles=handles, **kw)


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
    legend_outside(ax, fontsize="small")
    return arts


def plot_field(ax, field, title=None, cmap="RdBu_r", symmetric=True, label=None, vmax=None, colorbar=True):
    """A lattice field ``(L, L)`` as an image, x to the right and y up (lattice spacings), with a colour bar
    named ``label`` (``colorbar=False``: none, for a grid that carries one, see :func:`plot_fields`). Colour
    scale: ±``vmax`` where given (one scale for a grid of maps), else ±max|field| (``symmetric``: centred
    on 0, the two CDW phases get opposite colours) or the field's range. Returns the ``AxesImage``."""
    f = _np(field)
    if f.ndim != 2:
        raise ValueError(f"field must have shape (L, L), got {f.shape}")
    if vmax is None and symmetric:
        vmax = float(np.max(np.abs(f))) or 1.0
    kw = {} if vmax is None else dict(vmin=-float(vmax), vmax=float(vmax))
    Lx, Ly = f.shape
    im = ax.imshow(f.T, origin="lower", cmap=cmap, interpolation="nearest",
                   extent=(-0.5, Lx - 0.5, -0.5, Ly - 0.5), **kw)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, label=label)
    ax.set(xlabel=r"$x$ (lattice spacings)", ylabel=r"$y$ (lattice spacings)")
    if title is not None:
        ax.set_title(title)
    return im


def plot_fields(axes, fields, titles=None, label=None, cmap="RdBu_r", vmax=None):
    """Lattice fields ``(n, L, L)`` (or a list of (L, L) arrays) on the first n of ``axes`` (a row or a grid),
    each as in :func:`plot_field`, on ONE symmetric colour scale ±``vmax`` (default: max |field| over all
    of them) with ONE colour bar named ``label`` beside the grid; axis labels on the outer Axes only,
    Axes left over hidden. A bar shared by several Axes needs a constrained layout: the figure gets one if
    it has no layout engine (so do not call ``plt.tight_layout`` after this). Returns the ``AxesImage``
    list, all with the clim (-vmax, vmax) (the bar: ``images[0].colorbar``)."""
    axes = list(np.ravel(np.asarray(axes, dtype=object)))
    fs = [_np(f) for f in fields]
    if not fs or len(fs) > len(axes):
        raise ValueError(f"need 1 to {len(axes)} fields for {len(axes)} Axes, got {len(fs)}")
    if vmax is None:
        vmax = max(float(np.max(np.abs(f))) for f in fs) or 1.0
    ims = [plot_field(ax, f, title=t, cmap=cmap, vmax=vmax, colorbar=False)
           for ax, f, t in zip(axes, fs, _labels(titles, len(fs)))]
    for i, ax in enumerate(axes[:len(fs)]):  # axis labels on the outer maps only
        if (spec := ax.get_subplotspec()) is not None:
            ax.set(xlabel="" if i + spec.get_gridspec().ncols < len(fs) else ax.get_xlabel(),
                   ylabel=ax.get_ylabel() if spec.is_first_col() else "")
    for ax in axes[len(fs):]:
        ax.set_visible(False)
    fig = axes[0].figure
    if fig.get_layout_engine() is None:
        fig.set_layout_engine("constrained")
    fig.colorbar(ims[0], ax=axes[:len(fs)], label=label)
    return ims


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


def plot_correlations(ax, r, C_list, labels=None, level=0.5, marker="o", legend="right"):
    """C(r) curves (r in lattice spacings, shared or one array per curve) with the level C = 1/2 that
    defines the domain size; ``legend`` "right", "below", "inside" or None (:func:`legend_outside`).
    Returns the ``Line2D`` list."""
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
        _legend(ax, legend, fontsize="small")
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
        legend_outside(ax)
    return lines


def plot_domain_growth(ax, t, Lt, fit=None, label="data"):
    """Log–log L(t) (lattice spacings) against t (ħ/t) as points, with the power law A t^α of ``fit`` (a
    :class:`holstein.observables.GrowthFit`, ``True`` to fit all points here, or None) over its window,
    dashed in the points' colour. Returns the fit used (or None)."""
    t, Lt = _np(t), _np(Lt)
    (points,) = ax.loglog(t, Lt, "o", ms=4, label=label)
    if fit is True:
        fit = obs.fit_growth_exponent(t, Lt)
    if fit is not None:
        tt = np.geomspace(fit.t_min, fit.t_max, 100)
        ax.loglog(tt, fit(tt), "--", color=points.get_color(), lw=1.6, zorder=3,  # over the points
                  label=rf"$L \propto t^{{\alpha}}$, $\alpha = {fit.alpha:.3f} \pm {fit.alpha_err:.3f}$")
    ax.set(xlabel=TIME_LABEL, ylabel=r"$L(t)$ (lattice spacings)")
    legend_outside(ax)
    return fit


def plot_paired(ax, bx, x, values: dict, diffs: dict, reference: str = "ed", ylabel: str = "", z: float = 2.0,
                legend="right"):
    r"""Paired ensembles against a reference: on ``ax`` each ensemble's replica mean of ``values``
    {label: (X, B) array} against ``x (X,)`` (band: its standard error; NaNs ignored), on ``bx`` each
    one's paired difference from the ``reference`` {label: (mean (X,), SE (X,))}, as from
    :func:`holstein.quench.paired_differences`, with a ± ``z``·SE band; each label (a model's name) in
    its :func:`model_color`, the reference thick. ``legend``: where ``ax``'s goes ("right", "below",
    "inside", None). Returns {label: (mean, sem)}."""
    colors = dict(zip(keys := list(dict.fromkeys([*values, *diffs])), model_colors(keys)))
    out = {}
    for key, v in values.items():
        v = np.asarray(v, float)
        n = np.sum(np.isfinite(v), axis=1)
        mean = np.nanmean(v, axis=1)
        sem = np.nanstd(v, axis=1, ddof=1) / np.sqrt(np.maximum(n, 1))
        out[key] = (mean, sem)
        ax.plot(x, mean, label=key, lw=2.2 if key == reference else 1, color=colors[key])
        ax.fill_between(x, mean - sem, mean + sem, color=colors[key], alpha=0.2)
    for key, (d, se) in diffs.items():
        bx.plot(x, d, label=key, lw=1, color=colors[key])
        bx.fill_between(x, d - z * se, d + z * se, color=colors[key], alpha=0.2)
    ax.set_ylabel(ylabel)
    _legend(ax, legend, fontsize="small")
    bx.axhline(0, color="0.3", lw=0.8)
    bx.set_ylabel(rf"$\Delta$ (paired, $\pm{z:g}$ SE)")
    return out


def plot_dos(ax, eps, gap_edges=None, bins=80, xlim=None, ylim=None):
    """Histogram (unit area) of the single-particle energies ``eps`` (units of t): the density of states,
    dashed lines at ``gap_edges`` (e.g. ±gQ0). ``xlim``: fixed axis and bins over that range (energies
    outside it not counted), ``ylim``: fixed density axis, so that the frames of a movie compare.
    Returns the counts ``(bins,)``."""
    counts, _, _ = ax.hist(_np(eps).ravel(), bins=bins, range=None if xlim is None else tuple(xlim), density=True,
                           color="tab:blue", alpha=0.7, label="ED eigenvalues")
    for e in gap_edges or ():
        ax.axvline(e, color="k", ls="--", lw=1)
    ax.set(xlabel=r"energy $\varepsilon$ (units of $t$)", ylabel="density of states")
    ax.set(**{key: v for key, v in (("xlim", xlim), ("ylim", ylim)) if v is not None})
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
    legend_outside(ax)
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
    """(scaling, ensemble): two Figures of a :func:`holstein.bench.bench_speed` result (e.g. the committed
    ``speed.json``), each one column of panels 7 in wide (readable at the book's column; text ≥ 9 pt),
    each method in its :func:`model_color`, reference models dashed, ED and KPM thick.

    ``scaling`` (7 × 11.5 in; against the sites N = L², log-log; the methods' legend below): (a) time per
    force evaluation (s) with c·N³ through ED's largest point and c·N through the headline lean model's,
    (b) site-steps per second of a Langevin step, (c) peak memory of a step (MiB). ``ensemble`` (7 × 8.4 in):
    (a) site-steps per second against the replicas B (float64 solid, float32 dashed), (b) seconds per
    dynamics step of the reference approach (gcn through PyG) and of the lean model, with the speed-ups."""
    from matplotlib.figure import Figure

    by = {}
    for r in res["results"]:
        by.setdefault(r["method"], []).append(r)
    scaling, ensemble = Figure(figsize=(7, 11.5), layout="constrained"), Figure(figsize=(7, 8.4), layout="constrained")
    axes, (ax, bx) = scaling.subplots(3, 1, sharex=True), ensemble.subplots(2, 1)
    for (name, rs), color in zip(by.items(), model_colors(list(by))):
        rs, exact = sorted(rs, key=lambda r: r["N"]), name in ("ed", "kpm")
        N = np.array([r["N"] for r in rs], dtype=float)
        style = dict(marker="o", ms=4, color=color, ls="-" if exact or "lean" in name else "--",
                     lw=2.5 if exact else 1.5,
                     label=name if exact else f"{name} ({res['methods'][name]['parameters']:,} par.)")
        axes[0].loglog(N, [r["t_force_s"] for r in rs], **style)
        axes[1].loglog(N, [r["site_steps_per_s"] for r in rs], **style)
        if mem := [(n, r["mem_peak_bytes"] / 2 ** 20) for n, r in zip(N, rs) if r.get("mem_peak_bytes")]:
            axes[2].loglog(*zip(*mem), **style)
    for name, power, ls in (("ed", 3, ":"), (res["scaling"].get("headline"), 1, "-.")):
        if rs := sorted(by.get(name, []), key=lambda r: r["N"]):
            N = np.array([r["N"] for r in rs], dtype=float)
            axes[0].loglog(N, rs[-1]["t_force_s"] * (N / N[-1]) ** power, color="0.3", ls=ls, lw=1.2,
                           label=(rf"$\propto N^{power}$" if power > 1 else r"$\propto N$") + f" (through {name})")
    for a, title, ylabel in zip(axes, ("(a) force evaluation", "(b) Langevin dynamics step", "(c) memory"),
                                ("time per force evaluation (s)", "site-steps per second ($N / t_{\\mathrm{step}}$)",
                                 "peak memory of a step (MiB)")):
        a.set(title=title, ylabel=ylabel)
        a.grid(True, which="both", alpha=0.3)
    axes[-1].set_xlabel(r"sites $N = L^2$")
    scaling.legend(*axes[0].get_legend_handles_labels(), loc="outside lower center", ncol=2, fontsize=9)
    m = res["machine"]
    scaling.suptitle(f"{m.get('gpu') or m.get('cpu_model') or m['processor']} ({m['device']}, {m['threads']} threads)")
    ens, ref = res["ensemble"], res["reference"]
    for dt in sorted({r["dtype"] for r in ens["results"]}, reverse=True):  # float64, then float32
        rs = sorted((r for r in ens["results"] if r["dtype"] == dt), key=lambda r: r["B"])
        ax.loglog([r["B"] for r in rs], [r["site_steps_per_s"] for r in rs], "o-" if "64" in dt else "o--",
                  color=model_color(ens["model"]), label=f"{ens['model']} {dt.split('.')[-1]}")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="replicas $B$", ylabel="site-steps per second ($B N / t_{\\mathrm{step}}$)",
           title=f"(a) ensemble throughput, L = {ens['L']}")
    ax.legend(fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    if ref.get("status") == "ok" and ref["results"]:
        x, lean = np.arange(len(ref["results"])), model_color(ref["lean_model"])
        for k, (key, label, color, hatch) in enumerate((
                ("t_step_reference_s", "reference (gcn: PyG, float64, loops)", model_color("gcn"), None),
                ("t_step_lean_float64_s", f"{ref['lean_model']} float64", lean, None),
                ("t_step_lean_float32_s", f"{ref['lean_model']} float32", lean, "//"))):
            bars = bx.bar(x + (k - 1) * 0.27, [r[key] for r in ref["results"]], 0.27, label=label, log=True,
                          color=color, hatch=hatch, alpha=0.55 if hatch else 0.9, edgecolor="k", lw=0.5)
            if k:
                bx.bar_label(bars, [f"×{r['speedup_' + key.split('_')[-2]]:.3g}" for r in ref["results"]], fontsize=9)
        bx.set_xticks(x, [f"L = {r['L']}" for r in ref["results"]])
        bx.set_ylabel("time per dynamics step (s)")
        legend_outside(bx, "below", fontsize=9, ncol=1)
    bx.set_title("(b) reference approach vs lean model")
    return scaling, ensemble
