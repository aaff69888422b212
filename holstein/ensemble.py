r"""Ensembles beyond one machine: replicas and temperature sweeps as Dask tasks, with resumable results.

A :class:`Task` is one quench, or one batch of replicas integrated together, identified by the force
fingerprint (:func:`holstein.artifacts.force_and_id`: ``"ed:<params>"`` or
``"model:<name>:<sha256[:16]>"``), L, kT and the other parameters, the seeds, the step count, the
recording interval, the scheme and the observables' settings. Its result is a deterministic
function of that identity: replica b starts from ``hot_start`` with the hot-start seed of
``seeds[b]`` and draws that seed's noise (:func:`holstein.dynamics.matched_seeds`), so it is bit
for bit the unbatched quench with integer seed ``seeds[b]``, wherever it runs.

:func:`sweep` sends the tasks to a ``dask.distributed`` client: by default a ``LocalCluster`` with
one single-threaded worker per core; or a scheduler address or file; or any cluster object, e.g.
``dask_jobqueue.SLURMCluster`` (optional; :func:`cluster_from_config` builds one from a YAML file).
Files in the output folder ``out``:

* ``tasks/<key>.npz`` — one per task, key = sha256 of its identity (16 hex digits), holding the
  :func:`holstein.coarsening.compact_observables` and the identity; written by the worker with
  :func:`holstein.files.atomic_write`, so it is complete or absent;
* ``tasks/<key>.ckpt`` — the dynamics checkpoint of an unfinished task (every ``checkpoint_every``
  steps); a re-run resumes from it, bit for bit;
* ``manifest.json`` — one entry per task: identity, status (done / failed / pending), attempts,
  wall time, worker, error. Only client processes write it, under a file lock, merging their
  entries into what is there; so sweeps of other identities may share the folder, even at once.

A re-run skips tasks whose result exists, and blow-ups (deterministic; ``retry_failed`` reruns
them), and resumes the rest. A :class:`holstein.dynamics.BlowUpError` marks its task failed with the
message; the others go on. Workers need ``out`` on a shared filesystem. :func:`analyse` gathers the
finished tasks into α(T) with a jackknife over replicas.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from . import coarsening, dynamics
from .cluster import _OneThread, cluster_from_config, connect  # noqa: F401 (the last two public here too)
from .files import atomic_write, write_json
from .params import PAPER, HolsteinParams

__all__ = ["Task", "make_tasks", "run_task", "connect", "cluster_from_config", "sweep", "read_manifest",
           "load_result", "analyse", "MANIFEST"]

MANIFEST = "manifest.json"
_VERSION = 1
_LOCK = threading.Lock()  # the file lock below does not exclude threads of one process on every OS


# ----------------------------------------------------------------------------- tasks
def _force(force, p: HolsteinParams, device: str):
    """(force_fn, force_id): ``force`` a --model spec (str) or a picklable ``factory(p, device)``."""
    if callable(force):
        return force(p, device)
    from . import artifacts

    return artifacts.force_and_id(str(force), p, device)


@dataclass(frozen=True)
class Task:
    """One quench (or batch of replicas). ``force`` says how a worker builds the force (a --model
    spec or a picklable ``factory(p, device) -> (force_fn, force_id)``); only ``force_id`` enters
    the identity, so a moved weights file is the same task."""

    force: object
    force_id: str
    L: int
    seeds: tuple
    steps: int
    every: int
    params: tuple               # sorted (name, value) items of the HolsteinParams (kT included)
    scheme: str = "vv_ou"
    dr: float = 1.0             # shell width of C(r) and S(k) (compact_observables)
    phi_at: tuple = ()          # times of the stored float16 φ maps

    @property
    def p(self) -> HolsteinParams:
        return HolsteinParams(**dict(self.params))

    @property
    def kT(self) -> float:
        return float(dict(self.params)["kT"])

    def identity(self) -> dict:
        return dict(force=self.force_id, L=int(self.L), kT=self.kT, seeds=[int(s) for s in self.seeds],
                    steps=int(self.steps), every=int(self.every), scheme=self.scheme, params=dict(self.params),
                    observables=dict(dr=self.dr, phi_at=[float(t) for t in self.phi_at]))

    @property
    def key(self) -> str:
        return _key(self.identity())


def _key(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


def make_tasks(force, L: int, kTs: Sequence[float], seeds: Sequence[int], steps: int, every: int,
               p: HolsteinParams = PAPER, scheme: str = "vv_ou", batch: int = 1, dr: float = 1.0,
               phi_at: Sequence[float] = ()) -> list[Task]:
    """The tasks of a sweep: every kT in ``kTs`` × the ``seeds`` in batches of ``batch`` replicas.

    The same seeds are used at every temperature (common random numbers, as in
    :func:`holstein.coarsening.run_temperatures`). The force is fingerprinted here, once per kT.
    """
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or batch < 1:
        raise ValueError(f"need distinct seeds and batch >= 1, got seeds={seeds}, batch={batch}")
    tasks = []
    for kT in kTs:
        pk = p.replace(kT=float(kT))
        _, fid = _force(force, pk, "cpu")
        for i in range(0, len(seeds), batch):
            tasks.append(Task(force, fid, int(L), tuple(seeds[i:i + batch]), int(steps), int(every),
                              tuple(sorted(pk.to_dict().items())), scheme, float(dr), tuple(map(float, phi_at))))
    return tasks


def _paths(out, key: str) -> tuple[Path, Path]:
    d = Path(out) / "tasks"
    return d / f"{key}.npz", d / f"{key}.ckpt"


def _worker_name() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return f"local:{socket.gethostname()}:{os.getpid()}"


def run_task(task: Task, out, checkpoint_every: int = 1000, device: str = "cpu") -> dict:
    """Run one task (on a worker, or here) and write ``tasks/<key>.npz``; return its manifest record.

    Resumes from ``tasks/<key>.ckpt`` if present. A blow-up returns a failed record (the checkpoint
    is removed, the message kept); any other error propagates.
    """
    t0 = time.perf_counter()
    res, ckpt = _paths(out, task.key)
    res.parent.mkdir(parents=True, exist_ok=True)
    rec = dict(worker=_worker_name(), pid=os.getpid(), device=device,
               resumed_from_step=int(dynamics.load_checkpoint(ckpt)["state"]["step"]) if ckpt.exists() else 0)
    p = task.p
    force_fn, fid = _force(task.force, p, device)
    if fid != task.force_id:
        raise ValueError(f"the force changed since the task was made: {fid} here, {task.force_id} in the task")
    hot, noise = dynamics.matched_seeds(task.seeds)
    Q0, V0 = dynamics.hot_start(task.L, p, seed=hot, batch=len(hot), device=device)
    state = dynamics.init(Q0, force_fn, p, V0=V0, seed=noise)
    try:
        _, traj = dynamics.run(state, force_fn, p, n_steps=task.steps, record_every=task.every, scheme=task.scheme,
                               checkpoint_path=ckpt, checkpoint_every=checkpoint_every, resume=True, progress=False,
                               force_id=fid)
    except dynamics.BlowUpError as e:
        ckpt.unlink(missing_ok=True)
        return dict(rec, status="failed", blowup=True, error=f"BlowUpError: {e}", wall_s=time.perf_counter() - t0)
    comp = coarsening.compact_observables(traj.time.numpy(), traj.Q.numpy(), task.L, dr=task.dr,
                                          phi_at=task.phi_at or None)
    ident = json.dumps(task.identity(), sort_keys=True)
    atomic_write(res, lambda fh: np.savez_compressed(fh, identity=np.array(ident), key=np.array(task.key), **comp))
    ckpt.unlink(missing_ok=True)
    return dict(rec, status="done", error=None, wall_s=time.perf_counter() - t0, file=str(res.relative_to(out)))


def load_result(path) -> tuple[dict, dict]:
    """(identity, compact observables) of a task's result file."""
    with np.load(path) as z:
        comp = {k: z[k] for k in z.files if k not in ("identity", "key")}
        ident = json.loads(str(z["identity"]))
    if _key(ident) != Path(path).stem:
        raise ValueError(f"{path} holds the result of another identity")
    return ident, comp


