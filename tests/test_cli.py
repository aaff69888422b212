"""Tests of holstein/cli.py: every subcommand, and each reliability defect a user can hit from the
command line (silent wrong results, lost work, tracebacks instead of one-line errors).

Each test names the defect it guards (see the issue "Reliability"); all run at tiny sizes.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import PAPER, data, dynamics, ed, train
from holstein.models import checkpoint
from holstein.cli import main

REPO = Path(__file__).resolve().parents[1]
GEN = ["--L", "4", "--n-random", "2", "--n-quench", "4", "--runs", "1", "--every", "3"]


def _err(capsys) -> str:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A 4x4 dataset of 14 snapshots (enough for a train / validation / test split)."""
    path = tmp_path_factory.mktemp("d") / "d.npz"
    assert main(["generate", "--L", "4", "--n-random", "6", "--n-quench", "8", "--runs", "2", "--every", "2",
                 "--out", str(path)]) == 0
    return path


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
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
    assert z["Q"].shape == (3, 4, 4) and np.allclose(z["time"], [0, 0.15, 0.3]) and bool(z["complete"])
    b = tmp_path / "b.json"
    assert main(["bench", "ed", "--L", "4", "6", "--repeats", "1", "--out", str(b)]) == 0
    res = json.loads(b.read_text())
    assert [r["L"] for r in res["results"]] == [4, 6] and all(r["ratio"] > 0 for r in res["results"])


def test_the_honeycomb_from_generate_through_train_to_simulate(tmp_path, capsys):
    """``--lattice honeycomb``: an (S, L, L, 2) ED dataset, a model trained on it that knows its lattice,
    ED and model quenches of (T, L, L, 2) snapshots, and the square lattice refused for that model."""
    d, run = tmp_path / "hc.npz", tmp_path / "run"
    assert main(["generate", "--lattice", "honeycomb", "--L", "3", "--n-random", "6", "--n-quench", "8", "--runs", "2",
                 "--every", "2", "--out", str(d)]) == 0
    ds = data.load(d)
    assert ds.Q.shape == (14, 3, 3, 2) and ds.params.lattice == "honeycomb" and "--lattice honeycomb" in ds.meta["command"]
    np.testing.assert_allclose(ds.n.sum(axis=(1, 2, 3)), 9.0, atol=1e-9)  # half of the 2L² sites filled
    assert main(["train", "--lattice", "square", "--model", "gcn_lean_mu", "--data", str(d), "--out", str(run)]) == 2
    assert "is on the honeycomb lattice" in _err(capsys)
    assert main(["train", "--lattice", "honeycomb", "--model", "gcn_lean_mu", "--data", str(d), "--out", str(run),
                 "--epochs", "1", "--profile", "ci"]) == 0
    held = json.loads((run / "metrics.json").read_text())["metrics"]["all"]
    assert held["count"] == len(ds.split()[1])  # snapshots of (S, L, L, 2), not 1
    for model in ("ed", str(run)):
        traj = tmp_path / f"q_{Path(model).name}.npz"
        assert main(["simulate", "--lattice", "honeycomb", "--model", model, "--L", "3", "--steps", "4", "--every",
                     "2", "--out", str(traj)]) == 0
        assert np.load(traj)["Q"].shape == (3, 3, 3, 2)
    assert main(["simulate", "--model", str(run), "--L", "4", "--steps", "2", "--every", "1",
                 "--out", str(tmp_path / "sq.npz")]) == 2
    assert _err(capsys).strip().endswith("on the honeycomb lattice; the square lattice was asked for")
    for cmd in ("coarsen", "sweep"):  # batched ED quenches on the honeycomb, analysed
        out = tmp_path / cmd
        assert main([cmd, "--lattice", "honeycomb", "--model", "ed", "--L", "3", "--kT", "0.1", "--replicas", "2",
                     "--steps", "4", "--every", "2", "--out", str(out)]) == 0
        assert main([cmd, "--analyse", str(out)]) == 0
    assert '"lattice": "honeycomb"' in (tmp_path / "sweep" / "manifest.json").read_text()


