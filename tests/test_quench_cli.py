"""Command-line tests of issue 22 for the quench engine and its store (items 1, 2, 3, 4, 6, 7, 11, the
file parts of 9 and 10, and failed sweep tasks reported on the console). Each test names its item;
all run at tiny sizes, the sweep ones on a one-worker in-process Dask cluster."""
import json
from pathlib import Path

import numpy as np
import pytest

from holstein.cli import main

SIM = ["simulate", "--L", "4", "--steps", "20", "--every", "5"]
COARSEN = ["coarsen", "--model", "ed", "--L", "4", "--replicas", "2", "--every", "5", "--checkpoint-every", "10"]


def _err(capsys, *names) -> str:
    """The one-line error, which names every one of ``names``."""
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    for n in names:
        assert str(n) in err, (n, err)
    return err


@pytest.fixture(scope="module")
def scheduler():
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0")
    client = Client(cluster)
    yield client.scheduler.address
    client.close()
    cluster.close()


def _sweep(out, scheduler, *extra):
    return main(["sweep", "--model", "ed", "--L", "4", "--kT", "0.1", "--replicas", "2", "--steps", "20",
                 "--every", "10", "--scheduler", scheduler, "--out", str(out), *extra])


# ----------------------------------------------------------------------------- item 1
@pytest.mark.parametrize("command", [
    [*SIM, "--L", "8"],
    ["coarsen", "--L", "8", "--kT", "0.1", "--replicas", "1", "--steps", "10", "--every", "5"],
    ["sweep", "--L", "8", "--kT", "0.1", "--steps", "10", "--every", "5"]], ids=["simulate", "coarsen", "sweep"])
def test_a_physics_flag_a_model_was_not_trained_for_is_refused(tmp_path, capsys, command):
    """Item 1: --g 2.0 with a model trained at g = 3.5 ran the g = 3.5 dynamics under a g = 2.0 label."""
    out = tmp_path / ("o.npz" if command[0] == "simulate" else "o")
    assert main([*command, "--model", "gcn_lean_mu_L24", "--g", "2.0", "--out", str(out)]) == 2
    assert "g=2 was asked for" in _err(capsys, "valid for") and not out.exists()


# ----------------------------------------------------------------------------- items 2, 3 and failed tasks
def test_replicas_of_different_batches_count_once(tmp_path, scheduler, capsys):
    """Item 2: the same seeds with --batch 1 and --batch 2 were analysed as seeds [0, 0, 1, 1]."""
    assert _sweep(tmp_path, scheduler) == 0 and _sweep(tmp_path, scheduler, "--batch", "2") == 0
    capsys.readouterr()
    assert main(["sweep", "--analyse", str(tmp_path)]) == 0
    assert "counted once" in capsys.readouterr().out
    [group] = json.loads((tmp_path / "analysis.json").read_text())
    [row] = group["temperatures"]
    assert row["seeds"] == [0, 1] and row["n_replicas"] == 2


def test_a_corrupted_task_result_is_run_again(tmp_path, scheduler, capsys):
    """Item 3: after `head -c 3000` on a task's result a rerun said "done" and --analyse was a traceback."""
    assert _sweep(tmp_path, scheduler) == 0
    victim = sorted((tmp_path / "tasks").glob("*.npz"))[0]
    good = victim.read_bytes()
    victim.write_bytes(good[:3000])
    capsys.readouterr()
    assert _sweep(tmp_path, scheduler) == 0
    assert "1 run, 1 already finished" in capsys.readouterr().out
    assert victim.read_bytes() != good[:3000] and victim.with_name(victim.name + ".corrupt").exists()
    assert main(["sweep", "--analyse", str(tmp_path)]) == 0


def test_a_truncated_task_checkpoint_is_set_aside_and_the_task_finishes(tmp_path, scheduler, capsys):
    """Item 10: a truncated tasks/<key>.ckpt failed every rerun with OSError, shown only in the manifest."""
    assert _sweep(tmp_path, scheduler) == 0
    res = sorted((tmp_path / "tasks").glob("*.npz"))[0]
    ckpt = res.with_name(res.stem + ".ckpt")
    res.unlink()
    ckpt.write_bytes(b"PK\x03\x04 truncated")
    assert _sweep(tmp_path, scheduler) == 0 and res.exists()
    assert "done" in capsys.readouterr().out and ckpt.with_name(ckpt.name + ".corrupt").exists()


