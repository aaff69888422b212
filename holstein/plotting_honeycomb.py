"""Figures of the honeycomb chapter: the Dirac bands, where the CDW sets in, and φ maps drawn on the
lattice's own geometry. Each takes a matplotlib Axes and returns it; a model (and ED) is drawn in its
:func:`holstein.plotting.model_color`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import ed
from .lattice import HoneycombLattice
from .params import HolsteinParams
from .plotting import model_color

__all__ = ["plot_dirac_dos", "cdw_onset", "plot_cdw_onset", "plot_phi"]


def plot_dirac_dos(ax, p: HolsteinParams, L: int = 60, bins: int = 80):
    """Histogram of the uniform-Q levels ±t|1 + e^{ik·a1} + e^{ik·a2}| (the two Dirac bands): the density
    of states vanishes linearly at the Fermi level ε = 0, where the square lattice's diverges."""
    from .lattice import SquareLattice

    ax.hist(SquareLattice(2 * L).bands(p.t), bins=bins, density=True, histtype="step", color="0.55",
            label="square lattice")
    ax.hist(HoneycombLattice(L).bands(p.t), bins=bins, density=True, histtype="stepfilled", alpha=0.6,
            color="C1", label="honeycomb (Dirac bands)")
    ax.axvline(0, color="k", lw=0.6, ls=":")
    ax.set(xlabel=r"level $\varepsilon$ at uniform $Q$ (units of $t$)", ylabel="density of states")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return ax


def cdw_onset(p: HolsteinParams, gs, L: int = 64) -> dict:
    """The mean-field amplitude Q0(g) of the staggered CDW on both lattices at ``p.kT``, the honeycomb's
    critical coupling g_c and its mean-field T_c at ``p.g`` (:func:`holstein.ed.cdw_critical_temperature`)."""
    hc = p.replace(lattice="honeycomb")
    return dict(g=np.asarray(gs, float),
                honeycomb=np.array([ed.cdw_amplitude(hc.replace(g=g), L) for g in gs]),
                square=np.array([ed.cdw_amplitude(p.replace(lattice="square", g=g), L) for g in gs]),
                g_c=ed.cdw_critical_coupling(hc, L), Tc_mf=ed.cdw_critical_temperature(hc, L), Q0=ed.cdw_amplitude(hc, L))


def plot_cdw_onset(ax, onset: dict, ed_points: dict | None = None, g_used: float | None = None):
    """Q0(g) of :func:`cdw_onset` on both lattices, g_c marked; ``ed_points`` {g: Q0} from ED relaxations."""
    ax.plot(onset["g"], onset["square"], color="0.55", label="square, mean field")
    ax.plot(onset["g"], onset["honeycomb"], color="C1", label="honeycomb, mean field")
    ax.axvline(onset["g_c"], color="C1", ls="--", lw=0.8)
    ax.annotate(f"$g_c$ = {onset['g_c']:.2f}", (onset["g_c"], 0.9 * max(onset["honeycomb"])), xytext=(4, 0),
                textcoords="offset points", fontsize=8, color="C1")
    if ed_points:
        ax.plot(list(ed_points), list(ed_points.values()), "kx", label="honeycomb, ED relaxation")
    if g_used is not None:
        ax.axvline(g_used, color="k", lw=0.6, ls=":")
    ax.set(xlabel="coupling $g$", ylabel=r"CDW amplitude $Q_0$")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return ax


def plot_phi(ax, phi, vmax: float | None = None, cmap: str = "RdBu_r", size: float | None = None):
    """A honeycomb field ``phi (L, L, 2)`` as coloured sites at their positions (bond length 1); one colour
    scale ``±vmax`` (default max |φ|) so that a grid of maps shares it. Returns the scatter artist."""
    phi = np.asarray(phi, dtype=float)
    lat = HoneycombLattice(phi.shape[0])
    xy = lat.positions
    vmax = float(np.abs(phi).max()) if vmax is None else vmax
    size = size if size is not None else max(0.5, 2.2e4 / lat.N)
    art = ax.scatter(xy[:, 0], xy[:, 1], c=phi.reshape(-1), s=size, cmap=cmap, vmin=-vmax, vmax=vmax,
                     marker="h", linewidths=0)
    ax.set_aspect("equal")
    ax.axis("off")
    return art