def test_generate_names_a_honeycomb_dataset_by_its_lattice(tmp_path, monkeypatch, capsys):
    """Without --out a honeycomb set goes to data/honeycomb/ed_hc<L>_<profile>.npz, never to the square
    lattice's name (it was refused before)."""
    from holstein import catalog, data
    monkeypatch.setattr(catalog, "ARTIFACTS", tmp_path)
    assert main(["generate", "--lattice", "honeycomb", "--L", "3", "--n-random", "2", "--n-quench", "0",
                 "--profile", "ci"]) == 0
    ds = data.load(tmp_path / "data" / "honeycomb" / "ed_hc3_ci.npz")
    assert len(ds) == 2 and ds.Q.shape[1:] == (3, 3, 2) and not (tmp_path / "data" / "ed_L3_ci.npz").exists()


def test_coarsen_runs_extends_and_analyses(tmp_path, capsys):
    from holstein import quench

    args = ["coarsen", "--model", "gcn_lean_mu_L24_extra", "--L", "8", "--kT", "0.1", "--replicas", "2",
            "--every", "10", "--checkpoint-every", "20", "--threads", "1", "--out", str(tmp_path)]
    assert main(args + ["--steps", "40", "--phi-steps", "10", "30"]) == 0
    assert quench.load(tmp_path / "kT0.1")[1]["phi_step"].tolist() == [10, 30]
    assert main(args + ["--steps", "80"]) == 0          # extends the finished run
    ident, res = quench.load(tmp_path / "kT0.1")
    assert res["step"][-1] == 80 and ident["force"].endswith(":float32") and "--steps 80" in res["command"]
    assert main(["coarsen", "--analyse", str(tmp_path)]) == 0
    assert "alpha" in capsys.readouterr().out
    summary = json.loads((tmp_path / "analysis.json").read_text())
    assert "--analyse" in summary["command"] and summary["results"]["0.1"]["n_replicas"] == 2
    assert main(["coarsen", "--L", "8", "--out", str(tmp_path)]) == 2
    assert "--kT" in capsys.readouterr().err


def test_helpful_errors(tmp_path, capsys):
    assert main(["generate", "--L", "5", "--out", str(tmp_path / "x.npz")]) == 2
    assert "even" in _err(capsys)
    assert main(["simulate", "--model", str(tmp_path / "missing.pt"), "--L", "4", "--steps", "1",
                 "--out", str(tmp_path / "t.npz")]) == 2
    assert "no checkpoint" in _err(capsys)


# ----------------------------------------------------------------------------- silent wrong results
def _stale_checkpoint(out: Path, seed: int, steps: int = 20, every: int = 5):
    """The checkpoint a killed `simulate --seed SEED` leaves beside OUT (same settings as the CLI)."""
    from holstein import quench
    from holstein.force import load_force

    force = load_force("ed", PAPER)
    calls = {"n": 0}

    def killed(Q):  # dies after the first checkpoint
        calls["n"] += 1
        if calls["n"] > every + 2:
            raise KeyboardInterrupt
        return force(Q)

    with pytest.raises(KeyboardInterrupt):
        quench.run(killed, 4, seed, PAPER, steps, every, out, snapshots=True, checkpoint_every=every,
                   force_id=force.id, progress=False)
    assert quench.files(out)[2].exists()


def test_simulate_refuses_a_checkpoint_of_another_seed(tmp_path, capsys):
    """Defect 1: a checkpoint of seed 3 must not be continued as seed 4 (it was, silently)."""
    out = tmp_path / "s.npz"
    _stale_checkpoint(out, seed=3)
    args = ["simulate", "--L", "4", "--steps", "20", "--every", "5", "--out", str(out)]
    assert main(args + ["--seed", "4"]) == 2
    err = _err(capsys)
    assert "seeds" in err and "--fresh" in err and not out.exists()
    assert main(args + ["--seed", "4", "--fresh"]) == 0
    clean = tmp_path / "clean.npz"
    assert main(args[:-1] + [str(clean), "--seed", "4"]) == 0
    np.testing.assert_array_equal(np.load(out)["Q"], np.load(clean)["Q"])


