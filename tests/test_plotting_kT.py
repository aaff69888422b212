"""holstein.plotting_kT: figures and sentences of chapter 11 from (synthetic) committed results."""
import matplotlib.pyplot as plt
import pytest

from holstein import plotting_kT as pk


def _m(r, q):
    return dict(rmse_over_std=r), dict(rmse_over_std=q)


def _heldout():
    rows = {}
    for k, where, a, b in (("0.1", "grid", 0.007, 0.012), ("0.3", "off-grid", 0.009, 0.02), ("3", "off-grid", 0.011, 0.022),
                           ("12", "grid", 0.014, 0.024)):
        ra, qa = _m(a, b)
        rows[k] = dict(where=where, random=ra, quench=qa, all=ra)
    blind = {k: dict(v, random=dict(rmse_over_std=10 * v["random"]["rmse_over_std"]),
                     quench=dict(rmse_over_std=10 * v["quench"]["rmse_over_std"])) for k, v in rows.items()}
    return dict(models=dict(T=dict(by_kT=rows), blind=dict(by_kT=blind)))


def test_errors_and_the_sentence_are_the_numbers():
    h = _heldout()
    kT, err, off = pk.errors_by_kT(h, "T", "quench")
    assert kT.tolist() == [0.1, 0.3, 3.0, 12.0] and off.tolist() == [False, True, True, False]
    assert err.tolist() == pytest.approx([1.2, 2.0, 2.2, 2.4])
    s = pk.accuracy_sentence(h, "T", "blind")
    assert "1.40 % (random, worst at kT = 12)" in s and "2.40 % (quench" in s and "2.20 % at the temperatures" in s
    assert "0.70 % / 1.20 % at kT = 0.1" in s and "24.0 % (quench, kT = 12)" in s and "14.0 % (random, kT = 12)" in s
    header, rows = pk.accuracy_table(h, {"model T (x)": "T"})
    assert header == ["kT", "set", "model T: random", "model T: quench"] and rows[1][1] == "never trained on"
    fig, ax = plt.subplots()
    assert len(pk.plot_error_vs_kT(ax, h, {"a": "T", "b": "blind"}, target=2.5)) == 2
    plt.close(fig)


def test_error_vs_kT_draws_each_model_in_its_colour_with_the_legend_beside():
    from matplotlib.colors import to_hex

    from holstein.plotting import model_color

    h = _heldout()
    h["models"] = {"gcn_lean_mu_T_L24": h["models"]["T"], "gcn_lean_mu_L24_extra": h["models"]["blind"]}
    fig, axes = plt.subplots(1, 2)
    models = {"temperature-aware": "gcn_lean_mu_T_L24", "T-blind": "gcn_lean_mu_L24_extra"}
    pk.plot_error_vs_kT(axes[0], h, models)
    lines = pk.plot_error_vs_kT(axes[1], h, models, legend="right")
    assert [to_hex(line.get_color()) for line in lines] == [model_color(k) for k in models.values()]
    off = axes[1].get_lines()[1]  # the never-trained-on temperatures: open markers, same colour
    assert to_hex(off.get_color()) == model_color("gcn_lean_mu_T") and off.get_markerfacecolor() == "white"
    assert axes[0].get_legend() is None  # a row of panels: one legend, beside the last
    fig.canvas.draw()
    assert axes[1].get_legend().get_window_extent().x0 >= axes[1].get_window_extent().x1
    plt.close(fig)


def test_tc_sentence_uses_the_sharpest_crossing_and_compares_ed():
    binder = dict(mean_field_T_c=10.9, crossings=[dict(L_small=16, L_large=24, T_c=7.9, T_c_err=0.2),
                                                  dict(L_small=24, L_large=32, T_c=7.6, T_c_err=0.1),
                                                  dict(L_small=32, L_large=48, T_c=9.0, T_c_err=0.8)],
                  results=[dict(L=16, kT=8.0, U=0.40, U_err=0.02)])
    ed = dict(results=[dict(L=16, kT=8.0, U=0.43, U_err=0.03)])
    assert pk.critical_temperature(binder) is binder["crossings"][1]
    s = pk.tc_sentence(binder, binder, ed)
    assert "L = 24 and 32 cross at T_c = 7.60 ± 0.10" in s and "10.9" in s
    assert "7.90 ± 0.20 (16/24, 1.3 σ away)" in s and "9.00 ± 0.80 (32/48, 1.7 σ away)" in s
    assert "differs by at most 0.030 (at kT = 8" in s
    fig, ax = plt.subplots()
    assert len(pk.plot_binder(ax, binder)) == 1
    plt.close(fig)


