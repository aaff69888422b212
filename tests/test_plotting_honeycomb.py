"""The honeycomb chapter's figures and computed sentences (holstein.plotting_honeycomb)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from holstein import PAPER, ed  # noqa: E402
from holstein import plotting_honeycomb as hb  # noqa: E402
from holstein.lattice import HoneycombLattice  # noqa: E402


def test_cdw_onset_on_both_lattices_and_the_sentence_it_makes():
    o = hb.cdw_onset(PAPER, [0.8, 2.0, 3.5], L=16)
    hc = PAPER.replace(lattice="honeycomb")
    assert o["honeycomb"][0] == 0.0 < o["square"][0]  # at g = 0.8 only the square lattice orders (kT = 0.1)
    assert o["honeycomb"][2] == pytest.approx(ed.cdw_amplitude(hc, 16)) == pytest.approx(o["Q0"])
    above, below = (ed.cdw_amplitude(hc.replace(kT=f * o["Tc_mf"]), 16) for f in (1.01, 0.99))
    assert above == 0 < below
    text = hb.onset_sentence(o, {2.0: ed.cdw_amplitude(hc.replace(g=2.0), 12)}, hc)
    assert f"$g_c = {o['g_c']:.2f}$" in text and "3.4 times" in text


def test_plot_phi_draws_every_site_at_its_position_on_one_colour_scale():
    fig, ax = plt.subplots()
    phi = np.random.default_rng(0).normal(size=(5, 5, 2))
    art = hb.plot_phi(ax, phi, vmax=2.0)
    assert art.get_offsets().shape == (50, 2) and art.get_clim() == (-2.0, 2.0)
    np.testing.assert_allclose(art.get_offsets(), HoneycombLattice(5).positions)
    plt.close(fig)


def test_the_committed_results_feed_the_tables_and_sentences():
    res = hb.results()
    header, rows = hb.accuracy_table(res)
    assert len(header) == len(rows[0]) <= 6 and rows[0][0] == f"`{hb.MODEL}`"
    m = res["metrics"][hb.MODEL]["metrics"]
    assert rows[0][3] == f"{100 * m['random']['rmse_over_std']:.2f}"
    assert "α" in hb.large_sentence(res) or "alpha" in hb.large_sentence(res)


def test_the_chapters_figures_draw_each_model_and_ed_in_its_colour():
    from matplotlib.colors import to_hex

    from holstein.plotting import model_color

    res = hb.results()
    fig, axes = plt.subplots(1, 3)
    hb.plot_headline(axes, res)
    ed_line, ml_line = axes[1].get_lines()[:2]
    assert to_hex(ed_line.get_color()) == "#000000" and to_hex(ml_line.get_color()) == model_color(hb.MODEL)
    bars = [p for p in axes[2].patches]  # random then quench, one bar per committed honeycomb model
    names = [n for n, _ in hb.MODELS]
    assert [to_hex(b.get_facecolor(), keep_alpha=False) for b in bars] == [model_color(n) for n in names] * 2
    assert model_color("gcn_lean_hc16") != model_color("gcn_lean_mu_hc16")
    plt.close(fig)
    fig, axes = plt.subplots(1, 2)
    hb.plot_paired(axes, res)
    assert all(to_hex(ax.get_lines()[0].get_color()) == model_color(hb.MODEL) for ax in axes)
    plt.close(fig)
    fig, axes = plt.subplots(1, 3)
    hb.plot_large(axes, res)
    honeycomb, square = axes[2].get_lines()[:2]  # gcn_lean_mu (hc16) and the T-aware square-lattice model
    assert to_hex(honeycomb.get_color()) == model_color("gcn_lean_mu")
    assert to_hex(square.get_color()) == model_color("gcn_lean_mu_T")
    plt.close(fig)


def test_in_gap_snapshots_carry_the_direct_heads_quench_error():
    """The committed direct-force honeycomb model errs where ED has levels at the Fermi energy: those
    held-out quench snapshots carry most of its squared error, and without them it meets the 3 % target."""
    d = hb.in_gap_errors(["gcn_lean_hc16"])["gcn_lean_hc16"]
    assert 0 < d["n_in_gap"] < d["n"] and d["share"] > 0.5
    assert d["rmse_rest"] < 0.03 < d["rmse_all"]
    assert "in-gap" in hb.in_gap_sentence(d, d)