def test_simulate_refuses_a_checkpoint_of_another_force(tmp_path, capsys):
    """Defect 1: an ED checkpoint must not be continued by a model (the file then lied about its force)."""
    out = tmp_path / "s.npz"
    _stale_checkpoint(out, seed=0, steps=6, every=3)
    weights = REPO / "holstein/artifacts/models/gcn_lean_L24/best.pt"
    assert main(["simulate", "--model", str(weights), "--L", "4", "--steps", "6", "--every", "3",
                 "--out", str(out)]) == 2
    assert "force" in _err(capsys)


def test_train_resume_refuses_changed_settings(tiny, tmp_path, capsys):
    """Defect 2: --resume with another target, center, lr, dtype, batch size or seed is refused by name."""
    out = tmp_path / "rA"
    base = ["train", "--model", "gcn_lean", "--data", str(tiny), "--out", str(out)]
    assert main(base + ["--epochs", "1"]) == 0
    for extra, name in ((["--target", "total"], "model_config"), (["--center", "none"], "model_config"),
                        (["--lr", "0.01"], "lr"), (["--dtype", "float32"], "dtype"),
                        (["--batch-size", "2"], "batch_size"), (["--seed", "5"], "seed")):
        assert main(base + ["--epochs", "2", "--resume"] + extra) == 2
        assert name in _err(capsys)
    before = (out / "metrics.json").read_text()
    assert main(base + ["--epochs", "2", "--resume"]) == 0  # only the epoch count may change
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 2 and before
    assert (out / "heldout.npz").exists()  # the held-out predictions, for plots without the weights
    assert main(base + ["--epochs", "9", "--resume", "--budget-min", "1e-9"]) == 0  # a budget may be added
    assert json.loads((out / "metrics.json").read_text())["epochs_run"] == 3


def test_train_max_train_caps_or_lifts_the_reference_models_cap(tiny, monkeypatch):
    """--max-train N caps the training snapshots; 'all' lifts the profile's cap of the reference models."""
    seen = []

    def capture(cfg, *args, **kwargs):
        seen.append(cfg.max_train)
        raise KeyboardInterrupt  # stop before any training

    monkeypatch.setattr(train, "train", capture)
    for extra in ([], ["--max-train", "all"], ["--max-train", "7"]):
        assert main(["train", "--model", "gcn", "--profile", "book", "--data", str(tiny)] + extra) == 130
    assert seen == [48, None, 7]


def test_train_refuses_a_directory_of_another_run(tiny, tmp_path, capsys):
    """Defect 3: a stale best.pt of another model must not be reported under the new name."""
    out = tmp_path / "rY"
    assert main(["train", "--model", "bp_mlp_lean", "--data", str(tiny), "--epochs", "1", "--out", str(out)]) == 0
    stale = (out / "metrics.json").read_text()
    assert main(["train", "--model", "gcn_lean", "--data", str(tiny), "--epochs", "0", "--out", str(out)]) == 2
    assert "already holds" in _err(capsys) and (out / "metrics.json").read_text() == stale


def test_non_finite_loss_stops_with_epoch_and_batch(tiny, tmp_path):
    """Defect 3: a NaN loss names the epoch and the batch; metrics stay strict JSON."""
    ds = data.load(tiny)
    cfg = train.TrainConfig(model="gcn_lean", model_config=dict(target="electronic"), epochs=2, lr=1e300)
    with pytest.raises(FloatingPointError, match=r"epoch 0, batch \d+"):
        train.train(cfg, ds, tmp_path / "nan", progress=False)
    from holstein.files import write_json
    with pytest.raises(ValueError):
        write_json({"rmse": float("nan")}, tmp_path / "m.json")


def test_extra_data_may_not_contain_held_out_snapshots(tiny, tmp_path, capsys):
    """Defect 5: --extra equal to --data would train on the held-out snapshots."""
    assert main(["train", "--model", "gcn_lean", "--data", str(tiny), "--extra", str(tiny), "--epochs", "1",
                 "--out", str(tmp_path / "r")]) == 2
    assert "held-out" in _err(capsys)


