"""Tests of the figure helpers of holstein/plotting.py: one colour per model, legends off the data, fields on one
scale, L(t), the DOS, shells, KPM convergence and paired ensembles."""
import re

import matplotlib.pyplot as plt
import numpy as np
import pytest

from holstein import plotting


@pytest.fixture
def axes():
    fig, axes = plt.subplots(1, 2)
    yield axes
    plt.close(fig)


def test_shells_dos_and_kpm_convergence(axes):
    arts = plotting.plot_shells(axes[0])
    assert len(arts) == 9 and sum(len(a.get_offsets()) for a in arts) == 45
    assert "lattice spacings" in axes[0].get_xlabel()
    counts = plotting.plot_dos(axes[1], np.linspace(-1, 1, 100), gap_edges=(-0.5, 0.5))
    assert np.isclose(np.sum(counts) * 2 / 80, 1.0) and "units of $t$" in axes[1].get_xlabel()
    fig, ax = plt.subplots()
    lines = plotting.plot_kpm_convergence(ax, [1, 2], {"a": [1e-1, 1e-2]}, {"a": [1.0, 0.1]})
    assert len(lines) == 1 and ax.get_yscale() == "log" and len(ax.get_lines()) == 3
    plt.close(fig)


def test_paired_plot_shows_means_with_errors_and_paired_differences(axes):
    rng = np.random.default_rng(0)
    values = {"ed": rng.random((5, 4)), "ml": rng.random((5, 4))}
    values["ml"][0, 0] = np.nan  # e.g. L(t) undefined for one replica: ignored
    d, se = values["ml"][1:].mean(1), np.full(4, 0.1)
    out = plotting.plot_paired(*axes, np.arange(5.0), values, {"ml": (np.r_[0, d], np.r_[0, se])}, ylabel="m")
    mean, sem = out["ed"]
    assert np.allclose(mean, values["ed"].mean(1)) and np.allclose(sem, values["ed"].std(1, ddof=1) / 2)
    assert np.isclose(out["ml"][0][0], np.nanmean(values["ml"][0]))
    assert np.allclose(axes[1].get_lines()[0].get_ydata()[1:], d) and axes[0].get_ylabel() == "m"


# ----------------------------------------------------------------------------- one colour per model
def _committed_names():
    from holstein import catalog

    return sorted(catalog.committed_models())


def test_every_committed_model_has_its_colour_shared_only_across_sizes():
    from matplotlib.colors import is_color_like

    names = _committed_names()
    assert {"gcn_lean_mu_L24_extra", "gcn_lean_mu_T_L24", "gcn_lean_mu_L40_L24", "gcn_lean_mu_hc16"} <= set(names)
    book = ["ed", "kpm", "gcn", "bp_mlp", "energy_gnn", "gcn_lean", "gcn_lean_mu", "bp_mlp_lean", "energy_gnn_lean"]
    for name in names + book:
        assert plotting.model_key(name) is not None, name  # in the map, not a fallback
        assert is_color_like(plotting.model_color(name))
    by_model = {}
    for name in names + book:  # one model = its name without the size suffixes
        by_model.setdefault(re.sub(r"_(L\d+|hc\d+)(?=_|$)", "", name), set()).add(plotting.model_color(name))
    assert all(len(c) == 1 for c in by_model.values()), by_model  # gcn_lean_L24, _L40, _hc16: one colour
    colours = [c.pop() for c in by_model.values()]
    assert len(colours) == len(set(colours)) == len(by_model) >= 11  # distinct models, distinct colours
    assert plotting.model_color("ed") == "#000000" and plotting.model_color("ED") == "#000000"
    assert plotting.model_color("gcn_lean_mu_L24_extra") != plotting.model_color("gcn_lean_mu_L24")
    assert plotting.model_color("gcn_lean_mu_T_L24") not in (plotting.model_color("gcn_lean_mu"),
                                                             plotting.model_color("gcn_lean_mu_L24_extra"))
    for decorated in ("gcn_lean_mu_hc16 (float32)", "gcn_lean_mu_L24: training", "gcn_lean_mu_L40_L24 (40x40 + 24x24)"):
        assert plotting.model_color(decorated) == plotting.model_color("gcn_lean_mu")
    for fingerprint in ("model:gcn_lean_mu:1ef1394c00aa11bb:float32", "model:gcn_lean_mu:1ef1394c00aa11bb"):
        assert plotting.model_color(fingerprint) == plotting.model_color("gcn_lean_mu")  # a run's force
    assert plotting.model_color("ed:" + "0" * 16) == "#000000"


