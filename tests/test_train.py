"""Training pipeline: the loss goes down, checkpoints resume exactly and refuse the wrong model or data."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import PAPER, data, train
from holstein.models import checkpoint


@pytest.fixture(scope="module")
def ds(tmp_path_factory):
    path = tmp_path_factory.mktemp("train") / "d.npz"
    return data.generate(path, L=6, p=PAPER, n_random=8, n_quench=20, quench_runs=2, quench_every=10, seed=1,
                         progress=False)


def _cfg(**kw):
    base = dict(model="gcn_lean", model_config=dict(channels=(1, 8, 8, 1)), epochs=4, lr=3e-3, seed=0)
    base.update(kw)
    return train.TrainConfig(**base)


def test_split_is_disjoint(ds):
    tr, va, te = data.split_train_val(ds)
    assert len(set(tr) | set(va) | set(te)) == len(ds)
    assert not (set(tr) & set(te)) and not (set(va) & set(te)) and not (set(tr) & set(va))
    assert list(te) == list(data.split_indices(len(ds))[1])


def test_training_lowers_the_loss_and_writes_everything(ds, tmp_path):
    model, hist = train.train(_cfg(epochs=6), ds, tmp_path, progress=False)
    assert hist["val_loss"][-1] < hist["val_loss"][0]
    assert hist["train_loss"][-1] < hist["train_loss"][0]
    for f in ("best.pt", "last.pt", "history.json"):
        assert (tmp_path / f).exists()
    m = train.evaluate(model, ds)
    assert set(m) >= {"all", "random", "quench"} and 0 < m["all"]["rmse"] < np.inf
    assert m["all"]["count"] == len(ds.split()[1])
    out = train.save_metrics(tmp_path / "m.json", "gcn_lean", model, m)
    assert json.loads(out.read_text())["parameters"] == model.n_parameters()
    # the held-out predictions reproduce the metrics (to float32) and name their snapshots
    test = ds.split()[1]
    with np.load(train.save_heldout(tmp_path / "heldout.npz", ds, test, train.predict(model, ds.Q[test]))) as z:
        np.testing.assert_array_equal(z["index"], ds.split()[1])
        np.testing.assert_array_equal(z["F"], ds.F[z["index"]].astype(np.float32))
        rmse = float(np.sqrt(np.mean((z["F_pred"].astype(float) - ds.F[z["index"]]) ** 2)))
        assert rmse == pytest.approx(m["all"]["rmse"], rel=1e-5) and str(z["dataset_sha256"]) == ds.sha256


def test_resume_continues_exactly(ds, tmp_path):
    _, full = train.train(_cfg(epochs=4), ds, tmp_path / "full", progress=False)
    train.train(_cfg(epochs=2), ds, tmp_path / "part", progress=False)
    _, resumed = train.train(_cfg(epochs=4), ds, tmp_path / "part", resume=True, progress=False)
    assert resumed["epoch"] == full["epoch"]
    assert np.allclose(resumed["val_loss"], full["val_loss"], rtol=1e-12, atol=0)
    a = torch.load(tmp_path / "full" / "last.pt", weights_only=False)["state_dict"]
    b = torch.load(tmp_path / "part" / "last.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_electronic_target_and_float32(ds, tmp_path):
    model, _ = train.train(_cfg(epochs=2, dtype="float32", model_config=dict(channels=(1, 8, 1), target="electronic")),
                           ds, tmp_path, progress=False)
    assert model.target == "electronic" and next(model.parameters()).dtype == torch.float32
    assert np.isfinite(train.evaluate(model, ds)["all"]["rmse"])


def test_checkpoint_errors(ds, tmp_path):
    train.train(_cfg(epochs=1), ds, tmp_path, progress=False)
    ck = torch.load(tmp_path / "best.pt", weights_only=False)
    ck["model_config"] = dict(ck["model_config"], channels=(1, 4, 1))
    torch.save(ck, tmp_path / "wrong_arch.pt")
    with pytest.raises(ValueError, match="do not fit"):
        checkpoint.load_checkpoint(tmp_path / "wrong_arch.pt")
    other = data.generate(tmp_path / "other.npz", L=6, p=PAPER, n_random=8, n_quench=0, seed=9, progress=False)
    with pytest.raises(ValueError, match="trained on dataset"):
        checkpoint.load_checkpoint(tmp_path / "best.pt", dataset=other)
    with pytest.raises(ValueError, match="trained on dataset"):
        train.train(_cfg(epochs=2), other, tmp_path, resume=True, progress=False)
    with pytest.raises(ValueError, match="holds a"):
        train.train(_cfg(model="bp_mlp_lean", model_config={}, epochs=2), ds, tmp_path, resume=True, progress=False)
    with pytest.raises(FileNotFoundError):
        checkpoint.load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a readable"):
        checkpoint.load_checkpoint(tmp_path / "junk.pt")


def test_balanced_weights_equalise_the_kinds(ds):
    tr, _, _ = data.split_train_val(ds)
    w = train.snapshot_weights(ds, tr, balance=True)
    F = ds.F[tr]
    per_kind = [w[tr][ds.kind[tr] == k][0] * F[ds.kind[tr] == k].var() for k in (0, 1)]
    assert per_kind[0] == pytest.approx(per_kind[1]) and w[tr].min() != w[tr].max()
    assert (train.snapshot_weights(ds, tr, balance=False) == 1).all()


def test_max_train_uses_a_subset(ds, tmp_path):
    _, hist = train.train(_cfg(epochs=1, max_train=3), ds, tmp_path, progress=False)
    assert len(hist["epoch"]) == 1  # ran; the subset size is checked through the checkpoint config
    assert torch.load(tmp_path / "last.pt", weights_only=False)["train_config"]["max_train"] == 3


def test_a_wall_clock_budget_stops_training_and_may_grow_on_resume(ds, tmp_path):
    _, hist = train.train(_cfg(epochs=50, budget_s=1e-9), ds, tmp_path, progress=False)
    assert len(hist["epoch"]) == 1 and hist["seconds"][0] > 0  # the first epoch already spends the budget
    _, hist = train.train(_cfg(epochs=3), ds, tmp_path, resume=True, progress=False)  # no budget: to --epochs
    assert hist["epoch"] == [0, 1, 2]
    with pytest.raises(ValueError, match="budget"):
        _cfg(budget_s=0)


ARTIFACTS = Path(train.__file__).parent / "artifacts"


@pytest.mark.parametrize("name", ["gcn_lean", "bp_mlp_lean", "energy_gnn_lean"])
def test_float32_inference_keeps_the_held_out_force_error(name):
    """The committed lean models run in float32 with a held-out force RMSE within 1% of float64."""
    ds = data.load(ARTIFACTS / "data" / "ed_L24_book.npz")
    model = checkpoint.load_model(ARTIFACTS / "models" / f"{name}_L24" / "best.pt")
    e64 = train.evaluate(model, ds, dtype=torch.float64)
    e32 = train.evaluate(model, ds, dtype=torch.float32)
    for kind in ("all", "random", "quench"):
        assert abs(e32[kind]["rmse"] / e64[kind]["rmse"] - 1) < 0.01, kind
    assert next(model.parameters()).dtype == torch.float64  # evaluate worked on a copy


def test_extra_training_data_adds_snapshots_but_keeps_the_held_out_set(ds, tmp_path):
    more = data.generate(tmp_path / "more.npz", L=6, p=PAPER, n_random=4, n_quench=10, quench_runs=1, quench_every=10,
                         seed=2, progress=False)
    model, hist = train.train(_cfg(epochs=2), ds, tmp_path / "run", progress=False, extra=more)
    ck = torch.load(tmp_path / "run" / "last.pt", weights_only=False)
    assert ck["extra_sha256"] == more.sha256 and ck["dataset_sha256"] == ds.sha256
    with pytest.raises(ValueError, match="extra"):  # resuming without the same extra data
        train.train(_cfg(epochs=3), ds, tmp_path / "run", resume=True, progress=False)
    train_ds, tr = data.with_extra(ds, more, data.split_train_val(ds)[0])
    assert len(train_ds) == len(ds) + len(more) and set(range(len(ds), len(train_ds))) <= set(tr)
    assert not set(tr) & set(data.split_train_val(ds)[2])  # never the held-out snapshots
    odd = data.generate(tmp_path / "odd.npz", L=4, p=PAPER, n_random=2, n_quench=4, quench_runs=1, quench_every=5,
                        seed=3, progress=False)
    with pytest.raises(ValueError, match="L = 6"):
        data.with_extra(ds, odd, tr)


def test_one_lattice_size_keeps_the_single_dataset_shuffle(ds):
    """Training-set assembly must not change what an ordinary run sees: epoch e's order is the
    permutation seeded by (seed, e), cut into batches (the committed models were trained so)."""
    tr = data.split_train_val(ds)[0]
    cfg = _cfg(batch_size=3, seed=2)
    for epoch in (0, 5):
        order = torch.as_tensor(tr)[torch.randperm(len(tr), generator=torch.Generator().manual_seed(2 * 100003 + epoch))]
        got = train._batches([(ds, tr)], cfg, epoch)
        assert [g for g, _ in got] == [0] * len(got)
        assert torch.equal(torch.cat([b for _, b in got]), order) and len(got[0][1]) == 3


def test_lattices_of_two_sizes_train_one_model(ds, tmp_path):
    four = data.generate(tmp_path / "four.npz", L=4, p=PAPER, n_random=6, n_quench=8, quench_runs=1, quench_every=5,
                         seed=4, progress=False)
    cfg = _cfg(epochs=3)
    model, hist = train.train(cfg, ds, tmp_path / "mix", progress=False, extra=[(four, "train")])
    sets = data.training_sets(ds, data.split_train_val(ds)[0], [(four, "train")])
    batches = train._batches(sets, cfg, 1)
    seen = {g: sorted(torch.cat([b for h, b in batches if h == g]).tolist()) for g in (0, 1)}
    assert seen == {0: sorted(sets[0][1].tolist()), 1: sorted(sets[1][1].tolist())}  # each once per epoch
    ck = torch.load(tmp_path / "mix" / "last.pt", weights_only=False)
    assert ck["extra_sha256"] == [f"{four.sha256}:train"] and ck["dataset_L"] == 6
    assert np.isfinite(hist["val_rmse"]).all()
    for d in (ds, four):  # one model, forces on both lattice sizes
        assert train.predict(model, d.Q[:2]).shape == (2, d.L, d.L)
    with pytest.raises(ValueError, match="extra"):  # resuming needs the same extra data, split included
        train.train(_cfg(epochs=4), ds, tmp_path / "mix", resume=True, progress=False, extra=[four])


def test_a_temperature_aware_model_trains_across_kT_and_knows_its_range(ds, tmp_path):
    """Sets at two kT train one model (a batch shares its kT); the checkpoint records the range,
    load_force accepts kT inside it and refuses kT outside it, and a T-blind model refuses the mix."""
    from holstein import force

    hot = data.generate(tmp_path / "hot.npz", L=6, p=PAPER.replace(kT=1.0), n_random=8, n_quench=6, quench_runs=1,
                        quench_every=10, seed=2, progress=False)
    cfg = _cfg(model="gcn_lean_mu_T", model_config=dict(channels=(1, 8, 8, 1), center="median"), epochs=2)
    model, hist = train.train(cfg, ds, tmp_path / "T", progress=False, extra=[(hot, "train")])
    last, _ = checkpoint.load_checkpoint(tmp_path / "T" / "last.pt")
    rel = [float(np.mean((train.predict(last, d.Q[v], kT=d.params.kT) - d.F[v]) ** 2)) / float(d.F[v].var())
           for d, v in ((ds, data.split_train_val(ds)[1]), (hot, data.split_train_val(hot)[1]))]
    assert hist["val_loss"][-1] == pytest.approx(np.mean(rel), rel=1e-9)  # selected on both temperatures
    ck = torch.load(tmp_path / "T" / "best.pt", weights_only=False)
    assert ck["kT_range"] == [0.1, 1.0] and ck["kT_trained"] == [0.1, 1.0]
    f = force.load_force(str(tmp_path / "T"), PAPER.replace(kT=0.5))
    assert f.id.endswith(":kT=0.5") and f.temperature_aware
    Q = torch.as_tensor(hot.Q[:2])
    torch.testing.assert_close(f(Q), model(Q, kT=0.5).detach(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"0.1 <= kT <= 1 .*kT=2 was asked"):
        force.load_force(str(tmp_path / "T"), PAPER.replace(kT=2.0))
    # evaluation uses each dataset's own kT
    e = train.evaluate(model, hot)
    assert e["all"]["rmse"] == pytest.approx(train.force_metrics(
        hot.F[hot.split()[1]], train.predict(model, hot.Q[hot.split()[1]], kT=1.0))["rmse"])
    with pytest.raises(ValueError, match="parameters"):
        train.train(_cfg(), ds, tmp_path / "blind", progress=False, extra=[(hot, "train")])


def test_init_from_starts_at_the_twin_and_refuses_a_foreign_checkpoint(ds, tmp_path):
    blind, _ = train.train(_cfg(model="gcn_lean_mu", model_config=dict(channels=(1, 8, 8, 1), center="median"),
                                epochs=1), ds, tmp_path / "b", progress=False)
    cfg = _cfg(model="gcn_lean_mu_T", model_config=dict(channels=(1, 8, 8, 1), center="median"), epochs=0,
               init_from=str(tmp_path / "b" / "best.pt"))
    aware, _ = train.train(cfg, ds, tmp_path / "a", progress=False)
    Q = torch.as_tensor(ds.Q[:3])
    torch.testing.assert_close(aware(Q, kT=0.1), blind(Q), rtol=0, atol=0)
    train.train(_cfg(epochs=1), ds, tmp_path / "o", progress=False)  # a gcn_lean: one output per site
    with pytest.raises(ValueError, match="do not fit"):
        train.train(_cfg(model="gcn_lean_mu_T", model_config=dict(channels=(1, 8, 8, 1)), epochs=0,
                         init_from=str(tmp_path / "o" / "best.pt")), ds, tmp_path / "x", progress=False)
