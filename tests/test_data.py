"""Dataset generation: ED consistency, reproducibility, resumability, split and integrity checks."""
import json
import zipfile

import numpy as np
import pytest
import torch

from holstein import PAPER, data, ed

SMALL = dict(L=4, p=PAPER, n_random=5, n_quench=6, quench_runs=2, quench_every=5, seed=3, progress=False)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    path = tmp_path_factory.mktemp("ds") / "small.npz"
    return path, data.generate(path, **SMALL)


def test_contents_are_ed_forces(small):
    path, ds = small
    assert len(ds) == 11 and ds.Q.shape == (11, 4, 4) and ds.L == 4
    assert (ds.kind == 0).sum() == 5 and (ds.kind == 1).sum() == 6
    assert set(ds.run[ds.kind == 1]) == {0, 1} and (ds.run[ds.kind == 0] == -1).all()
    F = ed.forces(torch.as_tensor(ds.Q), PAPER).numpy()
    assert np.allclose(ds.F, F, atol=1e-12)
    assert np.allclose(ds.n.sum(axis=(1, 2)), 8.0, atol=1e-10)
    # reference hot start: Q ~ N(0, sqrt(5/kappa))
    assert ds.meta["random_q_std"] == pytest.approx(np.sqrt(5 / 0.18))
    assert 3.0 < ds.Q[ds.kind == 0].std() < 8.0
    # quench snapshots are recorded at the advertised times
    assert np.allclose(np.sort(np.unique(ds.time[ds.kind == 1])), [5 * 0.05 * k for k in (1, 2, 3)])


def test_metadata_and_roundtrip(small):
    path, ds = small
    back = data.load(path)
    for k in data.ARRAYS:
        assert np.array_equal(getattr(back, k), getattr(ds, k))
    m = back.meta
    assert m["params"] == PAPER.to_dict() and m["L"] == 4 and m["seed"] == 3 and m["version"]
    assert m["sha256"] == data.content_hash({k: getattr(ds, k) for k in data.ARRAYS}, m)
    assert back.params == PAPER


def test_reproducible_from_seed(small, tmp_path):
    _, ds = small
    again = data.generate(tmp_path / "again.npz", **SMALL)
    assert again.sha256 == ds.sha256
    other = data.generate(tmp_path / "other.npz", **{**SMALL, "seed": 4})
    assert other.sha256 != ds.sha256


def test_resume_after_interruption(small, tmp_path, monkeypatch):
    _, ds = small
    path = tmp_path / "resumed.npz"
    calls = {"n": 0}
    real = ed.forces

    def flaky(Q, p):
        calls["n"] += 1
        if calls["n"] == 9:  # die in the middle of the first quench trajectory
            raise KeyboardInterrupt
        return real(Q, p)

    monkeypatch.setattr(ed, "forces", flaky)
    with pytest.raises(KeyboardInterrupt):
        data.generate(path, **SMALL)
    assert (tmp_path / "resumed.npz.parts").exists() and not path.exists()
    monkeypatch.setattr(ed, "forces", real)
    assert data.generate(path, **SMALL).sha256 == ds.sha256
    assert not (tmp_path / "resumed.npz.parts").exists()


def test_runs_shared_between_processes_assemble_the_same_file(small, tmp_path, monkeypatch):
    """--only-run: each quench trajectory run on its own (as separate processes would), then the
    assembling call gives the bit-identical dataset, and runs no trajectory again."""
    _, ds = small
    path = tmp_path / "shared.npz"
    assert data.generate(path, **SMALL, only_runs=[1]) is None and not path.exists()
    assert data.generate(path, **SMALL, only_runs=[0]) is None
    assert {f.name for f in (tmp_path / "shared.npz.parts").glob("quench_*")} == {"quench_0.npz", "quench_1.npz"}
    calls = {"n": 0}
    real = ed.forces

    def counted(Q, p):
        calls["n"] += 1
        return real(Q, p)

    monkeypatch.setattr(ed, "forces", counted)
    assert data.generate(path, **SMALL).sha256 == ds.sha256
    assert calls["n"] == 0  # no force at all: the finished quench runs are read from the engine's store
    with pytest.raises(ValueError, match="quench runs 0..1"):
        data.generate(tmp_path / "bad.npz", **SMALL, only_runs=[2])


def test_split_holds_out_every_seventh():
    train, test = data.split_indices(30)
    assert list(test) == [6, 13, 20, 27]
    assert len(np.intersect1d(train, test)) == 0 and len(train) + len(test) == 30


