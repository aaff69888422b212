"""Figures of the force fields (chapters 3-6): parity, error histogram, learning curves against
epoch and training time, the receptive field, NVE energy conservation, cost and accuracy against L.
Conventions of :mod:`holstein.plotting` (a model in its :func:`model_color`).
"""
from __future__ import annotations

import numpy as np

from .observables import fit_power_law
from .plotting import TIME_LABEL, _labels, _legend, _np, legend_outside, model_color, model_colors, plot_field

__all__ = ["F_ED_LABEL", "F_ML_LABEL", "plot_parity", "plot_error_histogram", "plot_history",
           "plot_val_rmse", "plot_learning_curves", "plot_receptive_field", "plot_energy_exchange",
           "plot_energy_error", "plot_cost_scaling", "plot_size_study", "plot_heldout_by_set"]

F_ED_LABEL = r"$F_i^{\mathrm{ED}}$ ($t$ per unit $Q$)"
F_ML_LABEL = r"$F_i^{\mathrm{ML}}$ ($t$ per unit $Q$)"


def _series(F_true, F_pred) -> tuple[list, list]:
    """Flattened float64 series (one per entry of a list or tuple, else one) of equal shapes."""
    trues, preds = ([_np(x).ravel() for x in (a if isinstance(a, (list, tuple)) else [a])] for a in (F_true, F_pred))
    if len(trues) != len(preds) or any(t.shape != p.shape for t, p in zip(trues, preds)):
        raise ValueError("F_true and F_pred must have the same shapes (or be lists of equal-shape arrays)")
    return trues, preds


def plot_parity(ax, F_true, F_pred, label=None, kind="auto", max_points=20000, seed=0, **kw):
    """Predicted against ED forces (t per unit Q) with the dashed line F_ML = F_ED and the RMSE
    sqrt(⟨(F_ML - F_ED)²⟩) of each series; a series labelled with a model's name in its :func:`model_color`.

    ``F_true``, ``F_pred``: equal-shape arrays, or lists of them (one series each, ``label`` a list).
    ``kind``: ``"scatter"`` (series above ``max_points`` subsampled for drawing; a legend with the
    RMSEs), ``"hexbin"`` (one series: the count of forces per hexagon on a log colour scale with its
    colour bar, the RMSE in a box in the upper-left corner, no legend) or ``"auto"`` (hexbin for one
    series above ``max_points``). Returns the artists, one per series.
    """
    trues, preds = _series(F_true, F_pred)
    labels = label if isinstance(label, (list, tuple)) else [label] * len(trues)
    labels = _labels(labels, len(trues))
    if kind == "auto":
        kind = "hexbin" if len(trues) == 1 and trues[0].size > max_points else "scatter"
    if kind not in ("scatter", "hexbin"):
        raise ValueError(f"kind must be 'auto', 'scatter' or 'hexbin', got {kind!r}")
    if kind == "hexbin" and len(trues) > 1:
        raise ValueError("hexbin draws a single series; use kind='scatter' for several")
    rng = np.random.default_rng(seed)
    artists = []
    for t, p, lab, color in zip(trues, preds, labels, model_colors(labels)):
        rmse = float(np.sqrt(np.mean((p - t) ** 2))) if t.size else float("nan")
        text = f"RMSE = {rmse:.3g}" if lab is None else f"{lab}: RMSE = {rmse:.3g}"
        if kind == "hexbin":
            art = ax.hexbin(t, p, gridsize=kw.pop("gridsize", 60), bins="log", mincnt=1,
                            cmap=kw.pop("cmap", "viridis"), **kw)
            ax.figure.colorbar(art, ax=ax, label="forces per hexagon (count, log scale)")
            ax.text(0.04, 0.96, text + "\ndashed: $F^{\\mathrm{ML}} = F^{\\mathrm{ED}}$", transform=ax.transAxes,
                    ha="left", va="top", fontsize="small", bbox=dict(boxstyle="round", fc="white", ec="0.6", alpha=0.9))
        else:
            if t.size > max_points:
                sel = rng.choice(t.size, max_points, replace=False)
                t, p = t[sel], p[sel]
            art = ax.scatter(t, p, s=kw.get("s", 4), alpha=kw.get("alpha", 0.5), lw=0, rasterized=True,
                             color=color, label=text)
        artists.append(art)
    allv = np.concatenate(trues + preds) if trues else np.zeros(1)
    lo, hi = (float(allv.min()), float(allv.max())) if allv.size else (-1.0, 1.0)
    pad = 0.03 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label=r"$F^{\mathrm{ML}} = F^{\mathrm{ED}}$")
    ax.set(xlim=(lo - pad, hi + pad), ylim=(lo - pad, hi + pad), xlabel=F_ED_LABEL, ylabel=F_ML_LABEL)
    ax.set_aspect("equal", adjustable="box")
    if kind == "scatter":
        ax.legend(loc="upper left", fontsize="small", markerscale=3)
    return artists


