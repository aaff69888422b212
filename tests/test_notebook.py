"""Tests of holstein/notebook.py: the tables and the model loading the chapters share."""
import numpy as np
import pytest
import torch

from holstein import catalog, notebook, recipes, train


def _text(md):
    return md.data if hasattr(md, "data") else md


def test_markdown_table_aligns_columns():
    text = _text(notebook.markdown_table(["a", "b"], [["x", 1], ["y", 2.5]]))
    assert text.splitlines() == ["| a | b |", "| --- | ---: |", "| x | 1 |", "| y | 2.5 |"]


def test_metrics_table_shows_force_metrics_per_kind():
    rng = np.random.default_rng(0)
    F = rng.normal(size=(3, 4, 4))
    m = train.force_metrics(F, F + 0.1 * rng.normal(size=F.shape))
    lines = _text(notebook.metrics_table({"lean": dict(all=m, quench=m)})).splitlines()
    assert lines[0] == "| model | snapshots | n | RMSE | RMSE/std(F) | R² |" and len(lines) == 5
    assert lines[2] == f"| `lean` | all | 3 | {m['rmse']:.4f} | {m['rmse_over_std']:.2%} | {m['r2']:.4f} |"
    assert lines[3].startswith("| `lean` | random | 0 |")
    row = dict(count=7, rmse=0.012345, rmse_over_std=0.012734, r2=0.99987)
    assert _text(notebook.metrics_table({"m": dict(all=row)}, kinds=("all",))).splitlines()[2] == (
        "| `m` | all | 7 | 0.0123 | 1.27% | 0.9999 |")  # RMSE/std with two decimals of a percent


def test_setup_draws_figures_at_150_dpi(capsys):
    import matplotlib as mpl

    with mpl.rc_context():
        device, prof = notebook.setup()
        assert mpl.rcParams["figure.dpi"] == 150 and tuple(mpl.rcParams["figure.figsize"]) == (6.4, 4.0)
    assert device in ("cpu", "cuda") and f"profile: {prof.name}" in capsys.readouterr().out


def test_load_models_reports_where_the_weights_come_from(monkeypatch, capsys):
    ck = dict(epoch=4, train_config=dict(epochs=10, lr=1e-3, loss_scale=1000.0), history=dict(seconds=[0.5, 1.5]))
    monkeypatch.setattr(recipes, "trained_model", lambda name, prof, device, ds: (f"model {name}", ck))
    monkeypatch.setattr(catalog, "committed_dir", lambda name, L: "here" if name == "a" else None)
    ds = type("DS", (), {"L": 24})()
    out = notebook.load_models(["a", "bb"], prof=object(), ds=ds)
    assert out == {"a": ("model a", ck), "bb": ("model bb", ck)}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("a  committed weights") and lines[1].startswith("bb trained here")
    assert "best epoch 5 of 10, lr 0.001, loss scale 1000, 1 s per epoch" in lines[0]


def test_benchmark_label_names_machine_load_and_command():
    res = dict(machine=dict(cpu_model="AMD EPYC", cpu_count=2, threads=1, device="cpu", torch="2.x",
                            loadavg_before=[0.05, 0.1, 0.2]), command="python -m holstein bench speed")
    label = notebook.benchmark_label(res, "speed")
    assert "holstein/artifacts/bench/speed.json" in label and "AMD EPYC" in label and "torch threads: 1" in label
    assert "0.05, 0.10, 0.20" in label and "`python -m holstein bench speed`" in label and "ended" not in label
    after = dict(res, machine=dict(res["machine"], loadavg_after=[1.5, 1, 1]))
    assert "0.05, 0.10, 0.20 (1, 5, 15 min) when it started, 1.50, 1.00, 1.00 when it ended" in notebook.benchmark_label(
        after, "speed")
    del res["machine"]["loadavg_before"]
    assert "not recorded" in notebook.benchmark_label(res, "speed")
    assert "not recorded" in notebook.benchmark_label(dict(res, loadavg_before=[1.5, 1, 1]), "speed")  # only in machine
    assert "NVIDIA H200" in notebook.benchmark_label(dict(res, machine=dict(res["machine"], gpu="NVIDIA H200")), "x")
    speed = catalog.benchmark("speed")  # the committed file the book reads
    assert speed is not None and "bench speed" in notebook.benchmark_label(speed, "speed")


