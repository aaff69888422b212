"""Figures of temperature as an input (chapter 11): force errors against kT, the Binder cumulant.

Conventions of :mod:`holstein.plotting`: each helper draws on the ``Axes`` passed in, labels every
axis with symbols and units and returns what it drew. The inputs are the committed JSON results
(``holstein/artifacts/kT/heldout.json`` from ``benchmarks/heldout_kT.py``, ``binder.json`` from
``benchmarks/binder_tc.py``), as dicts.
"""
from __future__ import annotations

import numpy as np

__all__ = ["errors_by_kT", "plot_error_vs_kT", "plot_binder", "KT_LABEL"]

KT_LABEL = r"$k_BT$ ($t$)"


def errors_by_kT(result: dict, model: str, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(kT, RMSE/std in %, off-grid mask) of one model of a heldout_kT result, sorted by kT."""
    rows = result["models"][model]["by_kT"]
    kT = np.array(sorted(rows, key=float), dtype=object)
    err = np.array([100 * rows[k][kind]["rmse_over_std"] for k in kT])
    off = np.array([rows[k]["where"] != "grid" for k in kT])
    return kT.astype(float), err, off


def plot_error_vs_kT(ax, result: dict, models: dict, kind: str = "quench", target: float | None = None):
    """Held-out RMSE / force std (%) against kT for ``models`` ({label: model key}) on ``kind``
    snapshots; off-grid temperatures (never trained on) as open markers; ``target`` a dashed line."""
    lines = []
    for label, key in models.items():
        kT, err, off = errors_by_kT(result, key, kind)
        line, = ax.plot(kT[~off], err[~off], "o-", label=label)
        ax.plot(kT[off], err[off], "o", mfc="white", color=line.get_color(), ms=8)
        lines.append(line)
    if target is not None:
        ax.axhline(target, color="0.4", ls="--", lw=1)
    ax.set(xscale="log", yscale="log", xlabel=KT_LABEL, ylabel=f"RMSE / force std, {kind} snapshots (%)")
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
