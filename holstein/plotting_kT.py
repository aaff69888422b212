"""Figures, tables and sentences of temperature as an input (chapter 11), from the committed JSON
results (``artifacts/kT/heldout.json`` of ``benchmarks/heldout_kT.py``, ``binder.json`` of
``benchmarks/binder_tc.py``). Conventions of :mod:`holstein.plotting`.
"""
from __future__ import annotations

import numpy as np

from .plotting import _legend, model_colors

__all__ = ["errors_by_kT", "plot_error_vs_kT", "plot_binder", "accuracy_sentence", "accuracy_table",
           "critical_temperature", "tc_sentence", "alpha_table", "shared_alpha_sentence", "KT_LABEL"]

KT_LABEL = r"$k_BT$ ($t$)"
GROWTH_MIN = 2.0  # a power law L ~ t^α means something only where L grew at least this much in its window


def errors_by_kT(result: dict, model: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kT, RMSE/std in %, off-grid mask) of one model of a heldout_kT result, sorted by kT."""
    rows = result["models"][model]["by_kT"]
    kT = np.array(sorted(rows, key=float), dtype=object)
    err = np.array([100 * rows[k][kind]["rmse_over_std"] for k in kT])
    off = np.array([rows[k]["where"] != "grid" for k in kT])
    return kT.astype(float), err, off


def plot_error_vs_kT(ax, result: dict, models: dict, kind: str = "quench", target: float | None = None,
                     legend=None):
    """Held-out RMSE / force std (%) against kT (t, log-log) for ``models`` ({label: model key}) on ``kind``
    snapshots, each in its model's :func:`holstein.plotting.model_color`; off-grid temperatures (never
    trained on) as open markers; ``target`` a dashed line; ``legend``: None (none, e.g. all but one panel
    of a row), "right", "below" or "inside". Returns the lines of the grid temperatures."""
    lines = []
    for (label, key), color in zip(models.items(), model_colors(list(models.values()))):
        kT, err, off = errors_by_kT(result, key, kind)
        line, = ax.plot(kT[~off], err[~off], "o-", color=color, label=label)
        ax.plot(kT[off], err[off], "o", mfc="white", color=color, ms=8)
        lines.append(line)
    if target is not None:
        ax.axhline(target, color="0.4", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel=KT_LABEL, ylabel=f"RMSE / force std, {kind} snapshots (%)")
    _legend(ax, legend, fontsize=8)
    return lines


def plot_binder(ax, result: dict, label: str = "", marker: str = "o", colors=None):
    """U_L(kT) with jackknife errors, one curve per L of a binder_tc result; returns the lines."""
    rows = result["results"]
    lines = []
    for i, L in enumerate(sorted({r["L"] for r in rows})):
        rs = sorted((r for r in rows if r["L"] == L), key=lambda r: r["kT"])
        kw = {} if colors is None else dict(color=colors[i % len(colors)])
        lines.append(ax.errorbar([r["kT"] for r in rs], [r["U"] for r in rs], yerr=[r["U_err"] for r in rs],
                                 marker=marker, capsize=2, label=f"{label}L = {L}", **kw))
    ax.set(xlabel=KT_LABEL, ylabel=r"$U_L = 1 - \langle m^4\rangle / 3\langle m^2\rangle^2$")
    return lines


def _worst(result: dict, model: str, where: str) -> dict:
    """The largest RMSE/std (%) of ``model`` by kind over the temperatures of one kind of set."""
    rows = result["models"][model]["by_kT"]
    out = {}
    for kind in ("random", "quench"):
        vals = {k: 100 * r[kind]["rmse_over_std"] for k, r in rows.items() if r["where"] == where}
        k = max(vals, key=vals.get)
        out[kind] = (float(k), vals[k])
    return out


def accuracy_sentence(result: dict, aware: str, blind: str) -> str:
    """One sentence of the chapter's result, computed from a heldout_kT result."""
    rows = result["models"][aware]["by_kT"]
    at01 = rows["0.1"]
    g, o, b = _worst(result, aware, "grid"), _worst(result, aware, "off-grid"), _worst(result, blind, "grid")
    return (f"{aware} is within {g['random'][1]:.2f} % (random, worst at kT = {g['random'][0]:g}) and "
            f"{g['quench'][1]:.2f} % (quench, worst at kT = {g['quench'][0]:g}) of the force std at every grid "
            f"temperature, {o['random'][1]:.2f} % and {o['quench'][1]:.2f} % at the temperatures it never saw, and "
            f"{100 * at01['random']['rmse_over_std']:.2f} % / {100 * at01['quench']['rmse_over_std']:.2f} % at kT = 0.1; "
            f"the T-blind {blind} reaches {b['random'][1]:.1f} % (random, kT = {b['random'][0]:g}) and "
            f"{b['quench'][1]:.1f} % (quench, kT = {b['quench'][0]:g}).")