@pytest.mark.parametrize("args", [["generate", "--L", "0"], ["generate", "--runs", "0"], ["generate", "--every", "0"],
                                  ["generate", "--n-random", "-1"], ["simulate", "--steps", "3", "--every", "0"],
                                  ["simulate", "--steps", "-1"], ["train", "--model", "gcn_lean", "--epochs", "-1"],
                                  ["bench", "ed", "--repeats", "0"]])
def test_zero_and_negative_sizes_are_errors(args, tmp_path, capsys):
    """Defect 6: 0 was silently replaced by the profile's value; now the valid range is named."""
    with pytest.raises(SystemExit) as e:
        main(args + ["--out", str(tmp_path / "x")])
    assert e.value.code == 2 and "integer >=" in capsys.readouterr().err


def test_train_records_the_dataset_it_loaded(tmp_path, monkeypatch):
    """Defect 7: with no --data, metrics.json names the file actually loaded (the cache)."""
    monkeypatch.setenv("HOLSTEIN_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "r"
    assert main(["train", "--model", "gcn_lean", "--profile", "ci", "--epochs", "1", "--out", str(out)]) == 0
    recorded = Path(json.loads((out / "metrics.json").read_text())["dataset"])
    assert recorded.exists() and data.load(recorded).L == 8


# ----------------------------------------------------------------------------- lost work
def test_simulate_checks_its_output_before_the_first_step(tmp_path, capsys):
    """Defect 8 (and 14): the folder is created; an impossible --out fails before any step."""
    out = tmp_path / "new" / "deeper" / "s.npz"
    assert main(["simulate", "--L", "4", "--steps", "2", "--every", "1", "--out", str(out)]) == 0 and out.exists()
    blocker = tmp_path / "file"
    blocker.write_text("x")
    t0 = time.perf_counter()
    assert main(["simulate", "--L", "16", "--steps", "100000", "--out", str(blocker / "s.npz")]) == 2
    assert time.perf_counter() - t0 < 5 and "s.npz" in _err(capsys)
    assert main(["simulate", "--L", "4", "--steps", "1", "--out", str(tmp_path)]) == 2  # a directory
    assert "directory" in _err(capsys)
    assert main(["train", "--model", "gcn_lean", "--epochs", "0", "--out", str(blocker)]) == 2  # a file
    assert "existing file" in _err(capsys)


def test_blow_up_keeps_the_trajectory_so_far(tmp_path, capsys):
    """Defect 9: dt = 5 blows up; the snapshots before it are saved, marked incomplete, one line of error."""
    out = tmp_path / "b.npz"
    assert main(["simulate", "--L", "4", "--steps", "50", "--every", "5", "--dt", "5", "--out", str(out)]) == 3
    err = _err(capsys)
    assert "blew up at step" in err and "incomplete" in err
    z = np.load(out)
    assert not bool(z["complete"]) and len(z["time"]) >= 1 and np.isfinite(z["Q"]).all()


def test_the_final_state_is_always_recorded(tmp_path):
    """Defect 10: --steps < --every kept only t = 0."""
    out = tmp_path / "f.npz"
    assert main(["simulate", "--L", "4", "--steps", "3", "--every", "5", "--out", str(out)]) == 0
    np.testing.assert_allclose(np.load(out)["time"], [0.0, 3 * PAPER.dt])


# ----------------------------------------------------------------------------- clear messages
def test_ed_refuses_large_lattices_before_allocating(tmp_path, capsys):
    """Defect 11: ED at 200x200 needs ~50 GiB; refused at once, with no .parts/ left; a rerun works."""
    with pytest.raises(ValueError, match="GiB.*kpm"):
        ed.forces(torch.zeros(200, 200), PAPER)
    out = tmp_path / "big.npz"
    assert main(["generate", "--L", "200", "--out", str(out)]) == 2
    assert "GiB" in _err(capsys) and not list(tmp_path.iterdir())
    assert main(["generate", *GEN, "--out", str(out)]) == 0 and data.load(out).L == 4


def test_unknown_names_list_the_available_ones(tmp_path, capsys):
    """Defect 12: unknown model names (train, simulate) and profiles list what exists."""
    assert main(["train", "--model", "foo", "--out", str(tmp_path / "r")]) == 2
    assert "gcn_lean" in _err(capsys)
    assert main(["simulate", "--model", "foo", "--steps", "1", "--out", str(tmp_path / "s.npz")]) == 2
    assert "gcn_lean" in _err(capsys)
    assert main(["generate", "--profile", "banana", "--out", str(tmp_path / "g.npz")]) == 2
    assert "book" in _err(capsys)


@pytest.mark.parametrize("device", ["banana", "cuda:7" if torch.cuda.is_available() else "cuda"])
def test_bad_devices_give_one_line(device, tmp_path, capsys):
    """Defect 13: --device banana / cuda without CUDA were tracebacks."""
    with pytest.raises(SystemExit) as e:
        main(["simulate", "--steps", "1", "--device", device, "--out", str(tmp_path / "s.npz")])
    err = capsys.readouterr().err
    assert e.value.code == 2 and ("device" in err.lower() or "cuda" in err.lower())


def test_relabelled_checkpoint_names_the_mismatch(tmp_path):
    """Defect 16: a checkpoint relabelled as another model died with a TypeError."""
    ck = torch.load(REPO / "holstein/artifacts/models/gcn_lean_L24/best.pt", weights_only=False)
    ck["model"] = "bp_mlp_lean"
    torch.save(ck, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="relabelled"):
        checkpoint.load_checkpoint(tmp_path / "x.pt")


def test_complex_and_half_precision_fields_are_refused():
    """Defect 17: complex Q silently dropped its imaginary part."""
    Q = torch.zeros(4, 4, dtype=torch.complex128)
    with pytest.raises(ValueError, match="real"):
        ed.forces(Q, PAPER)
    with pytest.raises(ValueError, match="float16"):
        ed.forces(torch.zeros(4, 4, dtype=torch.float16), PAPER)
    from holstein import models
    with pytest.raises(ValueError, match="real"):
        models.build("gcn_lean")(Q)


# ----------------------------------------------------------------------------- interruptions
def _cli(*args, env=None):
    e = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.Popen([sys.executable, "-m", "holstein", *args], cwd=REPO, env=e,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc, timeout=120):
    t0 = time.time()
    while not path.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.time() - t0 < timeout
        time.sleep(0.02)


SIM = ["simulate", "--L", "8", "--steps", "3000", "--every", "100", "--seed", "2"]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    out = tmp_path_factory.mktemp("u") / "u.npz"
    assert main(SIM + ["--out", str(out)]) == 0
    return np.load(out)


@pytest.mark.slow
def test_ctrl_c_in_simulate_says_how_to_resume(tmp_path, uninterrupted):
    """Defect 18: Ctrl-C gave a KeyboardInterrupt traceback; now one line, and the rerun is exact."""
    out = tmp_path / "s.npz"
    proc = _cli(*SIM, "--out", str(out))
    _wait_for(out.with_name("s.ckpt"), proc)  # the first periodic checkpoint (step 1000)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in err and "resume" in err and "s.ckpt" in err
    assert _cli(*SIM, "--out", str(out)).wait(timeout=300) == 0
    np.testing.assert_array_equal(np.load(out)["Q"], uninterrupted["Q"])


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.0, 0.7])
def test_sigkill_then_resume_is_bit_for_bit(tmp_path, delay, tiny):
    """Fault injection: SIGKILL at a random point of generate, simulate and train, then the same
    command again: the result equals an uninterrupted run bit for bit."""
    rng = np.random.default_rng(int(delay * 10))
    jobs = {
        "simulate": (SIM + ["--out", str(tmp_path / "s.npz")], tmp_path / "s.ckpt", tmp_path / "s.npz"),
        "generate": (["generate", "--L", "6", "--n-random", "16", "--n-quench", "40", "--runs", "2", "--every", "10",
                      "--out", str(tmp_path / "g.npz")], tmp_path / "g.npz.parts" / "spec.json", tmp_path / "g.npz"),
        "train": (["train", "--model", "gcn_lean", "--data", str(tiny), "--epochs", "12", "--out", str(tmp_path / "t")],
                  tmp_path / "t" / "last.pt", tmp_path / "t" / "best.pt"),
    }
    for name, (args, marker, result) in jobs.items():
        proc = _cli(*args)
        _wait_for(marker, proc)
        time.sleep(delay + 0.3 * rng.random())
        proc.kill()
        proc.wait()
        resumed = args + (["--resume"] if name == "train" else [])
        if name == "train" and not (tmp_path / "t" / "last.pt").exists():
            resumed = args
        p = _cli(*resumed)
        _, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        clean_dir = tmp_path / "clean" / name
        clean = [a.replace(str(tmp_path), str(clean_dir)) for a in args]
        assert _cli(*clean).wait(timeout=600) == 0  # same process settings (one thread) as the resumed run
        if name == "simulate":
            np.testing.assert_array_equal(np.load(result)["Q"], np.load(clean_dir / "s.npz")["Q"])
        elif name == "generate":
            a, b = data.load(result), data.load(clean_dir / "g.npz")
            assert a.sha256 == b.sha256 or (np.array_equal(a.Q, b.Q) and np.array_equal(a.n, b.n))
        else:
            sa = torch.load(result, weights_only=False)["state_dict"]
            sb = torch.load(clean_dir / "t" / "best.pt", weights_only=False)["state_dict"]
            assert all(torch.equal(sa[k], sb[k]) for k in sa)