def plot_error_histogram(ax, F_true, F_pred, labels=None, bins=80, density=True):
    """Histogram (log y) of the errors F_ML - F_ED (t per unit Q), one step curve per series (as in
    :func:`plot_parity`, ``labels`` one per series, a model's name in its :func:`model_color`) on shared
    bins symmetric about 0; ``density`` normalises each to unit area. Returns ``[(counts, edges)]``.
    """
    trues, preds = _series(F_true, F_pred)
    errs = [p - t for t, p in zip(trues, preds)]
    labs = _labels(labels, len(errs))
    m = max((float(np.abs(e).max()) for e in errs if e.size), default=1.0) or 1.0
    edges = np.linspace(-m, m, bins + 1)
    out = []
    for e, lab, color in zip(errs, labs, model_colors(labs)):
        rmse = float(np.sqrt(np.mean(e**2))) if e.size else float("nan")
        text = f"RMSE = {rmse:.3g}" if lab is None else f"{lab} (RMSE = {rmse:.3g})"
        counts, _, _ = ax.hist(e, bins=edges, density=density, histtype="step", lw=1.3, color=color, label=text)
        out.append((counts, edges))
    ax.set_yscale("log")
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set(xlabel=r"$F_i^{\mathrm{ML}} - F_i^{\mathrm{ED}}$ ($t$ per unit $Q$)",
           ylabel="probability density" if density else "count")
    ax.legend(fontsize="small")
    return out


SECONDS_LABEL = "training time (s, cumulative wall clock)"
VAL_RMSE_LABEL = r"validation RMSE of $F$ ($t$ per unit $Q$)"


def _x(history, x: str) -> np.ndarray:
    """Epochs counted from 1 (``x="epoch"``) or the cumulative seconds at the end of each epoch."""
    if x == "epoch":
        return np.asarray(history["epoch"], dtype=float) + 1
    if x == "seconds":
        return np.cumsum(history["seconds"], dtype=float)
    raise ValueError(f"x must be 'epoch' or 'seconds', got {x!r}")


def _x_axis(ax, x: str) -> None:
    if x == "epoch":
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
    else:
        ax.set_xscale("log")
        ax.set_xlabel(SECONDS_LABEL)


def plot_history(ax, history, label=None, x="epoch", color=None):
    """Training (solid, circles) and validation (dashed, squares) loss λ ⟨(F_ML - F_ED)²⟩ / f_scale²
    (log y) of a :func:`holstein.train.train` history, against epoch or (``x="seconds"``) the cumulative
    training time (log x); ``label`` (a model's name) prefixes the legend entries and gives the colour
    (:func:`model_color`) unless ``color`` is given. Several histories on one Axes: the legend goes
    outside, on the right. Returns the two ``Line2D``.
    """
    for key in ("epoch", "train_loss", "val_loss") + (("seconds",) if x == "seconds" else ()):
        if key not in history:
            raise ValueError(f"history has no {key!r} (keys: {sorted(history)})")
    t = _x(history, x)
    pre = "" if label is None else f"{label}: "
    color = color if color is not None or label is None else model_color(label)
    (lt,) = ax.plot(t, history["train_loss"], "o-", ms=3, color=color, label=pre + "training")
    (lv,) = ax.plot(t, history["val_loss"], "s--", ms=3, color=lt.get_color(), label=pre + "validation")
    ax.set_yscale("log")
    _x_axis(ax, x)
    ax.set_ylabel(r"loss $\lambda\,\langle(F^{\mathrm{ML}}-F^{\mathrm{ED}})^2\rangle/f_{\mathrm{scale}}^2$")
    _legend(ax, "right" if len(ax.get_legend_handles_labels()[0]) > 2 else "inside", fontsize="small")
    return lt, lv


