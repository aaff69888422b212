"""Tests of the figure helpers in holstein/plotting.py for force fields (parity, errors, history) and speed."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from holstein.plotting_models import (plot_error_histogram, plot_history, plot_learning_curves,  # noqa: E402
                                      plot_parity, plot_val_rmse)


@pytest.fixture
def forces():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(5, 6, 6))
    return F, F + 0.1 * rng.normal(size=F.shape)


@pytest.fixture
def ax():
    fig, ax = plt.subplots()
    yield ax
    plt.close(fig)


def _legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def test_parity_scatter_labels_and_rmse(ax, forces):
    F, P = forces
    arts = plot_parity(ax, F, P, label="lean")
    assert len(arts) == 1
    assert "F_i^{\\mathrm{ED}}" in ax.get_xlabel() and "F_i^{\\mathrm{ML}}" in ax.get_ylabel()
    assert "$t$" in ax.get_xlabel() and "$t$" in ax.get_ylabel()  # units
    rmse = np.sqrt(np.mean((P - F) ** 2))
    assert any(f"lean: RMSE = {rmse:.3g}" == t for t in _legend_texts(ax))
    assert ax.get_xlim() == ax.get_ylim()


def test_parity_several_series_torch_and_hexbin(ax, forces):
    F, P = forces
    arts = plot_parity(ax, [torch.as_tensor(F[:2]), F[2:]], [P[:2], P[2:]], label=["random", "quench"])
    assert len(arts) == 2
    texts = _legend_texts(ax)
    assert any(t.startswith("random: RMSE") for t in texts) and any(t.startswith("quench: RMSE") for t in texts)
    fig, ax2 = plt.subplots()
    arts = plot_parity(ax2, F, P, kind="hexbin")
    assert ax2.get_xlabel() and ax2.get_ylabel()
    assert isinstance(arts[0], matplotlib.collections.PolyCollection)
    plt.close(fig)


def test_parity_hexbin_has_a_log_count_colour_bar_and_the_rmse_in_a_box_not_a_legend(forces):
    F, P = forces
    fig, ax = plt.subplots()
    (hb,) = plot_parity(ax, F, P, label="gcn_lean", kind="auto", max_points=50)  # 180 forces: a hexbin
    assert isinstance(hb, matplotlib.collections.PolyCollection)
    assert hb.colorbar is not None and "count" in hb.colorbar.ax.get_ylabel() and "log" in hb.colorbar.ax.get_ylabel()
    assert isinstance(hb.norm, matplotlib.colors.LogNorm) and len(fig.axes) == 2
    assert ax.get_legend() is None  # no legend square for the hexbin
    rmse = np.sqrt(np.mean((P - F) ** 2))
    (box,) = [t for t in ax.texts if "RMSE" in t.get_text()]
    assert f"gcn_lean: RMSE = {rmse:.3g}" in box.get_text() and box.get_bbox_patch() is not None
    plt.close(fig)


def test_each_model_is_drawn_in_its_colour(forces):
    from matplotlib.colors import to_hex

    from holstein.plotting import model_color
    from holstein.plotting_models import plot_cost_scaling, plot_heldout_by_set

    F, P = forces
    fig, axes = plt.subplots(2, 3)
    (sc,) = plot_parity(axes[0, 0], F, P, label="gcn_lean_L24")
    assert to_hex(sc.get_facecolor()[0], keep_alpha=False) == model_color("gcn_lean")
    plot_error_histogram(axes[0, 1], [F, F], [P, P], labels=["bp_mlp_lean_L24", "bp_mlp"])
    assert [to_hex(p.get_edgecolor(), keep_alpha=False) for p in axes[0, 1].patches] == [
        model_color("bp_mlp_lean"), model_color("bp_mlp")]
    curves = {"gcn_lean_mu_L24": _hist([1.0, 2.0], [2.0, 1.0]), "gcn_lean_mu_L24_extra": _hist([1.0, 3.0], [2.0, 0.5])}
    lines = plot_val_rmse(axes[0, 2], curves)
    assert [to_hex(line.get_color()) for line in lines] == [model_color(n) for n in curves]
    lt, lv = plot_history(axes[1, 0], curves["gcn_lean_mu_L24"], label="energy_gnn")
    assert to_hex(lt.get_color()) == to_hex(lv.get_color()) == model_color("energy_gnn")
    timing = {(n, L): 1e-3 * L for n in ("ed", "gcn_lean_L24", "kpm") for L in (4, 8)}
    plot_cost_scaling(axes[1, 1], timing, ["ed", "gcn_lean_L24", "kpm"])
    assert [to_hex(line.get_color()) for line in axes[1, 1].get_lines()] == ["#000000", model_color("gcn_lean"),
                                                                            model_color("kpm")]
    rows = {n: {"L40": {"random": dict(rmse_over_std=0.02), "quench": dict(rmse_over_std=0.03)}}
            for n in ("gcn_lean_mu_L40", "gcn_lean_L40")}
    bars = plot_heldout_by_set(axes[1, 2], rows, sets=("L40",))
    for container in bars:
        assert [to_hex(b.get_facecolor(), keep_alpha=False) for b in container] == [model_color(n) for n in rows]
    plt.close(fig)


def _outside(ax, where="right"):
    """Whether the legend of ``ax`` is right of (or below) the axes once drawn."""
    ax.figure.canvas.draw()
    leg, box = ax.get_legend().get_window_extent(), ax.get_window_extent()
    return leg.x0 >= box.x1 if where == "right" else leg.y1 <= box.y0


def test_multi_entry_legends_are_off_the_axes():
    from holstein.plotting_models import plot_cost_scaling, plot_heldout_by_set

    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    curves = {n: _hist([1.0, 2.0], [2.0, 1.0]) for n in ("gcn", "gcn_lean", "bp_mlp")}
    plot_val_rmse(axes[0], curves)
    plot_cost_scaling(axes[1], {(n, L): 1e-3 * L for n in curves for L in (4, 8)}, list(curves))
    rows = {"a": {"L40": {"random": dict(rmse_over_std=0.02), "quench": dict(rmse_over_std=0.04)}}}
    plot_heldout_by_set(axes[2], rows)
    assert [_outside(axes[0], "below"), _outside(axes[1], "below"), _outside(axes[2])] == [True] * 3
    assert [t.get_text() for t in axes[2].get_legend().get_texts()] == ["L40 held-out", "L24 held-out", "random",
                                                                        "quench"]
    plt.close(fig)
    fig, ax = plt.subplots()
    for n in ("gcn", "gcn_lean"):
        plot_history(ax, curves[n], label=n)
    assert len(ax.get_legend().get_texts()) == 4 and _outside(ax)  # several histories: beside the axes
    plt.close(fig)


def test_parity_rejects_bad_input(ax, forces):
    F, P = forces
    with pytest.raises(ValueError):
        plot_parity(ax, F, P[:2])
    with pytest.raises(ValueError):
        plot_parity(ax, F, P, kind="violin")
    with pytest.raises(ValueError):
        plot_parity(ax, [F, F], [P, P], kind="hexbin")


def test_error_histogram_log_and_normalised(ax, forces):
    F, P = forces
    out = plot_error_histogram(ax, [F, F[:2]], [P, P[:2]], labels=["all", "first two"])
    assert ax.get_yscale() == "log"
    assert "F_i^{\\mathrm{ML}} - F_i^{\\mathrm{ED}}" in ax.get_xlabel() and "$t$" in ax.get_xlabel()
    assert ax.get_ylabel() == "probability density"
    assert len(out) == 2
    for counts, edges in out:
        assert np.isclose(np.sum(counts * np.diff(edges)), 1.0)
        assert np.isclose(edges[0], -edges[-1])
    assert all("RMSE" in t for t in _legend_texts(ax))
    with pytest.raises(ValueError):
        plot_error_histogram(ax, [F], [P], labels=["a", "b"])


def test_history(ax):
    hist = dict(epoch=[0, 1, 2], train_loss=[1.0, 0.5, 0.2], val_loss=[1.2, 0.6, 0.3])
    lt, lv = plot_history(ax, hist, label="gcn")
    assert ax.get_yscale() == "log"
    assert ax.get_xlabel() == "epoch" and "loss" in ax.get_ylabel()
    assert list(lt.get_xdata()) == [1, 2, 3] and list(lv.get_ydata()) == [1.2, 0.6, 0.3]
    assert _legend_texts(ax) == ["gcn: training", "gcn: validation"]
    with pytest.raises(ValueError):
        plot_history(ax, dict(epoch=[0]))


def _hist(seconds, rmse):
    n = len(seconds)
    return dict(epoch=list(range(n)), train_loss=[1.0] * n, val_loss=[1.0] * n, val_rmse=rmse, seconds=seconds)


def test_history_and_validation_rmse_against_training_seconds(ax):
    lean, ref = _hist([2.0, 3.0, 5.0], [0.5, 0.3, 0.2]), _hist([100.0, 120.0], [3.0, 2.0])
    lt, _ = plot_history(ax, lean, x="seconds")
    assert list(lt.get_xdata()) == [2, 5, 10] and ax.get_xscale() == "log"  # cumulative seconds
    assert "training time (s" in ax.get_xlabel()
    with pytest.raises(ValueError, match="no 'seconds'"):
        plot_history(ax, dict(epoch=[0], train_loss=[1], val_loss=[1]), x="seconds")
    fig, ax2 = plt.subplots()
    a, b = plot_val_rmse(ax2, {"gcn_lean": lean, "gcn": ref})
    assert list(b.get_xdata()) == [100, 220] and list(b.get_ydata()) == [3.0, 2.0]
    assert (a.get_linestyle(), b.get_linestyle()) == ("-", "--")  # reference models dashed
    assert ax2.get_xscale() == ax2.get_yscale() == "log" and "validation RMSE" in ax2.get_ylabel()
    plt.close(fig)
    fig, axes = plt.subplots(2, 2)
    plot_learning_curves(axes, {"gcn_lean": lean, "gcn": ref})
    assert [a.get_legend() is not None for a in axes.ravel()] == [False, True, False, True]  # right column only
    assert _outside(axes[0, 1]) and _outside(axes[1, 1])
    from holstein.plotting import model_color

    assert [matplotlib.colors.to_hex(line.get_color()) for line in axes[1, 0].get_lines()] == [
        model_color("gcn_lean"), model_color("gcn")]
    assert [a.get_xlabel() == "epoch" for a in axes.ravel()] == [True, False, True, False]
    assert ["loss" in a.get_ylabel() for a in axes.ravel()] == [True, True, False, False]
    assert list(axes[1, 1].get_lines()[1].get_xdata()) == [100, 220]
    with pytest.raises(ValueError, match="2 x 2"):
        plot_learning_curves(axes[0], {"gcn": ref})
    plt.close(fig)


@pytest.mark.slow
def test_speed_figures_of_the_committed_benchmark(tmp_path):
    """The speed figures are a pure function of a bench_speed result: here the committed
    holstein/artifacts/bench/speed.json."""
    import json

    from holstein.bench import BENCHMARKS
    from holstein.plotting import plot_speed, speed_figures

    from matplotlib.colors import to_hex

    from holstein.plotting import model_color

    res = json.loads((BENCHMARKS / "speed.json").read_text())
    fig_scaling, fig_ensemble = speed_figures(res)
    axes = fig_scaling.get_axes()
    assert len(axes) == 3 and axes[-1].get_xlabel() and all(ax.get_ylabel() for ax in axes)
    (legend,) = fig_scaling.legends  # one legend for the three panels, outside them
    names = {t.get_text().split(" (")[0] for t in legend.get_texts()}
    assert names >= {"ed", "kpm", "gcn_lean", "gcn"}
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in axes)
    assert [ax.get_title() for ax in fig_ensemble.get_axes()][1] == "(b) reference approach vs lean model"
    for fig in (fig_scaling, fig_ensemble):  # one column, readable at the book's 752 px (about 7.5 in)
        assert fig.get_figwidth() <= 7.5 and all(ax.get_position().width > 0.6 for ax in fig.get_axes())
        fig.canvas.draw()
        texts = [t for ax in fig.get_axes() for t in (ax.title, ax.xaxis.label, ax.yaxis.label,
                                                      *ax.get_xticklabels(), *ax.get_yticklabels()) if t.get_text()]
        assert min(t.get_fontsize() for t in texts) >= 9
        assert min(t.get_fontsize() for leg in fig.legends + [a.get_legend() for a in fig.get_axes() if a.get_legend()]
                   for t in leg.get_texts()) >= 8
    for line in axes[0].get_lines():
        name = line.get_label().split(" (")[0]
        if name in res["methods"]:
            assert to_hex(line.get_color()) == model_color(name), name
    lines = fig_ensemble.get_axes()[0].get_lines()
    assert len(lines) == 2 and all(to_hex(line.get_color()) == model_color(res["ensemble"]["model"]) for line in lines)
    paths = plot_speed(res, tmp_path / "sub" / "speed")
    assert [p.name for p in paths] == ["speed_scaling.png", "speed_ensemble.png"]
    assert all(p.stat().st_size > 0 for p in paths)


def test_model_figures_nve_cost_size_study_receptive_field(ax):
    from holstein.plotting_models import (plot_cost_scaling, plot_energy_error, plot_energy_exchange, plot_receptive_field,
                                          plot_size_study)

    t = np.arange(4.0)
    run = dict(time=t, E=-t, K=t + 0.01 * t**2, H=0.01 * t**2)
    assert len(plot_energy_exchange(ax, run)) == 3 and "energy" in ax.get_ylabel()
    fig, bx = plt.subplots(1, 3)
    (line,) = plot_energy_error(bx[0], {"a": run})
    assert np.allclose(line.get_ydata(), run["H"] / run["K"].mean())
    timing = {("ed", L): 1e-6 * (L * L) ** 3 for L in (4, 8, 16)} | {("m", L): 1e-3 * L * L for L in (4, 8)}
    slopes = plot_cost_scaling(bx[1], timing, ["ed", "m"])
    assert slopes["ed"][0] == pytest.approx(3) and slopes["m"][0] == pytest.approx(1)
    res = [dict(L=L, input=i, random=0.1, quench=0.05) for L in (8, 16) for i in ("local", "median")]
    assert len(plot_size_study(bx[2], res)) == 4 and bx[2].get_yscale() == "log"
    plt.close(fig)
    fig, cx = plt.subplots()
    grad = np.zeros((6, 6))
    grad[3, 3] = 1.0
    plot_receptive_field(cx, grad, 1)
    assert len(cx.get_legend().get_texts()) == 2
    plt.close(fig)


def test_heldout_bars_show_each_model_set_and_kind(ax):
    from holstein.plotting_models import plot_heldout_by_set

    rows = {"a": {"L40": {"random": dict(rmse_over_std=0.02), "quench": dict(rmse_over_std=0.04)},
                  "L24": {"random": dict(rmse_over_std=0.01), "quench": dict(rmse_over_std=0.03)}},
            "b": {"L40": {"random": dict(rmse_over_std=0.05), "quench": dict(rmse_over_std=0.06)}}}
    bars = plot_heldout_by_set(ax, rows)
    assert len(bars) == 4 and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    assert bars[1][0].get_height() == pytest.approx(4.0) and np.isnan(bars[2][1].get_height())  # b has no L24