# ----------------------------------------------------------------------------- manifest
def read_manifest(out) -> dict:
    """``{"version", "tasks": {key: entry}}`` of the folder (empty if none)."""
    path = Path(out) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {"version": _VERSION, "tasks": {}}


@contextlib.contextmanager
def _locked(out):
    with _LOCK, open(Path(out) / "manifest.lock", "a") as fh:
        with contextlib.suppress(ImportError):  # not POSIX: only this process's threads are excluded
            import fcntl
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def _update_manifest(out, entries: dict) -> None:
    """Merge ``{key: fields}`` into the manifest (read, merge, atomic write under the lock)."""
    if not entries:
        return
    with _locked(out):
        m = read_manifest(out)
        for key, fields in entries.items():
            m["tasks"][key] = {**m["tasks"].get(key, {}), **fields, "updated": time.time()}
        write_json(m, Path(out) / MANIFEST)


# ----------------------------------------------------------------------------- sweep
def _plan(tasks, out, retry_failed):
    """(tasks to run, {key: manifest fields of tasks found finished})."""
    m, todo, found, seen = read_manifest(out)["tasks"], [], {}, set()
    for t in tasks:
        if t.key in seen:
            continue
        seen.add(t.key)
        res, ckpt = _paths(out, t.key)
        e = m.get(t.key, {})
        if res.exists():
            if e.get("status") != "done":  # finished, but its client died before recording it
                found[t.key] = dict(identity=t.identity(), status="done", error=None, file=str(res.relative_to(out)))
            ckpt.unlink(missing_ok=True)
        elif not (e.get("status") == "failed" and e.get("blowup") and not retry_failed):
            todo.append(t)
    return todo, found


