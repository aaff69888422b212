"""Tests of holstein/catalog.py: committed runs without weights (reference/<name>_L<L>/)."""
import dataclasses
import shutil

import numpy as np
import pytest

from holstein import PAPER, catalog, data, models, train
from holstein.files import write_json


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    path = tmp_path_factory.mktemp("artifacts") / "d.npz"
    return data.generate(path, L=4, p=PAPER, n_random=4, n_quench=10, quench_runs=1, quench_every=5, seed=1,
                         progress=False)


def _commit(folder, name, ds, pred):
    """The three files `python -m holstein train` writes and the lead commits, by the same writers."""
    test = ds.split()[1]
    model = models.build(name, channels=(1, 4, 1))
    extra = dict(dataset_sha256=ds.sha256, epochs_run=2, train_seconds=3.0, command="python -m holstein train ...")
    train.save_metrics(folder / "metrics.json", name, model, train.metrics_of(ds, test, pred), extra)
    write_json(dict(epoch=[0, 1], train_loss=[1.0, 0.5], val_loss=[0.9, 0.4], val_rmse=[2.0, 1.5], lr=[1e-3, 1e-3],
                    seconds=[1.0, 2.0]), folder / "history.json")
    train.save_heldout(folder / "heldout.npz", ds, test, pred)


def test_reference_run_reads_the_committed_files(ds, tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "REFERENCE", tmp_path)
    assert catalog.reference_run("gcn", ds) is None  # nothing committed
    test = ds.split()[1]
    pred = ds.F[test] + 0.1
    _commit(tmp_path / f"gcn_L{ds.L}", "gcn", ds, pred)
    run = catalog.reference_run("gcn", ds)
    assert run.name == "gcn" and run.path == tmp_path / "gcn_L4"
    assert run.metrics["metrics"]["all"]["rmse"] == pytest.approx(0.1) and run.metrics["epochs_run"] == 2
    assert run.history["seconds"] == [1.0, 2.0]
    np.testing.assert_array_equal(run.heldout["index"], test)
    np.testing.assert_allclose(run.heldout["F_pred"], pred, rtol=1e-6)
    assert set(run.heldout) == {"index", "kind", "F", "F_pred"}
    assert catalog.reference_run("bp_mlp", ds) is None  # another model: no folder


def test_reference_run_refuses_another_dataset_model_or_an_incomplete_folder(ds, tmp_path, monkeypatch):
    monkeypatch.setattr(catalog, "REFERENCE", tmp_path)
    folder = tmp_path / f"gcn_L{ds.L}"
    _commit(folder, "gcn", ds, ds.F[ds.split()[1]])
    other = dataclasses.replace(ds, meta=dict(ds.meta, sha256="0" * 64))  # same L, another dataset
    with pytest.raises(ValueError, match=r"metrics.json belongs to dataset \w{12}…, not to this one \(000000000000…"):
        catalog.reference_run("gcn", other)  # never the numbers of another dataset
    test = ds.split()[1]
    train.save_heldout(folder / "heldout.npz", other, test, ds.F[test])  # predictions of another dataset
    with pytest.raises(ValueError, match=r"heldout.npz belongs to dataset 000000000000"):
        catalog.reference_run("gcn", ds)
    train.save_heldout(folder / "heldout.npz", ds, test[:-1], ds.F[test[:-1]])  # not the held-out set
    with pytest.raises(ValueError, match="other snapshots than the held-out set"):
        catalog.reference_run("gcn", ds)
    train.save_heldout(folder / "heldout.npz", ds, test, ds.F[test])
    shutil.copytree(folder, tmp_path / f"bp_mlp_L{ds.L}")  # a gcn run in the bp_mlp folder
    with pytest.raises(ValueError, match="is a run of 'gcn', not of 'bp_mlp'"):
        catalog.reference_run("bp_mlp", ds)
    (folder / "history.json").unlink()
    with pytest.raises(ValueError, match="incomplete committed run: history.json missing"):
        catalog.reference_run("gcn", ds)


def test_committed_models_and_their_folders():
    known = catalog.committed_models()
    assert {"gcn_lean_mu_L24_extra", "gcn_lean_L40"} <= set(known)
    assert all(p.name == "best.pt" and p.exists() for p in known.values())
    assert catalog.committed_dir("gcn_lean", 24) == known["gcn_lean_L24"].parent  # a registered name at L
    assert catalog.committed_dir("gcn_lean_mu_L24_extra", 24) == known["gcn_lean_mu_L24_extra"].parent
    assert catalog.committed_dir("nosuch", 24) is None
    assert catalog.best_model() in known and "metrics" in catalog.model_metrics(catalog.best_model())


def test_a_reader_makes_nothing(tmp_path, monkeypatch):
    """catalog imports neither data generation nor training, and a missing result is named, not made."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(catalog))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)} | {
        a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not imported & {"data", "train", "quench", "recipes", "profiles"}, imported
    with pytest.raises(FileNotFoundError, match="nothing.json is not committed"):
        catalog.result(tmp_path / "nothing.json")
    assert list(tmp_path.iterdir()) == []


def test_model_name_reads_a_fingerprint_back():
    from holstein import load_force

    f = load_force("gcn_lean_mu_L24_extra", precision="float32")
    assert catalog.model_name(f.id) == "gcn_lean_mu_L24_extra (float32)"
    assert catalog.model_name(load_force("gcn_lean").id) == "gcn_lean_L24"
    assert catalog.model_name(load_force("ed").id) == "ED"
    assert catalog.model_name("model:gcn:0000000000000000") == "model:gcn:0000000000000000"  # not committed


def test_the_honeycomb_models_are_committed_apart_and_resolve_by_name():
    """honeycomb/ is a model root of its own: listed by lattice, resolved by name, valid on the honeycomb only."""
    from holstein import PAPER, load_force

    square, honeycomb = catalog.committed_models(lattice="square"), catalog.committed_models(lattice="honeycomb")
    assert "gcn_lean_mu_hc16" in honeycomb and not set(square) & set(honeycomb)
    assert set(square) | set(honeycomb) == set(catalog.committed_models())
    assert catalog.best_model() in square
    f = load_force("gcn_lean_mu_hc16")
    assert f.lattice == "honeycomb" and f.params == PAPER.replace(lattice="honeycomb")