def plot_val_rmse(ax, curves: dict, x="seconds", legend="below"):
    """Validation force RMSE (t per unit Q, the same for every model whatever its loss) against the
    cumulative training time (``x="seconds"``, log-log) or epoch, one line per run of
    ``curves = {label: history}`` in the label's :func:`model_color`; reference models (no "lean" in the
    name) dashed. ``legend``: "below", "right", "inside" or None. Returns the lines."""
    lines = []
    for (label, h), color in zip(curves.items(), model_colors(list(curves))):
        lines += ax.plot(_x(h, x), h["val_rmse"], marker="o", ms=2.5, color=color, label=label,
                         ls="-" if "lean" in label else "--")
    ax.set_yscale("log")
    _x_axis(ax, x)
    ax.set_ylabel(VAL_RMSE_LABEL)
    _legend(ax, legend, fontsize="small")
    return lines


def plot_learning_curves(axes, curves: dict):
    """:func:`plot_history` (top) and :func:`plot_val_rmse` (bottom) of ``curves = {label: history}`` on a
    2 × 2 grid ``axes``, against epoch (left) and training time (right), each model in its
    :func:`model_color`; the legends (the same in both columns) right of the right column. Returns ``axes``."""
    axes = np.asarray(axes)
    if axes.shape != (2, 2):
        raise ValueError(f"need a 2 x 2 grid of axes, got shape {axes.shape}")
    colors = dict(zip(curves, model_colors(list(curves))))
    for col, x in enumerate(("epoch", "seconds")):
        for label, h in curves.items():
            plot_history(axes[0, col], h, label=label, x=x, color=colors[label])
        plot_val_rmse(axes[1, col], curves, x=x, legend=None)
    for row in axes:
        if row[0].get_legend() is not None:
            row[0].get_legend().remove()
        legend_outside(row[1], fontsize="small")
    return axes


def plot_receptive_field(ax, sensitivity, n_hops: int, cutoff2: float = 13):
    """log10 |∂F_c/∂Q_j| around the centre c of an (L, L) ``sensitivity`` (from
    :func:`holstein.models.checks.force_sensitivity`; zeros blank), with the diamond
    |Δx| + |Δy| ≤ ``n_hops`` and the descriptors' circle r² = ``cutoff2``. Returns the image."""
    import matplotlib.pyplot as plt

    grad = _np(sensitivity)
    c = grad.shape[0] // 2
    im = plot_field(ax, np.log10(np.where(grad > 0, grad, np.nan)), symmetric=False, cmap="viridis",
                    label=r"$\log_{10}|\partial F_c/\partial Q_j|$ ($t$ per unit $Q^2$)")
    r = n_hops + 0.5  # through the outer edges of the n-hop pixels
    ax.plot(c + np.array([0, r, 0, -r, 0]), c + np.array([r, 0, -r, 0, r]), "--", color="C1", lw=1.2,
            label=rf"$|\Delta x| + |\Delta y| \leq {n_hops}$")
    ax.add_patch(plt.Circle((c, c), np.sqrt(cutoff2), fill=False, color="r", lw=1.2))
    ax.plot([], [], "r-", label=rf"$r = \sqrt{{{cutoff2:g}}}$")
    ax.legend(loc="lower left", fontsize="small")
    return im


def plot_energy_exchange(ax, run: dict):
    """E_model - E(0), K - K(0) and H - H(0) of an NVE run (:func:`holstein.nve.run`). Returns the lines."""
    t, E, K = run["time"], run["E"], run["K"]
    lines = ax.plot(t, E - E[0], label=r"$E_{\mathrm{model}} - E_{\mathrm{model}}(0)$")
    lines += ax.plot(t, K - K[0], label=r"$K - K(0)$")
    lines += ax.plot(t, E + K - E[0] - K[0], "k", lw=2, label=r"$H - H(0)$, $H = E_{\mathrm{model}} + K$")
    ax.set(xlabel=TIME_LABEL, ylabel=r"energy change ($t$)")
    ax.legend(fontsize="small")
    return lines


