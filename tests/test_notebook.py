"""Tests of holstein/notebook.py: the tables and the model loading the chapters share."""
import numpy as np

from holstein import artifacts, notebook, train


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
    assert lines[2] == f"| `lean` | all | 3 | {m['rmse']:.4f} | {m['rmse_over_std']:.3%} | {m['r2']:.4f} |"
    assert lines[3].startswith("| `lean` | random | 0 |")


def test_load_models_reports_where_the_weights_come_from(monkeypatch, capsys):
    ck = dict(epoch=4, train_config=dict(epochs=10, lr=1e-3, loss_scale=1000.0), history=dict(seconds=[0.5, 1.5]))
    monkeypatch.setattr(artifacts, "trained_model", lambda name, prof, device, ds: (f"model {name}", ck))
    monkeypatch.setattr(artifacts, "committed_dir", lambda name, L: "here" if name == "a" else None)
    ds = type("DS", (), {"L": 24})()
    out = notebook.load_models(["a", "bb"], prof=object(), ds=ds)
    assert out == {"a": ("model a", ck), "bb": ("model bb", ck)}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("a  committed weights") and lines[1].startswith("bb trained here")
    assert "best epoch 5 of 10, lr 0.001, loss scale 1000, 1 s per epoch" in lines[0]


def test_benchmark_label_names_machine_load_and_command():
    res = dict(machine=dict(cpu_model="AMD EPYC", cpu_count=2, threads=1, device="cpu", torch="2.x",
                            loadavg=[0.05, 0.1, 0.2]), command="python -m holstein bench speed")
    label = notebook.benchmark_label(res, "speed")
    assert "benchmarks/speed.json" in label and "AMD EPYC" in label and "torch threads: 1" in label
    assert "0.05, 0.10, 0.20" in label and "`python -m holstein bench speed`" in label
    del res["machine"]["loadavg"]
    assert "not recorded" in notebook.benchmark_label(res, "speed")
    assert "1.50" in notebook.benchmark_label(dict(res, loadavg_before=[1.5, 1, 1]), "speed")
    assert "NVIDIA H200" in notebook.benchmark_label(dict(res, machine=dict(res["machine"], gpu="NVIDIA H200")), "x")
    speed = artifacts.benchmark("speed")  # the committed file the book reads
    assert speed is not None and "bench speed" in notebook.benchmark_label(speed, "speed")