def accuracy_table(result: dict, models: dict) -> tuple[list, list]:
    """(header, rows) of held-out RMSE/std (%) by kT: one random and one quench column per model."""
    short = {label: label.split(" (")[0] for label in models}
    header = ["kT", "set"] + [f"{short[label]}: {kind}" for label in models for kind in ("random", "quench")]
    rows = []
    first = next(iter(models.values()))
    for k in sorted(result["models"][first]["by_kT"], key=float):
        where = result["models"][first]["by_kT"][k]["where"]
        cells = [f"{100 * result['models'][key]['by_kT'][k][kind]['rmse_over_std']:.2f} %"
                 for key in models.values() for kind in ("random", "quench")]
        rows.append([k, "never trained on" if where != "grid" else "held-out 1/7", *cells])
    return header, rows


def _crossings(binder: dict) -> list:
    """The pairs of sizes of a binder_tc scan whose U curves cross (a finite T_c)."""
    return [c for c in binder["crossings"] if c["T_c"] is not None and np.isfinite(c["T_c"])]


def critical_temperature(binder: dict) -> dict | None:
    """The crossing of a binder_tc scan that pins T_c best: the smallest jackknife error among the pairs
    of sizes that cross (a larger pair whose runs are too short to equilibrate crosses with a larger
    error, and does not replace a sharper smaller pair); None where no pair crosses."""
    cr = _crossings(binder)
    return min(cr, key=lambda c: c["T_c_err"] if np.isfinite(c["T_c_err"]) else np.inf) if cr else None


def tc_sentence(binder: dict, model_check: dict | None = None, ed: dict | None = None) -> str:
    """T_c from the sharpest crossing of a binder_tc scan (:func:`critical_temperature`), each other
    crossing with how many of its errors it lies from it, and the mean-field value; with
    ``model_check`` and ``ed`` (the model and ED with one protocol at one L), the largest difference of
    U between them in standard errors."""
    best = critical_temperature(binder)
    if best is None:
        s = "The curves of the sizes measured do not cross in the temperatures scanned."
    else:
        others = ", ".join(f"{c['T_c']:.2f} ± {c['T_c_err']:.2f} ({c['L_small']}/{c['L_large']}, "
                           f"{abs(c['T_c'] - best['T_c']) / np.hypot(c['T_c_err'], best['T_c_err']):.1f} σ away)"
                           for c in _crossings(binder) if c is not best)
        s = (f"The curves of L = {best['L_small']} and {best['L_large']} cross at T_c = {best['T_c']:.2f} ± "
             f"{best['T_c_err']:.2f}" + (f" (the other pairs: {others})" if others else "") +
             f", against the mean-field {binder['mean_field_T_c']:.1f}.")
    if model_check and ed:
        ml = {(r["L"], r["kT"]): r for r in model_check["results"]}
        diffs = [(r["kT"], r["U"] - ml[(r["L"], r["kT"])]["U"], np.hypot(r["U_err"], ml[(r["L"], r["kT"])]["U_err"]))
                 for r in ed["results"] if (r["L"], r["kT"]) in ml]
        if diffs:
            worst = max(diffs, key=lambda d: abs(d[1]))
            s += (f" ED against the model at L = {ed['results'][0]['L']}, same starts, noise and sampling: U differs by "
                  f"at most {abs(worst[1]):.3f} (at kT = {worst[0]:g}, where either U alone has a standard error of "
                  f"{worst[2] / np.sqrt(2):.3f}).")
    return s


def _pm(x: float, err: float, sign: str = "\\pm") -> str:
    """``x ± err`` to the error's first significant digit, at least two decimals (0.52 ± 0.15, 0.038 ± 0.005)."""
    d = max(2, -int(np.floor(np.log10(err)))) if np.isfinite(err) and err > 0 else 2
    return f"{x:.{d}f} {sign} {err:.{d}f}"


def _alpha_rows(analysis: dict) -> list:
    """[(kT, row)] of a ``coarsen --analyse`` result where α was fitted, by kT."""
    return sorted((float(k), r) for k, r in analysis["results"].items() if r.get("alpha") is not None)