# ----------------------------------------------------------------------------- reading learning curves
def _history(t, rmse):
    """A history whose cumulative training seconds are ``t`` and validation RMSEs ``rmse``."""
    t = np.asarray(t, dtype=float)
    n = len(t)
    return dict(epoch=list(range(n)), train_loss=[1.0] * n, val_loss=list(np.asarray(rmse) ** 2),
                val_rmse=list(rmse), lr=[1e-3] * n, seconds=list(np.diff(t, prepend=0.0)))


def test_convergence_measures_the_slope_of_the_last_third():
    t = 10.0 * 2.0 ** np.arange(9)  # cumulative seconds 10 ... 2560
    rmse = np.where(t <= t[5], 5.0 * t**-1.0, 5.0 * t[5] ** -1.0 * (t / t[5]) ** -0.25)  # -1, then -0.25
    c = notebook.convergence(_history(t, rmse))
    assert c["slope"] == pytest.approx(-0.25) and c["per_doubling"] == pytest.approx(1 - 2**-0.25)
    assert c["epochs"] == (6, 9) and c["seconds"] == (t[5], t[-1])  # the last third, but 4 epochs at least
    assert notebook.convergence(_history(t, rmse), fraction=1.0)["slope"] < -0.5  # the whole run: steeper
    text = notebook.convergence_sentence("gcn", _history(t, rmse))
    assert "still falling by 16 % per doubling" in text and "(training time)^-0.25" in text
    assert "halving it at that rate would take 4 more doublings" in text
    rising = notebook.convergence_sentence("gcn", _history(t, t**0.1))
    assert "no longer improved" in rising and notebook.convergence(_history(t, t**0.1))["slope"] == pytest.approx(0)
    spiky = rmse.copy()
    spiky[-1] *= 10  # one bad last epoch: the best so far is what a run keeps
    assert notebook.convergence(_history(t, spiky))["slope"] < 0
    assert notebook.convergence(_history([5.0], [1.0])) is None
    assert "too few" in notebook.convergence_sentence("gcn", _history([5.0], [1.0]))


def test_best_within_and_the_budget_sentence():
    fast, slow = _history([1, 2, 3], [3.0, 1.0, 2.0]), _history([100, 200], [5.0, 0.5])
    assert notebook.best_within(fast, 2.5) == 1.0 and notebook.best_within(fast, 1e9) == 1.0  # kept its best
    assert np.isnan(notebook.best_within(slow, 50))
    curves = {"gcn_lean": fast, "gcn": slow}
    assert notebook.budget_sentence(curves, 10, "the lean budget") == (
        "At 10 s of training (the lean budget), `gcn_lean` is best (validation RMSE 1); `gcn` had not finished an epoch.")
    assert notebook.budget_sentence(curves, 200, "x") == "At 200 s of training (x), `gcn` is best (validation RMSE 0.5)."
    assert "the best reference model, `gcn`, is at 5 (5× higher)" in notebook.budget_sentence(curves, 100, "x")


def test_claim_sentence_says_where_the_claim_holds():
    m = lambda **r: {k: dict(rmse=v) for k, v in r.items()}  # noqa: E731
    metrics = dict(gcn=m(all=1.0, random=2.0, quench=0.5), bp_mlp=m(all=2.0, random=3.0, quench=0.4))
    assert notebook.claim_sentence(metrics, "gcn", "bp_mlp") == (
        "`gcn` more accurate than `bp_mlp` (held-out RMSE): holds on all (1 vs 2), random (2 vs 3); "
        "fails on quench (0.5 vs 0.4).")
    del metrics["gcn"]["random"]
    assert "holds on all (1 vs 2); fails" in notebook.claim_sentence(metrics, "gcn", "bp_mlp")