def test_unknown_names_get_a_fixed_fallback_colour_never_one_of_the_map():
    for name in ("my_model", "gcn_lean_mu + extra data", "random", "quench", "t = 10"):
        c = plotting.model_color(name)
        assert plotting.model_key(name) is None and c not in plotting.MODEL_COLORS.values()
        assert c == plotting.model_color(name)  # deterministic
    assert plotting.model_color("foo_L24") == plotting.model_color("foo_L40")
    assert plotting.model_color("run 0") == plotting.model_color("run 3")  # a hash collision ...
    colours = plotting.model_colors(["gcn_lean", "run 0", "run 3", "c", "d", None])  # ... resolved in one figure
    assert colours[0] == plotting.model_color("gcn_lean") and colours[-1] is None
    assert colours[1] == plotting.model_color("run 0") != colours[2]
    assert len(set(colours[1:5])) == 4 and not set(colours[1:5]) & set(plotting.MODEL_COLORS.values())


def test_paired_draws_each_model_in_its_colour_and_the_legend_off_the_axes(axes):
    from matplotlib.colors import to_hex

    x = np.arange(4.0)
    values = {"ed": np.ones((4, 3)), "gcn_lean_mu_L24": np.zeros((4, 3)), "gcn_lean_L24": np.zeros((4, 3))}
    diffs = {k: (np.zeros(4), np.ones(4)) for k in values if k != "ed"}
    plotting.plot_paired(*axes, x, values, diffs)
    assert [to_hex(line.get_color()) for line in axes[0].get_lines()] == [plotting.model_color(k) for k in values]
    assert [to_hex(line.get_color()) for line in axes[1].get_lines()[:2]] == [plotting.model_color(k) for k in diffs]
    band = axes[0].collections[1]  # the standard-error band of gcn_lean_mu_L24
    assert to_hex(band.get_facecolor()[0], keep_alpha=False) == plotting.model_color("gcn_lean_mu")
    _assert_outside(axes[0])


def _assert_outside(ax, where="right"):
    """The legend of ``ax`` lies outside the axes (after a tight layout) and inside the saved figure."""
    import io

    fig = ax.figure
    fig.tight_layout()
    fig.savefig(io.BytesIO(), format="png", bbox_inches="tight")
    r = fig.canvas.get_renderer()
    leg, box = ax.get_legend().get_window_extent(r), ax.get_window_extent(r)
    assert (leg.x0 >= box.x1) if where == "right" else (leg.y1 <= box.y0), (leg, box)
    if where == "below" and ax.get_xlabel():
        assert leg.y1 <= ax.xaxis.label.get_window_extent(r).y0  # under the x label, not on it
    inches = leg.transformed(fig.dpi_scale_trans.inverted())
    assert all(fig.get_tightbbox(r).padded(0.01).contains(*p) for p in (inches.p0, inches.p1))  # kept when saved


def test_legend_outside_right_or_below_stays_in_the_figure():
    for where in ("right", "below"):
        fig, ax = plt.subplots(figsize=(4, 3))
        for k in range(5):
            ax.semilogy(np.arange(5), np.exp(k + np.arange(5)), label=f"series {k}")
        ax.set_xlabel("x (units)")
        assert plotting.legend_outside(ax, where) is ax.get_legend()
        _assert_outside(ax, where)
        plt.close(fig)
    fig, ax = plt.subplots()
    assert plotting.legend_outside(ax) is None  # nothing labelled
    with pytest.raises(ValueError, match="right"):
        ax.plot([0, 1], label="a")
        plotting.legend_outside(ax, "left")
    plt.close(fig)


