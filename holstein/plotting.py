"""The few figure helpers reused across chapters: fields, S(q), C(r), the collapse, L(t).

Each helper draws on a matplotlib ``Axes`` passed in (no pyplot state, no backend choice),
labels every axis with symbols and units (lengths in lattice spacings a = 1, time in units of
ħ/t with t the hopping) and returns what it drew, so a notebook can restyle it. The figures
of the speed benchmark (:func:`speed_figures`) are drawn from its result dict alone.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import observables as obs

__all__ = ["plot_field", "plot_structure_factor", "plot_correlations", "plot_collapse", "plot_domain_growth",
           "speed_figures", "plot_speed"]

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


# -- force-field figures (chapters 3-5): parity, error histogram, training history ---------
F_ED_LABEL = r"$F_i^{\mathrm{ED}}$ ($t$ per unit $Q$)"
F_ML_LABEL = r"$F_i^{\mathrm{ML}}$ ($t$ per unit $Q$)"


def _as_list(a):
    """A list of flattened float64 arrays from one array or a list/tuple of arrays."""
    if isinstance(a, (list, tuple)):
        return [_np(x).ravel() for x in a]
    return [_np(a).ravel()]


def plot_parity(ax, F_true, F_pred, label=None, kind="auto", max_points=20000, seed=0, **kw):
    """Parity plot of predicted against ED forces, with the line F_ML = F_ED.

    ``F_true``, ``F_pred``: arrays of the same shape (any, flattened), or lists of such arrays
    (one series per entry, drawn with their own colour and ``label`` a list of names).
    ``kind``: ``"scatter"``, ``"hexbin"`` (log-scaled counts; for one series only) or ``"auto"``
    (hexbin above ``max_points`` points in a single series, else scatter). Scatter series with
    more than ``max_points`` points are randomly subsampled for drawing (the RMSE uses all).
    Each legend entry carries the RMSE sqrt(⟨(F_ML - F_ED)²⟩) of its series.
    Returns the list of drawn artists (one per series).
    """
    trues, preds = _as_list(F_true), _as_list(F_pred)
    if len(trues) != len(preds) or any(t.shape != p.shape for t, p in zip(trues, preds)):
        raise ValueError("F_true and F_pred must have the same shapes (or be lists of equal-shape arrays)")
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
    for t, p, lab in zip(trues, preds, labels):
        rmse = float(np.sqrt(np.mean((p - t) ** 2))) if t.size else float("nan")
        text = f"RMSE = {rmse:.3g}" if lab is None else f"{lab}: RMSE = {rmse:.3g}"
        if kind == "hexbin":
            art = ax.hexbin(t, p, gridsize=kw.pop("gridsize", 60), bins="log", mincnt=1,
                            cmap=kw.pop("cmap", "viridis"), label=text, **kw)
        else:
            if t.size > max_points:
                sel = rng.choice(t.size, max_points, replace=False)
                t, p = t[sel], p[sel]
            art = ax.scatter(t, p, s=kw.get("s", 4), alpha=kw.get("alpha", 0.5), lw=0, rasterized=True,
                             label=text)
        artists.append(art)
    allv = np.concatenate(trues + preds) if trues else np.zeros(1)
    lo, hi = (float(allv.min()), float(allv.max())) if allv.size else (-1.0, 1.0)
    pad = 0.03 * (hi - lo or 1.0)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=0.8, label=r"$F^{\mathrm{ML}} = F^{\mathrm{ED}}$")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel(F_ED_LABEL)
    ax.set_ylabel(F_ML_LABEL)
    ax.legend(loc="upper left", fontsize="small", markerscale=3)
    return artists


def plot_error_histogram(ax, F_true, F_pred, labels=None, bins=80, density=True):
    """Histogram (log y) of the force errors F_ML - F_ED, one step curve per series.

    ``F_true``, ``F_pred``: arrays (flattened) or lists of arrays, one series per entry, with
    ``labels`` one name per series (the legend adds each RMSE). All series share the same bin
    edges, symmetric about 0. ``density=True`` normalises each curve to unit area.
    Returns a list of ``(counts, edges)``.
    """
    trues, preds = _as_list(F_true), _as_list(F_pred)
    if len(trues) != len(preds) or any(t.shape != p.shape for t, p in zip(trues, preds)):
        raise ValueError("F_true and F_pred must have the same shapes (or be lists of equal-shape arrays)")
    errs = [p - t for t, p in zip(trues, preds)]
    labs = _labels(labels, len(errs))
    m = max((float(np.abs(e).max()) for e in errs if e.size), default=1.0) or 1.0
    edges = np.linspace(-m, m, bins + 1)
    out = []
    for e, lab in zip(errs, labs):
        rmse = float(np.sqrt(np.mean(e**2))) if e.size else float("nan")
        text = f"RMSE = {rmse:.3g}" if lab is None else f"{lab} (RMSE = {rmse:.3g})"
        counts, _, _ = ax.hist(e, bins=edges, density=density, histtype="step", lw=1.3, label=text)
        out.append((counts, edges))
    ax.set_yscale("log")
    ax.axvline(0, color="0.6", lw=0.8)
    ax.set_xlabel(r"$F_i^{\mathrm{ML}} - F_i^{\mathrm{ED}}$ ($t$ per unit $Q$)")
    ax.set_ylabel("probability density" if density else "count")
    ax.legend(fontsize="small")
    return out


def plot_history(ax, history, label=None):
    """Training and validation loss against epoch (log y) from a training history dict.

    ``history``: the dict written by :func:`holstein.train.train` (keys ``epoch``, ``train_loss``,
    ``val_loss``). The training loss is the mean over the epoch's steps (taken while the weights
    change), the validation loss is evaluated after the epoch; both are the scaled mean squared
    error of the normalised forces, loss_scale · ⟨(F_ML - F_ED)²⟩ / f_scale². Epochs are
    counted from 1. ``label`` prefixes the legend entries. Returns the two ``Line2D``.
    """
    for key in ("epoch", "train_loss", "val_loss"):
        if key not in history:
            raise ValueError(f"history has no {key!r} (keys: {sorted(history)})")
    from matplotlib.ticker import MaxNLocator

    ep = np.asarray(history["epoch"], dtype=float) + 1
    pre = "" if label is None else f"{label}: "
    (lt,) = ax.plot(ep, history["train_loss"], "o-", ms=3, label=pre + "training")
    (lv,) = ax.plot(ep, history["val_loss"], "s--", ms=3, color=lt.get_color(), label=pre + "validation")
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("epoch")
    ax.set_ylabel(r"loss $\lambda\,\langle(F^{\mathrm{ML}}-F^{\mathrm{ED}})^2\rangle/f_{\mathrm{scale}}^2$")
    ax.legend(fontsize="small")
    return lt, lv


__all__ += ["plot_parity", "plot_error_histogram", "plot_history", "F_ED_LABEL", "F_ML_LABEL"]


# ----------------------------------------------------------------------------- speed benchmark
def plot_speed(res: dict, stem) -> list[Path]:
    """The :func:`speed_figures` of a :func:`holstein.bench.bench_speed` result, written as
    ``<stem>_scaling.png`` and ``<stem>_ensemble.png``; returns the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + "_scaling.png"), stem.with_name(stem.name + "_ensemble.png")]
    for fig, path in zip(speed_figures(res), paths):
        fig.savefig(path, dpi=120)
    return paths