# -- the chapter's committed results -------------------------------------------------------------
MODEL = "gcn_lean_mu_hc16"  # the committed lean GCN with the global read-out, trained on 16×16×2
MODELS = (("gcn_lean_mu_hc16", "lean GCN, global μ read-out"), ("gcn_lean_hc16", "lean GCN, direct force"))
L_ED, PAIRED_STEPS = 16, (1000, 4000)


#: the large quenches' sizes (cells per side), the largest committed one first
LARGE = (128, 48)


def results() -> dict:
    """What chapter 12 reads: each model's held-out metrics, the paired ED/ML quenches on the ED lattice
    and the large quench with its analysis (None where not committed)."""
    from . import catalog, quench

    out = dict(metrics={}, paired={}, large=None, analysis=None)
    for name, _ in MODELS:
        f = catalog.HONEYCOMB / name / "metrics.json"
        out["metrics"][name] = catalog.result(f) if f.exists() else None
    root = catalog.ED_VS_ML / f"hc{L_ED}"
    for name in ("ed", MODEL):
        f = quench.run_path(root / name, 0.1)
        out["paired"][name] = quench.load(f) if f.exists() else None
    big = next((d for d in (catalog.ARTIFACTS / "coarsening" / f"hc{n}" for n in LARGE)
                if quench.run_path(d, 0.1).exists()), None)
    if big is not None:
        out["large"] = quench.load(quench.run_path(big, 0.1))
        out["analysis"] = catalog.result(big / "analysis.json")
    return out


def _pct(m: dict | None, kind: str) -> str:
    return "—" if m is None else f"{100 * m['metrics'][kind]['rmse_over_std']:.2f}"


def accuracy_table(res: dict) -> tuple[list, list]:
    """(header, rows) of held-out RMSE / force std (%) per committed honeycomb model."""
    rows = []
    for name, what in MODELS:
        m = res["metrics"][name]
        rows.append([f"`{name}`", what, "—" if m is None else f"{m['parameters']:,}",
                     _pct(m, "random"), _pct(m, "quench"), _pct(m, "all")])
    return ["model", "", "parameters", "random (%)", "quench (%)", "all (%)"], rows


def accuracy_sentence(res: dict) -> str:
    """The two honeycomb models against the targets (2 % random, 3 % quench) and the square lattice's."""
    from . import catalog

    mu, direct = (res["metrics"][n] for n, _ in MODELS)
    if mu is None or direct is None:
        return ""
    sq = {n: catalog.model_metrics(n)["metrics"] for n in ("gcn_lean_mu_L24", "gcn_lean_L24")}
    return (f"With the global read-out the honeycomb model meets both targets ({_pct(mu, 'random')} % and "
            f"{_pct(mu, 'quench')} %; on the square lattice {100 * sq['gcn_lean_mu_L24']['random']['rmse_over_std']:.2f}"
            f" and {100 * sq['gcn_lean_mu_L24']['quench']['rmse_over_std']:.2f} %). The direct-force head misses the "
            f"quench target ({_pct(direct, 'quench')} %) as it does on the square lattice "
            f"({100 * sq['gcn_lean_L24']['quench']['rmse_over_std']:.2f} %): the domains of a quench snapshot shift "
            "every level, and only the read-out with one μ for the whole lattice keeps exactly half the sites "
            "filled (the direct head sees the shift only through its median-centred input).")


def in_gap_errors(names, width: float = 3.0) -> dict:
    """Where committed honeycomb models' quench errors sit: each one's held-out quench snapshots split by
    whether ED has levels within ``width``·kT of μ (in-gap states, e.g. bound to domain walls, whose
    occupation the fixed filling N/2 sets for the whole lattice); the spectrum of a snapshot is computed
    once for all ``names``. {name: dict(n, n_in_gap, share, rmse_rest, rmse_all)}: snapshot counts, the
    in-gap snapshots' share of the squared error, and RMSE / force std without and with them (fractions)."""
    import torch

    from . import catalog, data

    in_gap, sets, out = {}, {}, {}  # (dataset file, snapshot, params) -> a level within width·kT of μ
    for name in names:
        h = np.load(catalog.HONEYCOMB / name / "heldout.npz")
        m = catalog.result(catalog.HONEYCOMB / name / "metrics.json")
        path = catalog.ARTIFACTS / "data" / "honeycomb" / Path(m["dataset"]).name
        if path not in sets:
            sets[path] = data.load(path)
        ds = sets[path]
        q = np.flatnonzero(h["kind"] == data.QUENCH)
        p = HolsteinParams(**m["config"]["physics"])
        for i in map(int, h["index"][q]):
            if (path, i, p) not in in_gap:
                eps, _ = ed.spectrum(torch.as_tensor(ds.Q[i], dtype=torch.float64), p)
                in_gap[path, i, p] = bool((abs(eps - ed.chemical_potential(eps, p.kT)) < width * p.kT).any())
        gap = np.array([in_gap[path, int(i), p] for i in h["index"][q]])
        err2 = ((h["F_pred"][q] - h["F"][q]) ** 2).reshape(len(q), -1)
        std = h["F"][q].std()
        out[name] = dict(n=len(q), n_in_gap=int(gap.sum()), share=float(err2[gap].sum() / err2.sum()),
                         rmse_rest=float(np.sqrt(err2[~gap].mean()) / std), rmse_all=float(np.sqrt(err2.mean()) / std))
    return out