# ----------------------------------------------------------------------------- trained runs of a chapter
@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    from holstein import PAPER, data

    return data.generate(tmp_path_factory.mktemp("nb") / "d.npz", L=4, p=PAPER, n_random=4, n_quench=10,
                         quench_runs=1, quench_every=5, seed=1, progress=False)


@pytest.mark.parametrize("committed", [True, False])
def test_trained_runs_shows_a_committed_run_only_where_the_profile_says(ds, monkeypatch, capsys, committed):
    from holstein import models, profiles

    test = ds.split()[1]
    hist = _history([1.0, 2.0], [2.0, 1.0])
    tiny = dict(channels=[1, 4, 1])
    run = catalog.ReferenceRun("gcn", catalog.REFERENCE / "gcn_L4", dict(
        metrics=dict(all=dict(rmse=9.0)), config=tiny, epochs_run=2, train_seconds=3.0, command="train ..."),
        hist, dict(index=test, kind=ds.kind[test], F=ds.F[test], F_pred=np.float32(ds.F[test] + 1)))
    monkeypatch.setattr(catalog, "reference_run", lambda name, d: run if name == "gcn" else None)
    asked = []

    def load_models(names, prof, device, d, report):
        asked.extend(names)
        return {n: (models.build("gcn", **tiny).double(), dict(history=hist)) for n in names}

    monkeypatch.setattr(notebook, "load_models", load_models)
    monkeypatch.setattr(catalog, "committed_dir", lambda name, L: None)
    prof = profiles.get_profile("ci").replace(reference_committed=committed)
    runs = notebook.trained_runs(["gcn_lean", "gcn"], prof, ds=ds)
    assert list(runs) == ["gcn_lean", "gcn"] and runs["gcn_lean"].source == "trained here"
    assert runs["gcn_lean"].model is not None and runs["gcn_lean"].F_pred.shape == (len(test), 4, 4)
    live = train.metrics_of(ds, test, train.predict(runs["gcn_lean"].model, ds.Q[test]))
    assert runs["gcn_lean"].metrics["all"]["rmse"] == pytest.approx(live["all"]["rmse"])
    if committed:  # nothing trained or predicted for the committed run: its own numbers
        assert asked == ["gcn_lean"] and runs["gcn"].model is None and runs["gcn"].metrics["all"]["rmse"] == 9.0
        assert runs["gcn"].source == "committed run (no weights)" and runs["gcn"].history is hist
        np.testing.assert_allclose(runs["gcn"].F_pred, ds.F[test] + 1, rtol=1e-6)
        assert "gcn      committed run     2 epochs in 3 s, best epoch 2" in capsys.readouterr().out
        torch.set_default_dtype(torch.float32)  # as in a notebook; the checks need float64
        nets = notebook.networks(runs)  # the architecture, with initial weights, for the checks
        assert nets["gcn_lean"] is runs["gcn_lean"].model and nets["gcn"].channels == (1, 4, 1)
        assert next(nets["gcn"].parameters()).dtype == torch.float64 and not nets["gcn"].training
        assert "gcn: trained weights not committed" in capsys.readouterr().out
    else:
        assert asked == ["gcn_lean", "gcn"] and runs["gcn"].model is not None


def test_phi_maps_picks_step_600_the_last_and_the_middle():
    from holstein.notebook import phi_maps
    steps = np.array([10, 100, 700, 1000, 5000, 25000])
    phi = np.arange(len(steps) * 2 * 4, dtype=np.float16).reshape(len(steps), 2, 2, 2)
    fields, titles = phi_maps(dict(phi_step=steps, phi=phi), replica=1, dt=0.05)
    assert titles == ["step 700, t = 35", "step 5000, t = 250", "step 25000, t = 1250"]  # sqrt(700*25000) ~ 4183
    np.testing.assert_array_equal(fields[2], phi[5, 1].astype(float))