def plot_energy_error(ax, runs: dict):
    """[H(t) - H(0)] / ⟨K⟩ of NVE runs {label: :func:`holstein.nve.run`}. Returns the lines."""
    lines = []
    for label, r in runs.items():
        lines += ax.plot(r["time"], (r["H"] - r["H"][0]) / r["K"].mean(), label=label)
    ax.set(xlabel=TIME_LABEL, ylabel=r"$[H(t) - H(0)] / \langle K \rangle$", title="relative energy error")
    ax.legend(fontsize="small")
    return lines


def plot_cost_scaling(ax, timing: dict, names, legend="below"):
    """Time per force evaluation (s) against N = L² (log-log) of ``names`` from ``timing = {(name, L): s}``,
    each in its :func:`model_color` (ED thick, reference models dashed), the legend (``legend``: "below",
    "right", "inside" or None) with the power-law slope of the three largest N. Returns {name: (slope, its
    error)}."""
    slopes = {}
    for name, color in zip(names, model_colors(list(names))):
        pts = sorted((L * L, t) for (n, L), t in timing.items() if n == name)
        if len(pts) < 2:
            continue
        N, t = map(np.array, zip(*pts))
        fit = fit_power_law(N[-3:], t[-3:])
        slope, err = slopes[name] = fit.slope, fit.slope_err
        style = dict(color=color, lw=2) if name == "ed" else dict(color=color, ls="-" if "lean" in name else "--")
        ax.loglog(N, t, "o", label=f"{name}: slope {slope:.2f}" + ("" if np.isnan(err) else f" ± {err:.2f}"), **style)
    ax.set(xlabel=r"number of sites $N = L^2$", ylabel=r"time per force evaluation $\tau$ (s)")
    _legend(ax, legend, fontsize=8)
    return slopes


def plot_size_study(ax, results, inputs=("local", "median"), kinds=("random", "quench")):
    """Held-out RMSE / force std (%) against L of ``size_study.json``'s ``results`` (dicts with L, input
    and one relative error per kind), one line per input and kind, log y. Returns the lines."""
    lines = []
    for inp, marker in zip(inputs, "osd^"):
        for kind, ls in zip(kinds, ("-", "--", ":")):
            pts = sorted((r["L"], r[kind]) for r in results if r["input"] == inp)
            lines += ax.plot([p[0] for p in pts], [100 * p[1] for p in pts], marker=marker, ls=ls,
                             label=f"{inp}, {kind}")
    ax.set(xlabel=r"lattice size $L$", ylabel="held-out RMSE / force std (%)", yscale="log")
    legend_outside(ax)
    return lines


def plot_heldout_by_set(ax, rows: dict, sets=("L40", "L24"), kinds=("random", "quench"), legend="right"):
    """Held-out RMSE / force std (%) as grouped bars, one group per model of ``rows = {model: {set:
    {kind: force_metrics}}}`` (e.g. ``L40/heldout.json``) in the model's :func:`model_color`, one bar per
    (set, kind): later sets lighter, quench hatched; log y; a legend (``legend``: "right", "below",
    "inside", None) of what shade and hatch mean. Returns the ``BarContainer`` list, one per (set, kind)."""
    from matplotlib.patches import Patch

    names = list(rows)
    colors = model_colors(names)
    pairs = [(s, k) for s in sets for k in kinds]
    width = 0.8 / len(pairs)
    shade = {s: 0.95 - 0.5 * j / max(len(sets) - 1, 1) for j, s in enumerate(sets)}
    bars = []
    for j, (s, k) in enumerate(pairs):
        vals = [100 * rows[n].get(s, {}).get(k, {}).get("rmse_over_std", np.nan) for n in names]
        bars.append(ax.bar(np.arange(len(names)) + (j - (len(pairs) - 1) / 2) * width, vals, width, color=colors,
                           alpha=shade[s], hatch="//" if k == "quench" else None, edgecolor="0.25", lw=0.4))
    key = [Patch(color="0.35", alpha=shade[s], label=f"{s} held-out") for s in sets]
    key += [Patch(fc="white", ec="0.25", hatch="//" if k == "quench" else None, label=k) for k in kinds]
    ax.set_xticks(np.arange(len(names)), names, rotation=20, ha="right")
    ax.set(yscale="log", ylabel="held-out RMSE / force std (%)")
    _legend(ax, legend, fontsize=8, handles=key)
    return bars