def test_generate_in_parts_and_train_on_two_lattice_sizes(tiny, tmp_path, capsys):
    """``generate --only-run`` in two calls (as two processes would) then assembling gives the
    one-call file; ``train --extra-train`` of a 6×6 set scores the model on its held-out snapshots."""
    gen = ["generate", "--L", "4", "--n-random", "6", "--n-quench", "8", "--runs", "2", "--every", "2"]
    out = tmp_path / "parts.npz"
    assert main([*gen, "--only-run", "1", "--out", str(out)]) == 0 and not out.exists()
    assert "without --only-run assembles" in capsys.readouterr().out
    assert main([*gen, "--only-run", "0", "--out", str(out)]) == 0
    assert main([*gen, "--out", str(out)]) == 0
    a, b = data.load(out), data.load(tiny)  # same arrays (the hash also covers the command line)
    assert all(np.array_equal(getattr(a, k), getattr(b, k)) for k in data.ARRAYS)
    assert main([*gen, "--only-run", "2", "--out", str(tmp_path / "x.npz")]) == 2 and "quench runs 0..1" in _err(capsys)
    six = tmp_path / "six.npz"
    assert main(["generate", "--L", "6", "--n-random", "6", "--n-quench", "8", "--runs", "1", "--every", "2",
                 "--out", str(six)]) == 0
    run = tmp_path / "run"
    assert main(["train", "--model", "gcn_lean", "--data", str(tiny), "--extra-train", str(six), "--epochs", "1",
                 "--out", str(run)]) == 0
    m = json.loads((run / "metrics.json").read_text())
    assert m["extra_train_split"] == [str(six)] and m["extra_sha256"] == [f"{data.load(six).sha256}:train"]
    held = m["heldout_extra"][str(six)]
    assert held["all"]["count"] == len(data.load(six).split()[1]) and np.isfinite(held["all"]["rmse"])


def test_bench_transfer_takes_a_run_folder(tiny, tmp_path, capsys):
    """``bench transfer --models`` accepts a training run's folder (e.g. a 40×40 run) beside the
    committed models' names, and scores each against KPM."""
    run = tmp_path / "run"
    assert main(["train", "--model", "gcn_lean", "--data", str(tiny), "--epochs", "1", "--out", str(run)]) == 0
    out = tmp_path / "t.json"
    assert main(["bench", "transfer", "--L", "8", "--steps", "4", "--every", "2", "--models", str(run), f"mine={run}",
                 "gcn_lean", "--driver", "gcn_lean", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert set(res["models"]) == {str(run), "mine", "gcn_lean"} and len(res["snapshots"]) == 2
    assert res["models"]["mine"]["all"]["rmse"] == res["models"][str(run)]["all"]["rmse"] > 0
