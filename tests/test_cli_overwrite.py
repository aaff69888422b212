"""Command-line tests of issue 22, items 5 and 12: `simulate --out` and `generate --out` replace only
their own kind of output (a rerun, which resumes) unless --overwrite is given; both take --threads
as `coarsen` does."""
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import data
from holstein.cli import main

DATASET = Path(__file__).resolve().parents[1] / "holstein" / "artifacts" / "data" / "ed_L12_book.npz"
GEN = ["generate", "--L", "4", "--n-random", "2", "--n-quench", "2", "--runs", "1", "--every", "3"]
SIM = ["simulate", "--L", "4", "--steps", "6", "--every", "3"]


def _refused(capsys, path: Path) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert str(path) in err and "--overwrite" in err
    return err


def _left(folder: Path) -> list:
    return sorted(p.name for p in folder.iterdir())


# ----------------------------------------------------------------------------- item 5
def test_simulate_refuses_to_replace_a_dataset(tmp_path, capsys):
    """`cp ed_L12_book.npz d.npz; simulate --out d.npz` replaced the dataset without a word."""
    d = tmp_path / "d.npz"
    shutil.copy(DATASET, d)
    assert main([*SIM, "--out", str(d)]) == 2
    assert "ED dataset" in _refused(capsys, d)
    assert d.read_bytes() == DATASET.read_bytes() and _left(tmp_path) == ["d.npz"]  # no checkpoint either
    assert data.load(d).L == 12


def test_generate_refuses_to_replace_a_simulate_trajectory(tmp_path, capsys):
    q = tmp_path / "q.npz"
    assert main([*SIM, "--out", str(q)]) == 0
    before = q.read_bytes()
    capsys.readouterr()
    assert main([*GEN, "--out", str(q)]) == 2
    assert "trajectory" in _refused(capsys, q)
    assert q.read_bytes() == before and _left(tmp_path) == ["q.npz"]  # no .parts/ either


@pytest.mark.parametrize("command", [SIM, GEN], ids=["simulate", "generate"])
def test_a_foreign_or_unreadable_file_is_refused(tmp_path, capsys, command):
    for name, content in (("notes.txt", b"my notes"), ("cut.npz", DATASET.read_bytes()[:3000])):
        f = tmp_path / name
        f.write_bytes(content)
        assert main([*command, "--out", str(f)]) == 2
        _refused(capsys, f)
        assert f.read_bytes() == content


def test_overwrite_replaces_a_file_of_another_kind(tmp_path, capsys):
    d = tmp_path / "d.npz"
    shutil.copy(DATASET, d)
    assert main([*SIM, "--out", str(d), "--overwrite"]) == 0
    z = np.load(d)
    assert z["Q"].shape == (3, 4, 4) and bool(z["complete"])
    assert main([*GEN, "--out", str(d), "--overwrite"]) == 0 and len(data.load(d)) == 4


def test_a_rerun_on_its_own_output_still_works(tmp_path, capsys):
    """The rule leaves reruns alone: simulate over its own complete or incomplete (blown-up) output,
    generate over its own dataset or another dataset."""
    q = tmp_path / "q.npz"
    assert main([*SIM, "--out", str(q)]) == 0
    first = np.load(q)["Q"]
    assert main([*SIM, "--out", str(q)]) == 0
    np.testing.assert_array_equal(np.load(q)["Q"], first)
    b = tmp_path / "b.npz"
    blow = ["simulate", "--L", "4", "--steps", "50", "--every", "5", "--dt", "5", "--out", str(b)]
    assert main(blow) == 3 and not bool(np.load(b)["complete"])
    assert main(blow) == 3 and "refusing" not in capsys.readouterr().err
    d = tmp_path / "d.npz"
    shutil.copy(DATASET, d)                                      # a dataset of another L and size
    assert main([*GEN, "--out", str(d)]) == 0 and data.load(d).L == 4
    assert main([*GEN, "--out", str(d)]) == 0 and len(data.load(d)) == 4


# ----------------------------------------------------------------------------- item 12
@pytest.fixture
def threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("command", [SIM, GEN], ids=["simulate", "generate"])
def test_threads_sets_torchs_threads(tmp_path, threads, command):
    """`simulate` had no --threads (an ED run on a busy machine slowed to 1 step/s on two threads)."""
    assert main([*command, "--threads", "1", "--out", str(tmp_path / "x.npz")]) == 0
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("command", [SIM, GEN], ids=["simulate", "generate"])
def test_threads_must_be_positive(tmp_path, capsys, command):
    with pytest.raises(SystemExit) as e:
        main([*command, "--threads", "0", "--out", str(tmp_path / "x.npz")])
    assert e.value.code == 2 and "integer >= 1" in capsys.readouterr().err