def speed_figures(res: dict) -> tuple:
    """Two matplotlib Figures (scaling, ensemble) of a :func:`holstein.bench.bench_speed` result (a pure
    function of the result dict, e.g. the committed ``benchmarks/speed.json``).

    Scaling: (a) time per force evaluation against N = L² (log-log) for every method, with a
    c·N³ line through ED's largest point and a c·N line through the lean model's; (b) site-steps
    per second of the dynamics; (c) peak memory of a step. Ensemble: site-steps per second of
    the lean model against the number of replicas B, and the step time of the reference approach
    against the lean model at equal L.
    """
    from matplotlib.figure import Figure

    by = {}
    for r in res["results"]:
        by.setdefault(r["method"], []).append(r)
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
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
    axes[0].set_ylabel("time per force evaluation (s)")
    axes[1].set_ylabel("site-steps per second ($N / t_{\\mathrm{step}}$)")
    axes[2].set_ylabel("peak memory of a step (MiB)")
    for ax, title in zip(axes, ("(a) force evaluation", "(b) Langevin dynamics step", "(c) memory")):
        ax.set_xlabel(r"sites $N = L^2$")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    m = res["machine"]
    fig.suptitle(f"{m.get('gpu') or m.get('cpu_model') or m['processor']} ({m['device']}, {m['threads']} threads)",
                 fontsize=9)
    fig_scaling = fig

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    ens = res["ensemble"]
    for dt in sorted({r["dtype"] for r in ens["results"]}):
        rs = sorted((r for r in ens["results"] if r["dtype"] == dt), key=lambda r: r["B"])
        ax.loglog([r["B"] for r in rs], [r["site_steps_per_s"] for r in rs], "o-",
                  label=f"{ens['model']} {dt.split('.')[-1]}")
        ax.set_xscale("log", base=2)
    ax.set_xlabel("replicas $B$")
    ax.set_ylabel("site-steps per second ($B N / t_{\\mathrm{step}}$)")
    ax.set_title(f"(a) ensemble throughput, L = {ens['L']}")
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
    return fig_scaling, fig
