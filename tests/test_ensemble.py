"""Tests of holstein/ensemble.py: sweeps of quench-engine runs on a 2-worker LocalCluster, manifests,
resumption, fault injection, and their analysis."""
import json
import os
import signal
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from holstein import ensemble, quench
from holstein.force import load_force
from holstein.cli import main
from holstein.params import PAPER

L = 4


@pytest.fixture(scope="module")
def client():
    """Two single-threaded worker processes, shared by the tests of this module (started once, ~10 s)."""
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _tasks(kTs=(0.1,), seeds=(0, 1), steps=20, every=5, **kw):
    return ensemble.make_tasks("ed", L, kTs, seeds, steps, every, **kw)


def _load(out, tasks):
    res = {}
    for t in tasks:
        with np.load(out / "tasks" / f"{t.key}.npz") as z:
            res[t.key] = {k: z[k] for k in z.files if k not in ("wall_s", "command")}
    return res


def _assert_identical(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert a[key].keys() == b[key].keys()
        for name in a[key]:
            np.testing.assert_array_equal(a[key][name], b[key][name], err_msg=f"{key}: {name}")


# ----------------------------------------------------------------------------- sweeps
def test_task_identity_and_result_match_the_batched_quench(tmp_path):
    t_a, t_b = _tasks(seeds=(0, 1), batch=2)[0], _tasks(seeds=(0, 1), batch=2, every=10)[0]
    assert t_a.key != t_b.key and t_a.key == _tasks(seeds=(0, 1), batch=2)[0].key
    assert t_a.identity()["force"].startswith("ed:") and t_a.identity()["kT"] == 0.1
    ensemble.sweep([t_a], tmp_path, client="serial", progress=False)
    ident, comp = quench.load(tmp_path / "tasks" / f"{t_a.key}.npz")  # a task result is an engine result
    assert ident == t_a.identity()
    p = PAPER.replace(kT=0.1)
    _, ref = quench.run(load_force("ed", p), L, [0, 1], p, 20, 5, progress=False)   # the same engine run here
    for k in ("m", "C", "phi2", "L", "S", "S_pipi", "step", "time"):
        np.testing.assert_array_equal(comp[k], ref[k], err_msg=k)


@pytest.mark.slow  # starts the workers' torch (~10 s on a busy 2-core machine)
def test_two_workers_give_the_serial_results_bit_for_bit(client, tmp_path):
    tasks = _tasks(kTs=(0.05, 0.1), seeds=(0, 1, 2), batch=2, phi_steps=(5,))   # batches of 2 and 1 replicas
    s = ensemble.sweep(tasks, tmp_path / "dask", client=client, progress=False)
    assert s == dict(total=4, ran=4, skipped=0, done=4, failed=0, pending=0, out=str(tmp_path / "dask"), errors={})
    ensemble.sweep(tasks, tmp_path / "serial", client="serial", progress=False)
    _assert_identical(_load(tmp_path / "dask", tasks), _load(tmp_path / "serial", tasks))
    m = ensemble.read_manifest(tmp_path / "dask")["tasks"]
    assert all(e["worker"].startswith("tcp://") and e["pid"] != os.getpid() for e in m.values())
    assert set(client.run(lambda: torch.get_num_threads()).values()) == {1}


class _Unusable:
    def __getattr__(self, name):
        raise AssertionError(f"a finished sweep used its client ({name})")


def test_rerunning_a_finished_sweep_does_no_work(client, tmp_path):
    tasks = _tasks(seeds=(0, 1))
    ensemble.sweep(tasks, tmp_path, client=client, progress=False)
    manifest = (tmp_path / ensemble.MANIFEST).read_bytes()
    mtimes = sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "tasks").iterdir())
    s = ensemble.sweep(tasks, tmp_path, client=_Unusable(), progress=False)
    assert (s["ran"], s["skipped"], s["done"]) == (0, 2, 2)
    assert (tmp_path / ensemble.MANIFEST).read_bytes() == manifest       # attempts, wall times untouched
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (tmp_path / "tasks").iterdir()) == mtimes
    assert all(e["attempts"] == 1 for e in json.loads(manifest)["tasks"].values())
    (tmp_path / ensemble.MANIFEST).unlink()  # results written, but their client died before recording them
    assert ensemble.sweep(tasks, tmp_path, client=_Unusable(), progress=False)["ran"] == 0
    assert all(e["status"] == "done" for e in ensemble.read_manifest(tmp_path)["tasks"].values())


def test_a_blow_up_is_recorded_and_the_other_tasks_finish(client, tmp_path):
    bad = _tasks(seeds=(0,), p=PAPER.replace(dt=50.0))
    good = _tasks(seeds=(0, 1))
    s = ensemble.sweep(bad + good, tmp_path, client=client, progress=False)
    assert (s["done"], s["failed"]) == (2, 1)
    e = ensemble.read_manifest(tmp_path)["tasks"][bad[0].key]
    assert e["status"] == "failed" and e["blowup"] and "blew up" in e["error"] and e["identity"]["params"]["dt"] == 50
    assert not bool(quench.load(tmp_path / "tasks" / f"{bad[0].key}.npz")[1]["complete"])  # kept, incomplete
    assert ensemble.sweep(bad + good, tmp_path, client="serial", progress=False)["ran"] == 0  # deterministic
    assert ensemble.sweep(bad, tmp_path, client="serial", progress=False, retry_failed=True)["ran"] == 1
    g = ensemble.analyse(tmp_path)
    assert len(g) == 2 and sum(len(x["failed"]) for x in g) == 1 and (tmp_path / "analysis.json").exists()