def test_corrupt_or_missing_files_are_refused(small, tmp_path):
    path, ds = small
    with pytest.raises(FileNotFoundError, match="generate"):
        data.load(tmp_path / "nope.npz")
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(ValueError, match="corrupt"):
        data.load(garbage)
    # a well-formed file whose densities were altered after the hash was written
    tampered = tmp_path / "tampered.npz"
    arrays = {k: getattr(ds, k) for k in data.ARRAYS}
    arrays["n"] = arrays["n"].copy()
    arrays["n"][0, 0, 0] += 1e-9
    np.savez(tampered, meta=np.array(json.dumps(ds.meta)), **arrays)
    with pytest.raises(ValueError, match="corrupt"):
        data.load(tampered)
    with pytest.raises(ValueError, match="different dataset"):
        data.load(path, expect_sha256="0" * 64)
    with pytest.raises(ValueError, match="made with"):
        data.load(path, expect_params=PAPER.replace(kT=0.2))
    with zipfile.ZipFile(tmp_path / "other.npz", "w") as z:
        z.writestr("x.npy", b"")
    with pytest.raises(ValueError):
        data.load(tmp_path / "other.npz")


def test_bad_requests(tmp_path):
    with pytest.raises(ValueError, match="empty"):
        data.generate(tmp_path / "e.npz", **{**SMALL, "n_random": 0, "n_quench": 0})
    with pytest.raises(ValueError, match="even"):
        data.generate(tmp_path / "odd.npz", **{**SMALL, "L": 5})


def test_edited_metadata_is_refused(small, tmp_path):
    """The hash covers the metadata: g edited from 3.5 to 2.0, arrays untouched, is refused."""
    _, ds = small
    for key, value in (("params", dict(ds.meta["params"], g=2.0)), ("L", ds.L + 2), ("seed", 99)):
        edited = tmp_path / f"edited_{key}.npz"
        meta = dict(ds.meta, **{key: value})
        np.savez(edited, meta=np.array(json.dumps(meta)), **{k: getattr(ds, k) for k in data.ARRAYS})
        with pytest.raises(ValueError, match="edited"):
            data.load(edited)


def test_forces_are_derived_from_the_stored_densities(small):
    """F is not stored: it is g(n - 1/2) + elastic(Q), and the file holds only Q, n, kind, time, run."""
    path, ds = small
    with np.load(path) as z:
        assert "F" not in z.files and set(data.ARRAYS) <= set(z.files)
    p = ds.params
    from holstein.forces import elastic
    np.testing.assert_allclose(ds.F, p.g * (ds.n - 0.5) + elastic(ds.Q, p), rtol=0, atol=1e-14)


def test_training_sets_group_lattice_sizes_and_keep_held_out_snapshots_unseen(small, tmp_path):
    _, ds = small  # L = 4
    six = data.generate(tmp_path / "six.npz", **{**SMALL, "L": 6, "seed": 5})
    more = data.generate(tmp_path / "more.npz", **{**SMALL, "seed": 7})  # L = 4, other trajectories
    tr = data.split_train_val(ds)[0]
    sets = data.training_sets(ds, tr, [(six, "train"), more])
    assert [d.L for d, _ in sets] == [4, 6]
    merged, idx = sets[0]  # ds's training split, then every snapshot of the same-L extra
    assert len(idx) == len(tr) + len(more) and np.array_equal(merged.Q[idx[len(tr):]], more.Q)
    d6, idx6 = sets[1]
    assert d6 is six and np.array_equal(idx6, data.split_train_val(six)[0])
    assert not set(idx6) & set(six.split()[1])  # its held-out snapshots stay unseen
    assert data.training_sets(ds, tr, [six])[1][1].tolist() == list(range(len(six)))  # whole
    assert data.extras_key(None) is None and data.extras_key(more) == more.sha256
    assert data.extras_key([(six, "train"), more]) == [f"{six.sha256}:train", f"{more.sha256}:all"]
    with pytest.raises(ValueError, match="'all' or 'train'"):
        data.training_sets(ds, tr, [(six, "test")])
    hot = data.generate(tmp_path / "hot.npz", **{**SMALL, "p": PAPER.replace(kT=0.2)})
    with pytest.raises(ValueError, match="parameters"):
        data.training_sets(ds, tr, [hot])