def sweep(tasks: Sequence[Task], out, client=None, workers: int | None = None, checkpoint_every: int = 1000,
          device: str = "cpu", progress: bool = True, retry_failed: bool = False) -> dict:
    """Run the unfinished ``tasks`` into ``out`` and record each in the manifest as it ends.

    ``client``: a ``distributed.Client``; ``"serial"`` (in this process, one after the other);
    or None (a new ``LocalCluster`` of ``workers`` processes, closed at the end; see
    :func:`connect`). Nothing is started when every task is finished already.
    Returns ``dict(total, ran, skipped, done, failed, pending, out)`` for these tasks.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    todo, found = _plan(tasks, out, retry_failed)
    m = read_manifest(out)["tasks"]
    _update_manifest(out, {**found, **{t.key: dict(identity=t.identity(), status="pending", error=None,
                                                   attempts=m.get(t.key, {}).get("attempts", 0) + 1) for t in todo}})

    def record(t, fut_or_rec):
        try:
            rec = fut_or_rec() if callable(fut_or_rec) else fut_or_rec.result()
        except Exception as e:  # a crashed worker (KilledWorker), a bad force, ...: retried on a re-run
            rec = dict(status="failed", blowup=False, error=f"{type(e).__name__}: {e}")
        _update_manifest(out, {t.key: rec})
        bar.update(1)

    with tqdm(total=len(todo), desc="tasks", unit="task", disable=not progress or not todo) as bar:
        if todo and client == "serial":
            for t in todo:
                record(t, lambda t=t: run_task(t, out, checkpoint_every, device))
        elif todo:
            from distributed import as_completed

            c, close = (client, lambda: None) if client is not None else connect(workers=workers)
            try:
                c.register_plugin(_OneThread(), name=_OneThread.name)
                futs = {c.submit(run_task, t, str(out), checkpoint_every, device,
                                 key=f"holstein-task-{t.key}-{uuid.uuid4().hex[:8]}"): t for t in todo}
                for fut in as_completed(futs):
                    record(futs[fut], fut)
            finally:
                close()
    final = read_manifest(out)["tasks"]
    keys = list(dict.fromkeys(t.key for t in tasks))
    status = [final.get(k, {}).get("status", "pending") for k in keys]
    return dict(total=len(keys), ran=len(todo), skipped=len(keys) - len(todo), done=status.count("done"),
                failed=status.count("failed"), pending=status.count("pending"), out=str(out))


# ----------------------------------------------------------------------------- analysis
def _jsonable(x):
    """Plain JSON types; NaN and infinities become null (strict JSON)."""
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, np.ndarray):
        x = x.tolist()
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    x = x.item() if isinstance(x, np.generic) else x
    return (x if np.isfinite(x) else None) if isinstance(x, float) else x


def analyse(out, t_min: float | None = None, t_max: float | None = None, write: bool = True) -> list[dict]:
    """Gather the finished tasks of ``out`` into coarsening observables and α(T).

    Tasks are grouped by identity up to kT and seeds (one group per sweep setting); within a group
    the replicas of each kT are merged (:func:`holstein.coarsening.merge_compact`) and α fitted with
    :func:`holstein.coarsening.growth_exponent_compact` (jackknife error over replicas).
    Returns ``[dict(identity, kT (sorted), results={kT: dict(alpha, alpha_err, ..., n_replicas, seeds,
    growth, compact)}, failed=[(kT, seeds, error)])]``; ``write``: a summary in ``out/analysis.json``."""
    out = Path(out)
    groups: dict[str, dict] = {}
    for key, e in read_manifest(out)["tasks"].items():
        ident, res = e.get("identity"), _paths(out, key)[0]
        base = {k: v for k, v in ident.items() if k not in ("kT", "seeds")}
        base["params"] = {k: v for k, v in base["params"].items() if k != "kT"}
        if base["force"].startswith("ed:"):  # the ED fingerprint holds kT too
            base["force"] = "ed:" + json.dumps({k: v for k, v in json.loads(base["force"][3:]).items() if k != "kT"},
                                               sort_keys=True)
        g = groups.setdefault(json.dumps(base, sort_keys=True), dict(identity=base, parts={}, failed=[]))
        if e.get("status") == "done" and res.exists():
            g["parts"].setdefault(ident["kT"], []).append(load_result(res))
        elif e.get("status") == "failed":
            g["failed"].append((ident["kT"], ident["seeds"], e.get("error")))
    result = []
    for g in groups.values():
        res = {}
        for kT, parts in sorted(g["parts"].items()):
            parts = sorted(parts, key=lambda ic: ic[0]["seeds"])
            comp = coarsening.merge_compact([c for _, c in parts])
            a = coarsening.growth_exponent_compact(comp, t_min=t_min, t_max=t_max)
            res[kT] = dict(a, n_replicas=int(comp["C"].shape[1]), seeds=[s for i, _ in parts for s in i["seeds"]],
                           compact=comp)
        result.append(dict(identity=g["identity"], kT=sorted(res), results=res, failed=g["failed"]))
    if write:
        keep = ("alpha", "alpha_err", "alpha_err_fit", "alpha_err_jackknife", "t_min", "t_max", "n_points",
                "n_replicas", "seeds")
        summary = [dict(identity=g["identity"], failed=g["failed"],
                        temperatures=[dict({k: r[k] for k in keep}, kT=kT, time=r["growth"]["time"], L=r["growth"]["L"])
                                      for kT, r in g["results"].items()]) for g in result]
        write_json(_jsonable(summary), out / "analysis.json")
    return result