def in_gap_sentence(direct: dict, mu: dict) -> str:
    """:func:`in_gap_errors` of the direct-force and the read-out model, as one sentence."""
    return (f"Where the errors sit is telling: {direct['n_in_gap']} of the {direct['n']} held-out quench "
            f"snapshots have ED levels within $3\\,k_BT$ of $\\mu$ (in-gap states), and they carry "
            f"{100 * direct['share']:.0f} % of the direct head's squared error (without them its quench error is "
            f"{100 * direct['rmse_rest']:.2f} %, not {100 * direct['rmse_all']:.2f} %) and {100 * mu['share']:.0f} % "
            f"of the read-out model's ({100 * mu['rmse_rest']:.2f} % without them). The occupation of a level at "
            "the Fermi energy is set by the filling of the whole lattice and shifts with every distant change of "
            "$Q$: one global μ for all sites halves the error there, and a local network cannot know it.")


def equivariance_line(force, L: int = 6, seed: int = 0) -> str:
    """max |F(gQ) - gF(Q)| of ``force`` over the 12 operations of C6v and three translations, in float64."""
    import torch

    lat = HoneycombLattice(L)
    Q = 3.0 * torch.randn((2, L, L, 2), generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    F = force(Q)
    dev = max(float((force(lat.apply(Q, g)) - lat.apply(F, g)).abs().max()) for g in lat.point_group)
    tr = max(float((force(lat.translate(Q, *d)) - lat.translate(F, *d)).abs().max()) for d in ((1, 0), (0, 2), (3, 1)))
    return (f"max |F(gQ) - g F(Q)| over the 12 operations of C6v: {dev:.1e}\n"
            f"                   over three translations: {tr:.1e}   (forces of std {float(F.std()):.2f})")


def onset_sentence(onset: dict, relaxed: dict, p: HolsteinParams) -> str:
    """The coupling chosen, in numbers from :func:`cdw_onset` and the ED relaxations."""
    agree = max(abs(v - ed.cdw_amplitude(p.replace(g=g), 12)) for g, v in relaxed.items())
    zero = ed.cdw_critical_coupling(p.replace(lattice="honeycomb", kT=0.0))
    square = ed.cdw_critical_coupling(p.replace(lattice="square"))
    return (f"At $k_BT = {p.kT:g}$ the CDW sets in at $g_c = {onset['g_c']:.2f}$ (mean field on a 64×64 cell grid; "
            f"ED on 12×12×2 agrees with the mean-field amplitude to {agree:.0e} at every coupling shown), and at "
            f"$T = 0$ still at {zero:.2f}, where the square lattice's onset ({square:.2f} at this temperature) goes "
            "to zero. The book "
            f"keeps the square lattice's $g = {p.g:g}$: {p.g / onset['g_c']:.1f} times $g_c$, well inside the "
            f"ordered phase, with amplitude $Q_0 = {onset['Q0']:.2f}$ and mean-field $T_c = {onset['Tc_mf']:.2f}$, "
            "so a quench to $k_BT = 0.1$ orders as firmly as on the square lattice and the two can be compared "
            "at equal parameters.")


def plot_paired(axes, res: dict) -> str:
    """ΔC(r) = C_ML − C_ED ± 2 SE at :data:`PAIRED_STEPS` (one panel each); returns the verdict sentence."""
    from .quench import paired_differences, paired_test

    ed_run, ml_run = res["paired"]["ed"], res["paired"][MODEL]
    if ed_run is None or ml_run is None:
        for ax in axes:
            ax.text(0.5, 0.5, "paired runs not committed yet", ha="center", transform=ax.transAxes)
        return "The paired runs are not committed yet."
    d = paired_differences(ml_run, ed_run)
    dt = float(ed_run[0]["params"]["dt"])
    rows = paired_test(d, PAIRED_STEPS)
    for ax, s in zip(axes, PAIRED_STEPS):
        k = int(np.flatnonzero(d["step"] == s)[0])
        ax.fill_between(d["r"], -2 * d["dC_se"][k], 2 * d["dC_se"][k], color="0.85", label="±2 SE")
        ax.plot(d["r"], d["dC"][k], "o-", ms=3, color=model_color(MODEL), label=r"$C_{ML} - C_{ED}$")
        ax.axhline(0, color="k", lw=0.5)
        ax.set(xlim=(0, 8), xlabel="r (bond lengths)", ylabel=r"$\Delta C(r)$", title=f"t = {s * dt:g}")
        ax.legend(fontsize=8, loc="lower right", frameon=False)
    ok = all(r["consistent"] for r in rows)
    worst = max(r["worst"] for r in rows)
    return (f"Over {d['n']} paired quenches on {L_ED}×{L_ED}×2 the model's $C(r)$ is "
            f"{'within' if ok else 'not within'} two standard errors of ED's at every $r \\le 6$ at both times "
            f"(largest |ΔC| / 2 SE: {worst:.2f}; largest |ΔC|: {max(r['max_dC'] for r in rows):.3f}). The order "
            "parameter: " + "; ".join(f"Δm = {r['dm']:+.3f} ± {r['dm_zse']:.3f} (2 SE) at t = {r['step'] * dt:g}"
                                      for r in rows) + ".")


def plot_large(axes, res: dict):
    """φ maps of the large quench at two times (one colour scale) and L(t) beside the square lattice's."""
    from . import catalog

    if res["large"] is None:
        for ax in axes:
            ax.text(0.5, 0.5, "large quench not committed yet", ha="center", transform=ax.transAxes)
        return axes
    ident, r = res["large"]
    dt = float(ident["params"]["dt"])
    steps = r["phi_step"][[len(r["phi_step"]) // 3, -1]]
    vmax = float(np.abs(r["phi"][-1][0]).max())
    for ax, s in zip(axes[:2], steps):
        k = int(np.flatnonzero(r["phi_step"] == s)[0])
        plot_phi(ax, r["phi"][k][0].astype(float), vmax=vmax)
        ax.set_title(f"t = {s * dt:g}", fontsize=10)
    t = r["step"] * dt
    ax = axes[2]
    ax.loglog(t[1:], np.nanmean(r["L"], axis=1)[1:], color=model_color(ident["force"]),
              label=f"honeycomb {ident['L']}×{ident['L']}×2")
    sq = catalog.ARTIFACTS / "coarsening" / "L64_T"
    from . import quench
    if quench.run_path(sq, 0.1).exists():
        i2, r2 = quench.load(quench.run_path(sq, 0.1))
        ax.loglog(r2["step"][1:] * dt, np.nanmean(r2["L"], axis=1)[1:], color=model_color(i2["force"]), ls="--",
                  label="square 64×64")
    ax.set(xlabel="t (1/t)", ylabel="domain size L(t)")
    ax.legend(fontsize=8, loc="upper left", frameon=False)
    return axes


def large_sentence(res: dict) -> str:
    """α with its jackknife error and the growth of L in the fit window, beside the smaller committed
    honeycomb quench and the square lattice's at the same kT (chapter 11's 64×64 runs), from the committed
    analyses; "nearly arrested" where L grew less than 1.5× on both lattices."""
    from . import catalog

    a = res["analysis"]
    if a is None:
        return "The large quench is not committed yet."
    row, n = a["results"]["0.1"], res["large"][0]["L"]
    sq = catalog.result(catalog.ARTIFACTS / "coarsening" / "L64_T" / "analysis.json")["results"]["0.1"]
    small = [m for m in LARGE if m < n and (catalog.ARTIFACTS / "coarsening" / f"hc{m}" / "analysis.json").exists()]
    out = (f"On the {n}×{n}×2 honeycomb, $\\alpha = {row['alpha']:.3f} \\pm {row['alpha_err']:.3f}$ (jackknife "
           f"over replicas) for $t \\in [{row['t_min']:g}, {row['t_max']:g}]$, where $L$ grew "
           f"{row['growth_factor']:.2f}× to {row['L_final']:.2f} bond lengths")
    if small:
        s2 = catalog.result(catalog.ARTIFACTS / "coarsening" / f"hc{small[0]}" / "analysis.json")["results"]["0.1"]
        out += (f" (on {small[0]}×{small[0]}×2: $\\alpha = {s2['alpha']:.3f} \\pm {s2['alpha_err']:.3f}$, "
                f"{s2['growth_factor']:.2f}×)")
    out += (f"; the square lattice at the same temperature: $\\alpha = {sq['alpha']:.3f} \\pm "
            f"{sq['alpha_err']:.3f}$, $L$ grew {sq['growth_factor']:.2f}×.")
    if max(row["growth_factor"], sq["growth_factor"]) < 1.5:
        out += " On both lattices the walls are nearly arrested at $k_BT = 0.1$."
    return out


def plot_headline(axes, res: dict):
    """The chapter's opening: a φ map of the large quench, C(r) of ED and of the model on the same paired
    quenches, and the held-out errors against the targets, each model in its colour (ED black)."""
    from matplotlib.patches import Patch

    from .quench import ensemble_correlation

    if res["large"] is not None:
        ident, r = res["large"]
        plot_phi(axes[0], r["phi"][-1][0].astype(float))
        axes[0].set_title(f"φ on {ident['L']}×{ident['L']}×2, t = {r['phi_step'][-1] * ident['params']['dt']:g}",
                          fontsize=10)
    else:
        axes[0].axis("off")
    if res["paired"]["ed"] is not None and res["paired"][MODEL] is not None:
        for name, (ident, r), style in (("ED", res["paired"]["ed"], "-"), (MODEL, res["paired"][MODEL], "o")):
            k = int(np.flatnonzero(r["step"] == PAIRED_STEPS[-1])[0])
            C = ensemble_correlation({key: np.asarray(v)[k:k + 1] for key, v in r.items() if key in ("C", "phi2")})
            axes[1].plot(r["r"], np.ravel(C), style, ms=4, color=model_color(name), mfc="none", label=name)
        axes[1].set(xlim=(0, 8), xlabel="r (bond lengths)", ylabel="C(r)",
                    title=f"{ident['L']}×{ident['L']}×2, t = {PAIRED_STEPS[-1] * ident['params']['dt']:g}, "
                          f"{len(ident['seeds'])} paired quenches")
        axes[1].legend(fontsize=8, frameon=False)
    else:
        axes[1].axis("off")
    names = [n for n, _ in MODELS if res["metrics"][n] is not None]
    x = np.arange(len(names))
    key = []
    for j, (kind, target, ls) in enumerate((("random", 2.0, ":"), ("quench", 3.0, "--"))):
        style = dict(alpha=0.9 - 0.4 * j, hatch="//" if j else None, edgecolor="0.25", lw=0.4)
        axes[2].bar(x + 0.38 * j, [100 * res["metrics"][n]["metrics"][kind]["rmse_over_std"] for n in names],
                    0.36, color=[model_color(n) for n in names], **style)
        key += [Patch(fc="0.45", label=kind, **style),
                axes[2].axhline(target, color="0.3", ls=ls, lw=0.9, label=f"{kind} target {target:g} %")]
    axes[2].set_xticks(x + 0.19, names, fontsize=8)
    top = max([4.0] + [100 * res["metrics"][n]["metrics"]["quench"]["rmse_over_std"] for n in names])
    axes[2].set(ylabel="held-out RMSE / force std (%)", ylim=(0, 1.15 * top), title="accuracy against the targets")
    axes[2].legend(handles=key, fontsize=8, frameon=False, loc="upper left")
    return axes


def headline_sentence(res: dict) -> str:
    m = res["metrics"].get(MODEL)
    if m is None:
        return "The honeycomb model is not committed yet."
    return (f"The same network, given the honeycomb graph instead of the square one, learns the ED forces to "
            f"{_pct(m, 'random')} % (hot random) and {_pct(m, 'quench')} % (quench snapshots) of their standard "
            "deviation, with no new feature and the honeycomb's 12 symmetry operations exact.")