def test_two_sweeps_share_a_folder_without_corrupting_each_other(client, tmp_path):
    a, b = _tasks(seeds=(0, 1)), _tasks(seeds=(0, 1), steps=15, kTs=(0.05,))
    threads = [threading.Thread(target=ensemble.sweep, args=(tasks, tmp_path / "shared"),
                                kwargs=dict(client=client, progress=False)) for tasks in (a, b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    m = ensemble.read_manifest(tmp_path / "shared")["tasks"]
    assert sorted(m) == sorted(t.key for t in a + b) and all(e["status"] == "done" for e in m.values())
    for tasks, name in ((a, "a"), (b, "b")):
        ensemble.sweep(tasks, tmp_path / name, client="serial", progress=False)
        _assert_identical(_load(tmp_path / "shared", tasks), _load(tmp_path / name, tasks))
    # the manifest merge under its lock: many writers at once lose no entry
    writers = [threading.Thread(target=ensemble._update_manifest, args=(tmp_path / "shared", {f"k{i}": {"x": i}}))
               for i in range(24)]
    for th in writers:
        th.start()
    for th in writers:
        th.join()
    m = ensemble.read_manifest(tmp_path / "shared")["tasks"]
    assert all(m[f"k{i}"]["x"] == i for i in range(24)) and len(m) == 24 + 4


def test_cli_sweep_and_analyse(client, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["sweep", "--L", str(L), "--kT", "0.05", "0.1", "--replicas", "2", "--steps", "10", "--every", "5",
            "--scheduler", client.scheduler.address, "--out", str(out)]
    assert main(args) == 0
    assert "4 tasks: 4 run" in capsys.readouterr().out
    assert main(args) == 0 and "0 run, 4 already finished" in capsys.readouterr().out
    assert main(["sweep", "--analyse", str(out)]) == 0
    text = capsys.readouterr().out
    assert "kT = 0.05" in text and "2 replicas" in text
    assert main(["sweep", "--L", "4"]) == 2 and "--kT" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("allowed_failures", [3, 0], ids=["rescheduled", "failed-then-rerun"])
def test_killing_a_worker_mid_task_then_rerunning_gives_the_uninterrupted_results(client, tmp_path, allowed_failures):
    """SIGKILL of the worker running a task after its first checkpoint. Dask's default reschedules the
    task (it resumes from the checkpoint on another worker); with no allowed failures it is recorded
    failed (KilledWorker) and the re-run resumes it. Either way the results are the uninterrupted ones."""
    tasks = _tasks(seeds=(0, 1), steps=300, every=50)
    ensemble.sweep(tasks, tmp_path / "ref", client="serial", progress=False)
    out = tmp_path / "killed"
    old = client.run_on_scheduler(lambda dask_scheduler: dask_scheduler.allowed_failures)
    client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", allowed_failures))
    first = {}
    th = threading.Thread(target=lambda: first.update(ensemble.sweep(tasks, out, client=client, progress=False,
                                                                     checkpoint_every=20)))
    try:
        th.start()
        deadline, victim = time.time() + 120, None
        while victim is None and time.time() < deadline:
            ckpts = {p.stem for p in (out / "tasks").glob("*.ckpt")} if (out / "tasks").exists() else set()
            for worker, keys in client.processing().items():
                if any(k.split("-")[2] in ckpts for k in keys):   # keys: holstein-task-<key>-<nonce>
                    victim = worker
            time.sleep(0.05)
        assert victim is not None, "no task reached its first checkpoint"
        os.kill(client.run(os.getpid, workers=[victim])[victim], signal.SIGKILL)
        th.join()
    finally:
        client.run_on_scheduler(lambda dask_scheduler: setattr(dask_scheduler, "allowed_failures", old))
    if allowed_failures == 0:
        assert first["failed"] == 1 and first["done"] == 1
        assert "KilledWorker" in next(e["error"] for e in ensemble.read_manifest(out)["tasks"].values()
                                      if e["status"] == "failed")
    again = ensemble.sweep(tasks, out, client=client, progress=False)   # the re-run finishes what is left
    assert again["ran"] == (1 if allowed_failures == 0 else 0) and again["done"] == 2
    m = ensemble.read_manifest(out)["tasks"]
    assert any(e["resumed_from_step"] > 0 for e in m.values())          # a task continued its checkpoint
    _assert_identical(_load(out, tasks), _load(tmp_path / "ref", tasks))
    assert not list((out / "tasks").glob("*.ckpt"))
