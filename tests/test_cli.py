import json

import numpy as np

from holstein import data
from holstein.cli import main


def test_help_lists_commands(capsys):
    try:
        main(["--help"])
    except SystemExit as e:
        assert e.code == 0
    out = capsys.readouterr().out
    assert "generate" in out and "simulate" in out and "bench" in out


def test_generate_simulate_bench(tmp_path, capsys):
    out = tmp_path / "d.npz"
    assert main(["generate", "--L", "4", "--n-random", "2", "--n-quench", "2", "--runs", "1", "--every", "3",
                 "--out", str(out)]) == 0
    ds = data.load(out)
    assert len(ds) == 4 and "--n-random 2" in ds.meta["command"]
    traj = tmp_path / "q.npz"
    assert main(["simulate", "--L", "4", "--steps", "6", "--every", "3", "--out", str(traj)]) == 0
    z = np.load(traj)
    assert z["Q"].shape == (3, 4, 4) and np.allclose(z["time"], [0, 0.15, 0.3])
    b = tmp_path / "b.json"
    assert main(["bench", "ed", "--L", "4", "6", "--repeats", "1", "--out", str(b)]) == 0
    res = json.loads(b.read_text())
    assert [r["L"] for r in res["results"]] == [4, 6] and all(r["ratio"] > 0 for r in res["results"])


def test_helpful_errors(tmp_path, capsys):
    assert main(["generate", "--L", "5", "--out", str(tmp_path / "x.npz")]) == 2
    assert "even" in capsys.readouterr().err
    assert main(["simulate", "--model", str(tmp_path / "missing.pt"), "--L", "4", "--steps", "1",
                 "--out", str(tmp_path / "t.npz")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