def test_correlations_legend_outside(axes):
    r = np.arange(6.0)
    plotting.plot_correlations(axes[0], r, [np.exp(-r / s) for s in (1, 2, 3)], labels=["a", "b", "c"])
    _assert_outside(axes[0])


# ----------------------------------------------------------------------------- fields, L(t), DOS
def test_field_with_a_given_scale_and_no_colour_bar(axes):
    fig = axes[0].figure
    f = np.array([[0.0, 1.0], [-0.5, 0.25]])
    im = plotting.plot_field(axes[0], f, vmax=3.0, colorbar=False)
    assert im.get_clim() == (-3.0, 3.0) and len(fig.axes) == 2  # no colour bar Axes added
    assert plotting.plot_field(axes[1], f).get_clim() == (-1.0, 1.0) and len(fig.axes) == 3


def test_fields_share_one_scale_and_one_colour_bar():
    fig, axes = plt.subplots(2, 3)
    rng = np.random.default_rng(1)
    fields = [s * rng.normal(size=(6, 6)) for s in (0.1, 1.0, 5.0, 2.0, 0.5)]
    ims = plotting.plot_fields(axes, fields, titles=list("abcde"), label=r"$\phi_i$")
    vmax = max(np.abs(f).max() for f in fields)
    assert len(ims) == 5 and all(im.get_clim() == (-vmax, vmax) for im in ims)
    assert len(fig.axes) == 7 and not axes[1, 2].get_visible()  # 6 panels (one hidden) + ONE colour bar
    assert ims[0].colorbar is not None and ims[0].colorbar.ax.get_ylabel() == r"$\phi_i$"
    assert [ax.get_title() for ax in axes.ravel()[:5]] == list("abcde")
    assert axes[0, 0].get_xlabel() == "" and axes[0, 2].get_xlabel() and axes[1, 1].get_ylabel() == ""
    plt.close(fig)
    fig, row = plt.subplots(1, 2)
    assert all(im.get_clim() == (-7.0, 7.0) for im in plotting.plot_fields(row, fields[:2], vmax=7.0))
    with pytest.raises(ValueError, match="fields"):
        plotting.plot_fields(row, fields)
    plt.close(fig)


def test_domain_growth_fit_dashed_in_the_colour_of_its_points(axes):
    t = np.geomspace(1, 100, 10)
    for kT, a in ((0.1, 0.3), (0.2, 0.45)):
        plotting.plot_domain_growth(axes[0], t, 2 * t**a, fit=True, label=f"kT = {kT}")
    points, fit, points2, fit2 = axes[0].get_lines()
    assert fit.get_color() == points.get_color() != fit2.get_color() == points2.get_color()
    assert fit.get_linestyle() == "--" and points.get_linestyle() == "None"


def test_dos_on_fixed_axes_and_bins(axes):
    eps = np.linspace(-1, 1, 101)
    counts = plotting.plot_dos(axes[0], eps, bins=10, xlim=(-2, 2), ylim=(0, 3))
    assert axes[0].get_xlim() == (-2, 2) and axes[0].get_ylim() == (0, 3)
    edges = [p.get_x() for p in axes[0].patches]
    np.testing.assert_allclose(edges, np.linspace(-2, 2, 11)[:-1])  # bins over xlim, not over eps's range
    assert counts[0] == counts[-1] == 0 and np.isclose(np.sum(counts) * 0.4, 1.0)
    narrow = plotting.plot_dos(axes[1], eps, bins=10, xlim=(0, 1))  # energies outside xlim not counted
    assert np.isclose(np.sum(narrow) * 0.1, 1.0) and np.isclose(axes[1].patches[0].get_x(), 0)
