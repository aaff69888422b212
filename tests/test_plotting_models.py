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

    res = json.loads((BENCHMARKS / "speed.json").read_text())
    fig_scaling, fig_ensemble = speed_figures(res)
    axes = fig_scaling.get_axes()
    assert len(axes) == 3 and all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    assert {t.get_text().split(" (")[0] for t in axes[0].get_legend().get_texts()} >= {"ed", "gcn_lean"}
    assert all(ax.get_xscale() == "log" and ax.get_yscale() == "log" for ax in axes)
    assert [ax.get_title() for ax in fig_ensemble.get_axes()][1] == "(b) reference approach vs lean model"
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
