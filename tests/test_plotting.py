"""Smoke tests of the figure helpers added to holstein/plotting.py (shells, CDW order, DOS, KPM)."""
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
