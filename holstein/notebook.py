"""What the book's cells need on top of :mod:`holstein.catalog` (committed results) and
:mod:`holstein.recipes` (made where missing): setup, a cached quench, tables, a chapter's trained
force fields (:func:`trained_runs`) and the sentences that read their learning curves.
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass

import numpy as np
import torch

from . import catalog, recipes
from .params import PAPER
from .profiles import Profile, get_profile

__all__ = ["setup", "quench", "phi_maps", "markdown_table", "load_models", "held_out_metrics", "metrics_table",
           "benchmark_label", "TrainedRun", "trained_runs", "networks", "convergence", "convergence_sentence",
           "best_within", "budget_sentence", "claim_sentence"]


def setup(seed: int = 0) -> tuple[str, Profile]:
    """Seed everything, pick the device (cuda when present) and the profile; print both. Figures: inline in a
    Jupyter kernel, 150 dpi (sharp at the book's column width), 6.4 × 4.0 in by default, no grid."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    prof = get_profile()
    import matplotlib.pyplot as plt

    try:  # inside a Jupyter kernel: draw figures inline even if MPLBACKEND says otherwise
        from IPython import get_ipython

        if get_ipython() is not None and hasattr(get_ipython(), "kernel"):
            get_ipython().run_line_magic("matplotlib", "inline")
    except ImportError:
        pass
    plt.rcParams.update({"figure.dpi": 150, "axes.grid": False, "figure.figsize": (6.4, 4.0)})
    where = "Colab" if "google.colab" in sys.modules else "local"
    print(f"profile: {prof.name} | device: {device} | {where}")
    return device, prof


def quench(name: str, L: int, n_steps: int, every: int, kT: float = PAPER.kT, seed: int = 0,
           prof: Profile | None = None, device: str = "cpu", progress: bool = True) -> dict:
    """``dict(time (T,), Q (T, L, L))`` of the quench of ``seed`` to ``kT`` with ``"ed"``, ``"kpm"`` or a
    model (committed, else trained: :func:`recipes.trained_dir`); the engine's run, cached in
    :func:`recipes.cache_dir` under the force's fingerprint (retrained weights make a new run)."""
    import hashlib

    from . import quench as engine
    from .force import load_force

    prof = prof or get_profile()
    p = PAPER.replace(kT=kT)
    spec = name if name in ("ed", "kpm") else str(recipes.trained_dir(name, prof, device, progress=progress)
                                                  / "best.pt")
    force = load_force(spec, p, device=device)
    tag = hashlib.sha256(force.id.encode()).hexdigest()[:12]
    path = recipes.cache_dir() / f"quench_{name}_{tag}_L{L}_n{n_steps}_e{every}_s{seed}.npz"
    _, res = engine.run(force, L, int(seed), p, n_steps, every, path, snapshots=True, device=device, progress=progress,
                        desc=f"quench {name} L={L}")
    return dict(time=res["time"], Q=res["Q"])


def phi_maps(res: dict, near: int = 600, replica: int = 0, dt: float = PAPER.dt) -> tuple[list, list]:
    """(fields, titles) of three stored φ maps of a quench result: the step nearest ``near`` (log scale;
    the reference work's 600), the last, and the geometric middle between them."""
    stored = [int(s) for s in res["phi_step"]]
    first = min(stored, key=lambda s: abs(np.log(max(s, 1) / near)))
    middle = min(stored, key=lambda s: abs(np.log(max(s, 1) / np.sqrt(first * stored[-1]))))
    picks = [stored.index(s) for s in sorted({first, middle, stored[-1]})]
    return ([np.asarray(res["phi"][k, replica], dtype=float) for k in picks],
            [f"step {stored[k]}, t = {stored[k] * dt:g}" for k in picks])


def markdown_table(header, rows, align=None):
    """A Markdown table (``IPython.display.Markdown`` where IPython is present, else the text) of
    ``rows`` of cells under ``header``; ``align``: "l" or "r" per column (default: l, then r)."""
    align = align or ["l"] + ["r"] * (len(header) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(map(str, r)) + " |" for r in [header, rule, *rows]]
    text = "\n".join(lines)
    try:
        from IPython.display import Markdown

        return Markdown(text)
    except ImportError:  # pragma: no cover - IPython ships with the book's requirements
        return text


def load_models(names, prof: Profile | None = None, device: str = "cpu", ds=None, report: bool = True) -> dict:
    """{name: (model, checkpoint)} of :func:`holstein.recipes.trained_model`; ``report`` prints a line per
    model: committed or trained here, best epoch, learning rate, loss scale, time per epoch."""
    prof = prof or get_profile()
    ds = ds or recipes.dataset(prof)
    out, width = {}, max(map(len, names), default=0)
    for name in names:
        committed = catalog.committed_dir(name, ds.L) is not None
        model, ck = out[name] = recipes.trained_model(name, prof, device, ds=ds)
        cfg = ck["train_config"]
        if report:
            scale = f"loss scale {cfg['loss_scale']:g}, " if cfg["loss_scale"] != 1 else ""
            print(f"{name:{width}s} {'committed weights' if committed else 'trained here':17s} best epoch "
                  f"{ck['epoch'] + 1} of {cfg['epochs']}, lr {cfg['lr']:g}, {scale}"
                  f"{np.mean(ck['history']['seconds']):.2g} s per epoch")
    return out


def held_out_metrics(trained: dict, ds) -> dict:
    """{name: :func:`holstein.train.evaluate` on the held-out test set} for {name: model or (model, ck)}."""
    from . import train

    return {name: train.evaluate(m[0] if isinstance(m, tuple) else m, ds) for name, m in trained.items()}


def metrics_table(results: dict, kinds=("all", "random", "quench")):
    """:func:`markdown_table` of held-out force errors {name: {kind: force_metrics}}: count, RMSE (t per unit
    Q, 4 decimals), RMSE/std(F) (a percentage, 2 decimals) and R² (4 decimals) per model and kind of snapshot."""
    rows = []
    for name, res in results.items():
        for kind in kinds:
            r = res.get(kind)
            rows.append([f"`{name}`", kind] + (["0", "–", "–", "(none at this profile)"] if r is None else
                        [r["count"], f"{r['rmse']:.4f}", f"{r['rmse_over_std']:.2%}", f"{r['r2']:.4f}"]))
    return markdown_table(["model", "snapshots", "n", "RMSE", "RMSE/std(F)", "R²"], rows,
                          align=["l", "l", "r", "r", "r", "r"])


def benchmark_label(res: dict, name: str) -> str:
    """Where the timings of the committed benchmark ``bench/<name>.json`` (``res``) come from, in one
    line: the machine, its load average before and after (:func:`holstein.bench.timing.machine_record`)
    and the command that made it."""
    m = res.get("machine", {})

    def avg(xs):
        return ", ".join(f"{x:.2f}" for x in xs)

    before, after = m.get("loadavg_before"), m.get("loadavg_after")
    load = (f"load average {avg(before)} (1, 5, 15 min) when it started" if before
            else "load average not recorded in the file")
    if before and after:
        load += f", {avg(after)} when it ended"
    return (f"committed timings (holstein/artifacts/bench/{name}.json): "
            f"{m.get('gpu') or m.get('cpu_model') or m.get('processor', '?')}, "
            f"{m.get('cpu_count', '?')} cores, torch threads: {m.get('threads', '?')}, device "
            f"{m.get('device', '?')}, torch {m.get('torch', '?')}; {load}; made by `{res.get('command', '?')}`")


# ----------------------------------------------------------------------------- trained runs of a chapter
@dataclass
class TrainedRun:
    """One trained force field as a chapter shows it: ``history`` (lists per epoch of
    :func:`holstein.train.train`), the held-out snapshots ``test (n,)``, the forces ``F_pred (n, L, L)``
    on them and their ``metrics`` (:func:`holstein.train.metrics_of`), the constructor ``config``, the
    ``model`` (None for a committed run without weights) and its ``source``."""

    name: str
    source: str
    history: dict
    test: np.ndarray
    F_pred: np.ndarray
    metrics: dict
    config: dict
    model: object = None


def trained_runs(names, prof: Profile | None = None, device: str = "cpu", ds=None, report: bool = True) -> dict:
    """{name: :class:`TrainedRun`} on dataset ``ds`` (default: the profile's): the committed run without
    weights (:func:`holstein.catalog.reference_run`) where ``prof.reference_committed``, else the model
    of :func:`load_models` with its held-out forces predicted here. ``report`` says which."""
    from . import train

    prof = prof or get_profile()
    ds = ds or recipes.dataset(prof)
    committed = {n: r for n in names if prof.reference_committed and (r := catalog.reference_run(n, ds)) is not None}
    loaded = load_models([n for n in names if n not in committed], prof, device, ds, report)
    test, out, width = ds.split()[1], {}, max(map(len, names), default=0)
    for name in names:
        if name in committed:
            r = committed[name]
            h, m = r.history, r.metrics
            if report:
                print(f"{name:{width}s} {'committed run':17s} {m['epochs_run']} epochs in {m['train_seconds']:.0f} s, "
                      f"best epoch {int(np.argmin(h['val_loss'])) + 1}, weights not committed "
                      f"({r.path.relative_to(r.path.parents[1])}; made by `{m['command']}`)")
            out[name] = TrainedRun(name, "committed run (no weights)", h, r.heldout["index"],
                                   r.heldout["F_pred"].astype(np.float64), m["metrics"], m["config"])
        else:
            model, ck = loaded[name]
            pred = train.predict(model, ds.Q[test])
            source = "committed weights" if catalog.committed_dir(name, ds.L) is not None else "trained here"
            out[name] = TrainedRun(name, source, ck["history"], test, pred, train.metrics_of(ds, test, pred),
                                   model.config(), model)
    return out


def networks(runs: dict, device: str = "cpu", report: bool = True) -> dict:
    """{name: network} of {name: :class:`TrainedRun`}: the trained model, else (no weights here) its
    architecture with initial weights, float64, for the checks that need only the architecture."""
    from . import models

    out = {}
    for name, r in runs.items():
        if r.model is not None:
            out[name] = r.model
            continue
        out[name] = models.build(name, **r.config).to(device=device, dtype=torch.float64).eval()
        if report:
            print(f"{name}: trained weights not committed; below it has its initial (untrained) weights, "
                  "which is all that an architecture check needs")
    return out


# ----------------------------------------------------------------------------- reading learning curves
def convergence(history: dict, fraction: float = 1 / 3, min_epochs: int = 4) -> dict | None:
    """How fast a run's best validation RMSE still falls with training time: the fit
    log(r) = a + s log(t) over the last ``fraction`` of the epochs (at least ``min_epochs``, at least
    two), t the cumulative seconds, r the running minimum of ``val_rmse``.

    Returns dict(slope=s, per_doubling=1 - 2**s, epochs=(first, last) counted from 1,
    seconds=(t_first, t_last)), or None for fewer than two epochs.
    """
    t = np.cumsum(history["seconds"], dtype=float)
    r = np.minimum.accumulate(np.asarray(history["val_rmse"], dtype=float))
    if len(t) < 2:
        return None
    k = max(0, len(t) - max(2, min_epochs, int(np.ceil(fraction * len(t)))))
    slope = float(np.polyfit(np.log(t[k:]), np.log(r[k:]), 1)[0])
    return dict(slope=slope, per_doubling=1 - 2**slope, epochs=(k + 1, len(t)), seconds=(float(t[k]), float(t[-1])))


def _seconds(s: float) -> str:
    """Seconds for a sentence: whole seconds from 10 s on, two significant digits below."""
    return f"{s:.0f}" if s >= 10 else f"{s:.2g}"


def convergence_sentence(name: str, history: dict, fraction: float = 1 / 3) -> str:
    """:func:`convergence` in one sentence: the power of training time, the fall per doubling and the
    doublings that halving the RMSE would take at that rate (-1/s)."""
    c = convergence(history, fraction)
    if c is None:
        return f"`{name}` ran {len(history['epoch'])} epoch(s): too few to measure a rate of convergence."
    (e0, e1), (t0, t1) = c["epochs"], c["seconds"]
    span = f"over epochs {e0}–{e1} ({_seconds(t0)}–{_seconds(t1)} s of training) its best validation RMSE"
    if c["per_doubling"] > 0.005:
        return (f"`{name}`: {span} went as (training time)^{c['slope']:.2f}, still falling by "
                f"{100 * c['per_doubling']:.0f} % per doubling of training time; halving it at that rate would "
                f"take {-1 / c['slope']:.2g} more doublings of the training time.")
    return f"`{name}`: {span} no longer improved (less than 0.5 % per doubling of training time)."


def best_within(history: dict, seconds: float) -> float:
    """The lowest validation RMSE within ``seconds`` of training, NaN if the first epoch took longer."""
    t, r = np.cumsum(history["seconds"], dtype=float), np.asarray(history["val_rmse"], dtype=float)
    return float(r[t <= seconds].min()) if (t <= seconds).any() else float("nan")


def budget_sentence(curves: dict, seconds: float, what: str) -> str:
    """Which of the runs {name: history} is best (:func:`best_within`) at ``seconds`` of training (``what``:
    whose budget), against the best reference model (no "lean" in its name)."""
    best = {n: best_within(h, seconds) for n, h in curves.items()}
    done = {n: v for n, v in best.items() if np.isfinite(v)}
    late = sorted(set(best) - set(done))
    text = f"At {_seconds(seconds)} s of training ({what})"
    if not done:
        return text + ": no run had finished an epoch."
    top = min(done, key=done.get)
    text += f", `{top}` is best (validation RMSE {done[top]:.3g})"
    refs = {n: v for n, v in done.items() if "lean" not in n}
    if refs and top not in refs:
        ref = min(refs, key=refs.get)
        text += f"; the best reference model, `{ref}`, is at {refs[ref]:.3g} ({refs[ref] / done[top]:.2g}× higher)"
    return text + (f"; {', '.join(f'`{n}`' for n in late)} had not finished an epoch." if late else ".")


def claim_sentence(metrics: dict, better: str, worse: str, kinds=("all", "random", "quench")) -> str:
    """One sentence: the kinds of snapshot where ``better`` has a lower held-out RMSE than ``worse`` and
    where not, from ``metrics = {name: metrics_of table}``."""
    parts = {True: [], False: []}
    for kind in kinds:
        a, b = metrics[better].get(kind), metrics[worse].get(kind)
        if a is not None and b is not None:
            parts[a["rmse"] < b["rmse"]].append(f"{kind} ({a['rmse']:.3g} vs {b['rmse']:.3g})")
    said = [f"{'holds' if ok else 'fails'} on {', '.join(parts[ok])}" for ok in (True, False) if parts[ok]]
    return f"`{better}` more accurate than `{worse}` (held-out RMSE): " + ("; ".join(said) or "no shared kind") + "."


def headline(axes, model: str = "gcn_lean_mu_L24", step: int = 9000) -> str:
    """The introduction's figure from committed runs and its sentence: (a) φ_i of the 200×200 quench to
    kT = 0.1 at its last stored time, (b) C(r) at ``step`` of the paired 24×24 ED and ``model`` quenches,
    each in its :func:`holstein.plotting.model_color`."""
    from . import quench
    from .plotting import model_color, plot_field

    ident, big = quench.load(quench.run_path(catalog.COARSENING, 0.1))
    k = len(big["phi_step"]) - 1
    plot_field(axes[0], np.asarray(big["phi"][k, 0], dtype=np.float64), label=r"$\phi_i$",
               title=f"{ident['L']}×{ident['L']}, $k_BT$ = 0.1, t = {big['phi_step'][k] * ident['params']['dt']:g}")
    root = catalog.ED_VS_ML / "L24"
    runs = {name: quench.load(quench.run_path(root / name, 0.1)) for name in ("ed", model)}
    for (name, (_, res)), style in zip(runs.items(), ("-", "o")):
        i = int(np.flatnonzero(res["step"] == step)[0])
        axes[1].plot(res["r"], quench.ensemble_correlation(res)[i], style, color=model_color(name),
                     label="ED" if name == "ed" else name)
    axes[1].axhline(0, color="0.8", lw=0.8)
    axes[1].set(xlabel=r"$r$ (lattice spacings)", ylabel=r"$C(r)$", xlim=(0, 10),
                title=f"24×24, step {step}: ED and ML from the same starts")
    axes[1].legend(loc="upper right", fontsize=8)
    row = quench.paired_test(quench.paired_differences(runs[model], runs["ed"]), [step])[0]
    err = catalog.model_metrics(model)["metrics"]
    n = len(runs["ed"][0]["seeds"])
    params = catalog.model_metrics(model)["parameters"]
    return (f"{model} ({params:,} parameters) predicts held-out ED forces to {100 * err['all']['rmse_over_std']:.2f} % of "
            f"their standard deviation; on {n} paired 24×24 quenches no model has seen, its C(r) differs from ED's "
            f"by at most {row['max_dC']:.4f} at step {step}, within {row['worst']:.2f} of two standard errors "
            f"({row['max_zse']:.4f}). Panel (a), far beyond ED, is one of {len(ident['seeds'])} replicas of a "
            f"{ident['L']}×{ident['L']} quench with {catalog.model_name(ident['force'])} to "
            f"t = {big['step'][-1] * ident['params']['dt']:g}.")