def test_failed_tasks_are_reported_with_their_reasons(tmp_path, scheduler, capsys):
    """A sweep printed only "1 failed"; the reason was in the manifest alone."""
    assert _sweep(tmp_path, scheduler, "--dt", "50") == 3
    err = capsys.readouterr().err
    assert "failed: task" in err and "blew up" in err and "Traceback" not in err


def test_sweep_refusals_are_one_line(tmp_path, scheduler, capsys):
    """Item 10: ED at L = 200 printed "1 failed"; --analyse of a missing folder named a .tmp file; a
    truncated manifest.json was a JSON error without the file."""
    assert main(["sweep", "--model", "ed", "--L", "200", "--kT", "0.1", "--steps", "10", "--out",
                 str(tmp_path / "big")]) == 2
    _err(capsys, "GiB")
    assert main(["sweep", "--analyse", str(tmp_path / "nothing")]) == 2
    _err(capsys, tmp_path / "nothing")
    assert _sweep(tmp_path / "s", scheduler) == 0
    manifest = tmp_path / "s" / "manifest.json"
    manifest.write_text(manifest.read_text()[:50])
    capsys.readouterr()
    assert main(["sweep", "--analyse", str(tmp_path / "s")]) == 2
    _err(capsys, manifest)
    assert _sweep(tmp_path / "s", scheduler) == 2
    _err(capsys, manifest)


def test_the_analyse_header_shows_the_whole_force(tmp_path, scheduler, capsys):
    """Item 10: the header cut the force text at 60 characters ('"kappa": 0')."""
    assert _sweep(tmp_path, scheduler) == 0
    force = next(iter(json.loads((tmp_path / "manifest.json").read_text())["tasks"].values()))["identity"]["force"]
    capsys.readouterr()
    assert main(["sweep", "--analyse", str(tmp_path)]) == 0
    assert force in capsys.readouterr().out.splitlines()[0] and len(force) > 60


# ----------------------------------------------------------------------------- items 4, 6, 7, 11
def test_coarsen_blow_up_keeps_the_records_and_goes_on(tmp_path, capsys):
    """Item 7: a blow-up was a traceback; the other temperatures never ran; steps after the last
    checkpoint were lost."""
    assert main([*COARSEN, "--kT", "0.1", "0.05", "--steps", "400", "--dt", "5", "--every", "1",
                 "--out", str(tmp_path)]) == 3
    err = capsys.readouterr().err
    assert err.count("blew up") == 2 and "Traceback" not in err
    from holstein import quench
    for kT in (0.1, 0.05):
        _, res = quench.load(quench.run_path(tmp_path, kT))
        assert not bool(res["complete"]) and res["step"].tolist() == list(range(len(res["step"])))
        assert not quench.run_path(tmp_path, kT, ".ckpt").exists()


def test_coarsen_analyse_names_an_unfinished_temperature(tmp_path, capsys):
    """Item 4: --analyse left out an unfinished temperature without a word."""
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--out", str(tmp_path)]) == 0
    (tmp_path / "kT0.05.ckpt").write_bytes(b"a run in progress")
    capsys.readouterr()
    assert main(["coarsen", "--analyse", str(tmp_path)]) == 0
    assert "kT0.05.ckpt: unfinished" in capsys.readouterr().out
    summary = json.loads((tmp_path / "analysis.json").read_text())
    assert summary["unfinished"] == ["kT0.05.ckpt"]
    # issue 21's suspected bug: 4 recorded times give no α (NaN), which the strict write_json refused
    assert summary["results"]["0.1"]["alpha"] is None


def test_coarsen_merge_into_one_of_its_parts_is_refused(tmp_path, capsys):
    """Item 6: --merge A C --out A replaced A's run and left a stale .state.pt."""
    a, c = tmp_path / "A", tmp_path / "C"
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--out", str(a)]) == 0
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--seed", "2", "--out", str(c)]) == 0
    before = (a / "kT0.1.npz").read_bytes()
    capsys.readouterr()
    assert main(["coarsen", "--merge", str(a), str(c), "--out", str(a)]) == 2
    _err(capsys, a)
    assert (a / "kT0.1.npz").read_bytes() == before
    assert main(["coarsen", "--merge", str(a), str(c), "--out", str(tmp_path / "M")]) == 0
    capsys.readouterr()
    assert main([*COARSEN, "--kT", "0.1", "--steps", "40", "--replicas", "4", "--out", str(tmp_path / "M")]) == 2
    _err(capsys, "merged run")  # the 4 seeds of M: extending it is refused (it has no final state), not run


