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