def test_alpha_table_skips_runs_without_alpha_and_scales_by_tc():
    analysis = dict(results={"5": dict(alpha=0.6, alpha_err=0.2, t_min=125, t_max=830, growth_factor=3.18,
                                       collapse=0.0123),
                             "1": dict(alpha=0.1, alpha_err=0.01, t_min=125, t_max=1250, growth_factor=1.2,
                                       collapse=0.0456),
                             "2": dict(alpha=0.0381, alpha_err=0.0049, t_min=125, t_max=1250, growth_factor=2.0,
                                       collapse=0.0201),
                             "0.5": dict(alpha=None)})
    header, rows = pk.alpha_table(analysis, 6.25)
    assert header[1] == "T/T_c" and header[-1] == "collapse"
    assert rows == [["1", "0.16", "0.10 ± 0.01", "125–1250", "1.20×", "–"],
                    ["2", "0.32", "0.038 ± 0.005", "125–1250", "2.00×", "0.020"],  # L grew < 2x: no collapse quoted
                    ["5", "0.80", "0.60 ± 0.20", "125–830", "3.18×", "0.012"]]
    fig, ax = plt.subplots()
    pk.plot_alpha(ax, {"a": analysis, "b": analysis}, 6.25)
    fig.canvas.draw()
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]
    assert legend.get_window_extent().y1 <= ax.xaxis.label.get_window_extent().y0  # below the axes and x label
    plt.close(fig)


def test_shared_alpha_sentence_compares_runs_at_common_temperatures():
    a = dict(results={"3.5": dict(alpha=0.52, alpha_err=0.15), "1": dict(alpha=0.29, alpha_err=0.04)})
    b = dict(results={"3.5": dict(alpha=0.40, alpha_err=0.05), "2.5": dict(alpha=0.35, alpha_err=0.03)})
    s = pk.shared_alpha_sentence({"64×64": a, "200×200": b})
    assert "k_BT = 3.5$, $\\alpha = 0.52 \\pm 0.15$ (64×64) against $0.40 \\pm 0.05$ (200×200), 0.8 σ apart" in s
    assert "k_BT = 1$" not in s and "2.5" not in s
    assert pk.shared_alpha_sentence({"a": a, "c": dict(results={"7": dict(alpha=0.5, alpha_err=0.1)})}) == ""


def test_alpha_sentence_reads_only_runs_where_L_grew_and_calls_walls_pinned_only_with_colder_runs():
    row = lambda a, e, g: dict(alpha=a, alpha_err=e, growth_factor=g)  # noqa: E731
    full = dict(results={"0.1": row(0.04, 0.005, 1.1), "2": row(0.38, 0.09, 2.4), "5": row(0.60, 0.22, 3.2)})
    s = pk.alpha_sentence(full, 5.0)
    assert "($T/T_c$ = 0.40–1.00)" in s and "rises from $0.38 \\pm 0.09$ to $0.60 \\pm 0.22$" in s
    assert "from $T/T_c \\approx 0.40$ up" in s and "pinned walls" in s
    hot = dict(results={"2": row(0.38, 0.09, 2.4), "5": row(0.60, 0.22, 3.2)})
    assert "pinned" not in pk.alpha_sentence(hot, 5.0)  # no colder run of this set says so
    one = pk.alpha_sentence(dict(results={"3.5": row(0.46, 0.02, 2.5), "1": row(0.2, 0.01, 1.5)}), 5.0)
    assert one == ("$L$ grew at least 2× only at $T/T_c$ = 0.70, where $\\alpha = 0.46 \\pm 0.02$, within two "
                   "jackknife errors of 1/2.")
    far = dict(results={"1": row(0.2, 0.01, 2.1), "2": row(0.3, 0.01, 2.2)})
    assert "none is within" in pk.alpha_sentence(far, 5.0)
    assert pk.alpha_sentence(dict(results={"1": row(0.2, 0.01, 1.5)}), 5.0).startswith("Nowhere")
