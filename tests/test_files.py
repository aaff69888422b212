"""Tests of holstein/files.py: atomic writes, strict JSON, the output checks made before any work
(check_writable, and check_replaceable / file_kind: a command replaces only its own kind of output)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from holstein.files import atomic_write, check_replaceable, check_writable, file_kind, write_json

DATASET = Path(__file__).resolve().parents[1] / "holstein" / "artifacts" / "data" / "ed_L12_book.npz"


def _trajectory(path):
    """The entries `simulate` writes."""
    np.savez_compressed(path, Q=np.zeros((2, 4, 4)), time=np.array([0.0, 0.1]), step=np.array([0, 2]),
                        complete=True, params="{}", model="ed", force="ed:{}", command="")
    return path


# ----------------------------------------------------------------------------- atomic_write, write_json
def test_atomic_write_replaces_and_leaves_no_temporary(tmp_path):
    f = tmp_path / "a.bin"
    atomic_write(f, lambda fh: fh.write(b"old"))
    atomic_write(f, lambda fh: fh.write(b"new"))
    assert f.read_bytes() == b"new" and sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_a_failed_write_keeps_the_old_file(tmp_path):
    f = tmp_path / "a.bin"
    atomic_write(f, lambda fh: fh.write(b"old"))

    def half(fh):
        fh.write(b"ha")
        raise RuntimeError("disk full")
    with pytest.raises(RuntimeError):
        atomic_write(f, half)
    assert f.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_write_json_round_trips_and_refuses_nan(tmp_path):
    f = tmp_path / "x.json"
    write_json({"a": [1, 2.5], "b": None}, f)
    assert json.loads(f.read_text()) == {"a": [1, 2.5], "b": None}
    with pytest.raises(ValueError):
        write_json({"a": float("nan")}, f)
    assert json.loads(f.read_text()) == {"a": [1, 2.5], "b": None}  # the old file is intact


def test_check_writable_makes_the_folder_and_refuses_a_folder_or_a_file_in_the_way(tmp_path):
    out = tmp_path / "new" / "deeper" / "x.npz"
    assert check_writable(out) == out and out.parent.is_dir() and not out.exists()
    with pytest.raises(ValueError, match="is a directory"):
        check_writable(tmp_path, "--out")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ValueError, match="cannot create the folder"):
        check_writable(blocker / "x.npz")


# ----------------------------------------------------------------------------- file_kind
def test_file_kind_reads_what_a_file_is_not_its_name(tmp_path):
    shutil.copy(DATASET, tmp_path / "traj.npz")                    # a dataset under a trajectory's name
    assert file_kind(tmp_path / "traj.npz") == "dataset"
    assert file_kind(_trajectory(tmp_path / "ed_L12_book.npz")) == "trajectory"
    np.savez(tmp_path / "other.npz", Q=np.zeros(3))                 # an npz of another kind
    assert file_kind(tmp_path / "other.npz") is None
    np.savez(tmp_path / "meta.npz", meta=np.array(json.dumps({"no": "format"})))
    assert file_kind(tmp_path / "meta.npz") is None
    (tmp_path / "notes.txt").write_text("hello")
    assert file_kind(tmp_path / "notes.txt") is None
    (tmp_path / "cut.npz").write_bytes(DATASET.read_bytes()[:3000])  # truncated
    assert file_kind(tmp_path / "cut.npz") is None
    assert file_kind(tmp_path / "missing.npz") is None


# ----------------------------------------------------------------------------- check_replaceable
def test_a_command_may_replace_its_own_kind_of_output(tmp_path):
    assert check_replaceable(tmp_path / "new.npz", "trajectory") == tmp_path / "new.npz"   # nothing there
    assert check_replaceable(_trajectory(tmp_path / "t.npz"), "trajectory") == tmp_path / "t.npz"
    shutil.copy(DATASET, tmp_path / "d.npz")
    assert check_replaceable(tmp_path / "d.npz", "dataset") == tmp_path / "d.npz"


@pytest.mark.parametrize("kind, make, what", [
    ("trajectory", lambda f: shutil.copy(DATASET, f), "an ED dataset"),
    ("dataset", _trajectory, "a trajectory"),
    ("dataset", lambda f: np.savez(f, Q=np.zeros(3)), "not a file this package writes"),
    ("trajectory", lambda f: f.write_text("my notes"), "not a file this package writes"),
    ("trajectory", lambda f: f.write_bytes(DATASET.read_bytes()[:3000]), "unreadable"),
])
def test_another_kind_of_file_is_refused_in_one_line_unless_overwrite(tmp_path, kind, make, what):
    f = tmp_path / "out.npz"
    make(f)
    before = f.read_bytes()
    with pytest.raises(ValueError) as e:
        check_replaceable(f, kind)
    msg = str(e.value)
    assert "\n" not in msg and str(f) in msg and what in msg and "--overwrite" in msg
    assert f.read_bytes() == before
    assert check_replaceable(f, kind, overwrite=True) == f


def test_an_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError, match="unknown kind"):
        check_replaceable(tmp_path / "x.npz", "model")