def test_coarsen_refuses_a_reused_folder_naming_the_field(tmp_path, capsys):
    """Item 11: an 800-character line that did not name the field that differs."""
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--out", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--replicas", "3", "--out", str(tmp_path)]) == 2
    err = _err(capsys, "seeds: [0, 1] there, [0, 1, 2] here")
    assert len(err) < 300


def test_extending_a_merged_run_says_so(tmp_path, capsys):
    """Item 10: extending a merged run said "No such file ... state.pt"."""
    a, c, m = tmp_path / "A", tmp_path / "C", tmp_path / "M"
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--out", str(a)]) == 0
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--seed", "2", "--out", str(c)]) == 0
    assert main(["coarsen", "--merge", str(a), str(c), "--out", str(m)]) == 0
    capsys.readouterr()
    assert main([*COARSEN, "--kT", "0.1", "--steps", "40", "--replicas", "4", "--out", str(m)]) == 2
    _err(capsys, "merged run", "kT0.1.npz")


# ----------------------------------------------------------------------------- items 9 and 10: damaged files
@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_simulate_checkpoint_is_one_line_naming_it(tmp_path, capsys, damage):
    """Item 9: a garbage .ckpt was an UnpicklingError traceback; item 10: a truncated one said
    "cannot write: Invalid argument"."""
    out = tmp_path / "s.npz"
    from holstein import quench
    ckpt = quench.files(out)[2]
    good = tmp_path / "good.ckpt"
    from holstein.force import load_force
    force = load_force("ed")
    calls = {"n": 0}

    def killed(Q):
        calls["n"] += 1
        if calls["n"] > 12:
            raise KeyboardInterrupt
        return force(Q)

    with pytest.raises(KeyboardInterrupt):
        quench.run(killed, 4, 0, force.params, 20, 5, out, snapshots=True, checkpoint_every=10, force_id=force.id,
                   progress=False)
    ckpt.write_bytes(b"\x80\x04garbage" if damage == "garbage" else ckpt.read_bytes()[:200])
    capsys.readouterr()
    assert main([*SIM, "--out", str(out)]) == 2
    err = _err(capsys, ckpt, "not a readable")
    assert "cannot write" not in err


@pytest.mark.parametrize("which", [".npz", ".ckpt", ".state.pt"])
def test_a_truncated_coarsen_file_is_one_line_naming_it(tmp_path, capsys, which):
    """Item 9: a truncated coarsen .npz, .ckpt or .state.pt was a BadZipFile or miniz traceback
    without the file's name."""
    assert main([*COARSEN, "--kT", "0.1", "--steps", "20", "--out", str(tmp_path)]) == 0
    f = tmp_path / f"kT0.1{which}"
    if which == ".ckpt":
        (tmp_path / "kT0.1.npz").unlink()
        f.write_bytes((tmp_path / "kT0.1.state.pt").read_bytes()[:150])
    else:
        f.write_bytes(f.read_bytes()[:150])
    capsys.readouterr()
    assert main([*COARSEN, "--kT", "0.1", "--steps", "40", "--out", str(tmp_path)]) == 2
    _err(capsys, f)
    if which == ".npz":
        assert main(["coarsen", "--analyse", str(tmp_path)]) == 2
        _err(capsys, f)


def test_a_refused_generate_leaves_nothing_that_blocks_the_next(tmp_path, capsys):
    """Item 10: a leftover .parts/spec.json of a refused --L 7 blocked generate --L 4."""
    out = tmp_path / "d.npz"
    gen = ["generate", "--n-random", "2", "--n-quench", "2", "--runs", "1", "--every", "3", "--out", str(out)]
    assert main([*gen, "--L", "7"]) == 2
    _err(capsys, "even")
    assert main([*gen, "--L", "4"]) == 0 and out.exists()