def alpha_table(analysis: dict, T_c: float | None) -> tuple[list, list]:
    """(header, rows) of a ``coarsen --analyse`` result: kT, T/T_c, α ± jackknife error, the fit window,
    how much L grew in it (a power law means something only where L grew at least 2×), and there the
    collapse spread of C(r, t) against r/L(t) (dynamical scaling; '–' where L grew less)."""
    return ["kT", "T/T_c", "α", "window t", "L grew", "collapse"], [
        [f"{T:g}", f"{T / T_c:.2f}" if T_c else "–", _pm(r["alpha"], r["alpha_err"], "±"),
         f"{r['t_min']:g}–{r['t_max']:g}", f"{r['growth_factor']:.2f}×",
         f"{r['collapse']:.3f}" if r["growth_factor"] >= GROWTH_MIN and r.get("collapse") is not None else "–"]
        for T, r in _alpha_rows(analysis)]


def shared_alpha_sentence(runs: dict) -> str:
    """For each pair of ``{label: coarsen --analyse result}``, α at the temperatures both ran, and how many
    combined jackknife errors apart; '' where no two share a temperature."""
    labels, out = list(runs), []
    for i, a in enumerate(labels):
        for b in labels[i + 1:]:
            ra, rb = dict(_alpha_rows(runs[a])), dict(_alpha_rows(runs[b]))
            for T in sorted(set(ra) & set(rb)):
                x, y = ra[T], rb[T]
                z = abs(x["alpha"] - y["alpha"]) / np.hypot(x["alpha_err"], y["alpha_err"])
                out.append(f"at $k_BT = {T:g}$, $\\alpha = {_pm(x['alpha'], x['alpha_err'])}$ ({a}) against "
                           f"${_pm(y['alpha'], y['alpha_err'])}$ ({b}), {z:.1f} σ apart")
    return ("Where two sets share a temperature: " + "; ".join(out) + ".") if out else ""


def plot_alpha(ax, runs: dict, T_c: float, half: bool = True, legend="below"):
    """α(T/T_c) (log x) with jackknife errors for each ``{label: coarsen --analyse result}``; a filled marker
    where L grew at least 2× in the fit window (where a power law means something), open otherwise;
    Allen–Cahn's 1/2 dotted; ``legend`` "below" the axes, "right", "inside" or None."""
    for j, (label, analysis) in enumerate(runs.items()):
        rows = _alpha_rows(analysis)
        for T, r in rows:
            grew = r["growth_factor"] >= GROWTH_MIN
            ax.errorbar(T / T_c, r["alpha"], yerr=r["alpha_err"], fmt="os"[j % 2], color=f"C{j}", capsize=2,
                        mfc=f"C{j}" if grew else "white", label=label if T == rows[0][0] else None)
    if half:
        ax.axhline(0.5, color="k", ls=":", lw=0.8)
        ax.annotate("Allen–Cahn 1/2", (0.02, 0.5), xytext=(0, 3), textcoords="offset points", fontsize=8)
    ax.set(xscale="log", xlabel="$T/T_c$", ylabel=r"$\alpha$ in $L \sim t^\alpha$")
    _legend(ax, legend, fontsize=8, ncol=1, frameon=False)
    return ax


def alpha_sentence(analysis: dict, T_c: float) -> str:
    """Whether α approaches Allen–Cahn's 1/2, read from the temperatures where L grew at least 2×; the
    walls are called pinned only where colder runs of the same set grew less than 2×."""
    rows = _alpha_rows(analysis)
    good = [(T, r) for T, r in rows if r["growth_factor"] >= GROWTH_MIN]
    if not good:
        return "Nowhere did L grow 2× in the fit window: no exponent here answers the question."
    near = [T for T, r in good if abs(r["alpha"] - 0.5) <= 2 * r["alpha_err"]]
    (T0, lo), (T1, hi) = good[0], good[-1]
    if len(good) == 1:
        return (f"$L$ grew at least 2× only at $T/T_c$ = {T0 / T_c:.2f}, where $\\alpha = "
                f"{_pm(lo['alpha'], lo['alpha_err'])}$, " + ("within" if near else "more than") +
                " two jackknife errors of 1/2.")
    s = (f"Where $L$ grew at least 2× ($T/T_c$ = {T0 / T_c:.2f}–{T1 / T_c:.2f}), $\\alpha$ "
         f"{'rises' if hi['alpha'] > lo['alpha'] else 'goes'} from ${_pm(lo['alpha'], lo['alpha_err'])}$ to "
         f"${_pm(hi['alpha'], hi['alpha_err'])}$")
    if not near:
        return s + "; none is within two jackknife errors of 1/2."
    s += f"; it is within two jackknife errors of 1/2 from $T/T_c \\approx {min(near) / T_c:.2f}$ up"
    if any(r["growth_factor"] < GROWTH_MIN for T, r in rows if T < min(near)):
        s += (", so the walls approach Allen–Cahn motion only as the order melts, and the low-temperature "
              "exponents are those of pinned walls on these time scales")
    return s + "."
