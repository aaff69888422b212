r"""Sweeps: a Dask map of quench-engine runs over tasks (temperatures × replica batches), resumable.

A :class:`Task` is one run of :func:`holstein.quench.run`: B replicas of one force (a spec that each
worker resolves with :func:`holstein.force.load_force`) at one kT; its ``key`` is the sha256 of the
run's identity and length (16 hex digits). :func:`sweep` sends the tasks to a ``dask.distributed``
client (by default a ``LocalCluster``; :mod:`holstein.cluster` makes the others). In ``out``:

* ``tasks/<key>.npz``, ``.state.pt``, ``.ckpt`` — the run's files (:mod:`holstein.quench.store`);
* ``manifest.json`` — per task: identity, force spec, status (done / failed / pending), attempts,
  wall time, worker, error; written by clients only, merged under a file lock, so sweeps may share
  the folder.

A re-run skips a task only when its result is verified; an unreadable result or checkpoint is moved
aside (``.corrupt``) and the task run again. Blow-ups stay failed (``retry_failed`` reruns them).
:func:`analyse` gathers the finished tasks into α(T) (:func:`holstein.quench.analyse`).
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

from . import dynamics, quench
from .cluster import _OneThread, connect
from .files import write_json
from .params import PAPER, HolsteinParams
from .quench import store

__all__ = ["Task", "make_tasks", "run_task", "sweep", "read_manifest",
           "analyse", "MANIFEST"]

MANIFEST = "manifest.json"
_VERSION = 2
_LOCK = threading.Lock()  # the file lock below does not exclude threads of one process on every OS


# ----------------------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Task:
    """One engine run: ``force`` (a spec) in ``precision``, fingerprinted ``force_id`` when the task was
    made, and the run's settings (``params``: sorted items, kT included)."""

    force: str
    precision: str | None
    force_id: str
    L: int
    seeds: tuple
    steps: int
    every: int
    params: tuple
    scheme: str = "vv_ou"
    dr: float = 1.0
    phi_steps: tuple = ()

    @property
    def p(self) -> HolsteinParams:
        return HolsteinParams(**dict(self.params))

    @property
    def kT(self) -> float:
        return float(dict(self.params)["kT"])

    def recorder(self) -> quench.Recorder:
        return quench.Recorder(self.every, self.dr, self.phi_steps)

    def identity(self) -> dict:
        """The identity of the task's run (:func:`holstein.quench.identity`)."""
        return quench.identity(self.force_id, self.L, list(self.seeds), self.every, self.scheme, self.p,
                               self.recorder().settings(len(self.seeds)))

    @property
    def key(self) -> str:
        ident = dict(self.identity(), steps=int(self.steps))
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:16]

    def entry(self, status: str, **fields) -> dict:
        """The task's manifest entry."""
        return dict(identity=self.identity(), force_spec=self.force, steps=self.steps, status=status, **fields)


def make_tasks(force: str, L: int, kTs: Sequence[float], seeds: Sequence[int], steps: int, every: int,
               p: HolsteinParams = PAPER, scheme: str = "vv_ou", batch: int = 1, dr: float = 1.0,
               phi_steps: Sequence[int] = (), precision: str | None = None) -> list[Task]:
    """Every kT in ``kTs`` × the ``seeds`` in batches of ``batch`` (the same seeds at every kT). The
    force is resolved here once per kT, so one not valid there, or an ED run too large for memory, is
    refused before any task starts."""
    from .force import load_force

    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds) or batch < 1:
        raise ValueError(f"need distinct seeds and batch >= 1, got seeds={seeds}, batch={batch}")
    if force == "ed":
        from . import ed

        ed.check_memory(int(L), min(batch, len(seeds)))
    tasks = []
    for kT in kTs:
        pk = p.replace(kT=float(kT))
        fid = load_force(force, pk, precision).id
        for i in range(0, len(seeds), batch):
            tasks.append(Task(str(force), precision, fid, int(L), tuple(seeds[i:i + batch]), int(steps), int(every),
                              tuple(sorted(pk.to_dict().items())), scheme, float(dr), tuple(int(s) for s in phi_steps)))
    return tasks


def _result_path(out, key: str) -> Path:
    return Path(out) / "tasks" / f"{key}.npz"


def _aside(path: Path, why: str) -> str:
    """Move an unreadable file out of the way (``<name>.corrupt``) and say so."""
    path.replace(path.with_name(path.name + ".corrupt"))
    return f"{why}; moved to {path.name}.corrupt"


def _worker_name() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return f"local:{socket.gethostname()}:{os.getpid()}"


def run_task(task: Task, out, checkpoint_every: int = 1000, device: str = "cpu") -> dict:
    """Run one task into ``tasks/<key>.*``, resuming a verified checkpoint (an unreadable one is moved
    aside); return its manifest record, failed for a blow-up (any other error propagates)."""
    from .force import load_force

    t0 = time.perf_counter()
    path = _result_path(out, task.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    ident, ckpt, note, resumed = task.identity(), store.files(path)[2], None, 0
    if ckpt.exists():
        try:
            resumed = int(store.read_checkpoint(path, ident)[0]["step"])
        except ValueError as e:
            note = _aside(ckpt, str(e))
    rec = dict(worker=_worker_name(), pid=os.getpid(), device=device, resumed_from_step=resumed, note=note)
    force = load_force(task.force, task.p, task.precision, device)
    if force.id != task.force_id:
        raise ValueError(f"the force changed since the task was made: {force.id} here, {task.force_id} in the task")
    r = task.recorder()
    try:
        quench.run(force, task.L, list(task.seeds), task.p, task.steps, task.every, path, dr=r.dr,
                   phi_steps=r.phi_steps, scheme=task.scheme, checkpoint_every=checkpoint_every, device=device,
                   progress=False, command=f"holstein.ensemble task {task.key}")
    except dynamics.BlowUpError as e:
        return dict(rec, status="failed", blowup=True, error=f"BlowUpError: {e}", wall_s=time.perf_counter() - t0)
    return dict(rec, status="done", error=None, wall_s=time.perf_counter() - t0, file=str(path.relative_to(out)))


# ----------------------------------------------------------------------------- manifest
def read_manifest(out) -> dict:
    """``{"version", "tasks": {key: entry}}`` of the folder (empty if none); a damaged file is a
    one-line ValueError naming it (a re-run of the sweep after moving it away rebuilds it)."""
    path = Path(out) / MANIFEST
    if not path.exists():
        return {"version": _VERSION, "tasks": {}}
    try:
        m = json.loads(path.read_text())
        assert isinstance(m, dict) and isinstance(m.get("tasks"), dict)
    except (ValueError, AssertionError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not a readable sweep manifest ({type(e).__name__}); move it away: a re-run of "
                         "the sweep rebuilds it from the verified results in tasks/") from None
    return m


def _update_manifest(out, entries: dict) -> None:
    """Merge ``{key: fields}`` into the manifest (read, merge, atomic write under the lock)."""
    if not entries:
        return
    with _LOCK, open(Path(out) / "manifest.lock", "a") as fh:
        with contextlib.suppress(ImportError):  # not POSIX: only this process's threads are excluded
            import fcntl
            fcntl.flock(fh, fcntl.LOCK_EX)
        m = read_manifest(out)
        for key, fields in entries.items():
            m["tasks"][key] = {**m["tasks"].get(key, {}), **fields, "updated": time.time()}
        write_json(m, Path(out) / MANIFEST)


# ----------------------------------------------------------------------------- sweep
def _verified(t: Task, out) -> tuple[str, str | None]:
    """("done" | "blowup" | "missing", note) of task ``t``'s result in ``out``."""
    path = _result_path(out, t.key)
    if not path.exists():
        return "missing", None
    try:
        _, res = store.load(path, t.identity())
    except ValueError as e:
        return "missing", _aside(path, str(e))
    if not bool(res["complete"]):
        return "blowup", None
    return ("done" if int(res["step"][-1]) >= t.steps else "missing"), None


def _plan(tasks, out, retry_failed):
    """(tasks to run, {key: manifest fields of tasks whose state differs from the manifest's})."""
    m, todo, found, seen = read_manifest(out)["tasks"], [], {}, set()
    for t in tasks:
        if t.key in seen:
            continue
        seen.add(t.key)
        e, (state, note) = m.get(t.key, {}), _verified(t, out)
        if state == "done":
            if e.get("status") != "done" or e.get("steps") != t.steps:  # its client died before recording it
                found[t.key] = t.entry("done", error=None, file=str(_result_path(out, t.key).relative_to(out)))
            store.files(_result_path(out, t.key))[2].unlink(missing_ok=True)
        elif state == "blowup" and not retry_failed:
            if e.get("status") != "failed":
                found[t.key] = t.entry("failed", blowup=True,
                                       error=e.get("error") or "BlowUpError (the result is marked incomplete)")
        else:
            if state == "blowup":
                for f in store.files(_result_path(out, t.key)):
                    f.unlink(missing_ok=True)
            todo.append((t, note))
    return todo, found


def sweep(tasks: Sequence[Task], out, client=None, workers: int | None = None, checkpoint_every: int = 1000,
          device: str = "cpu", progress: bool = True, retry_failed: bool = False) -> dict:
    """Run the unfinished ``tasks`` into ``out``, recording each in the manifest as it ends.

    ``client``: a ``distributed.Client``, ``"serial"`` (here, one after the other) or None (a new
    ``LocalCluster`` of ``workers``, started only if there is work). Returns ``dict(total, ran,
    skipped, done, failed, pending, out, errors={key: (kT, seeds, error)})``.
    """
    from tqdm.auto import tqdm

    out = Path(out)
    (out / "tasks").mkdir(parents=True, exist_ok=True)
    todo, found = _plan(tasks, out, retry_failed)
    m = read_manifest(out)["tasks"]
    _update_manifest(out, {**found, **{t.key: t.entry("pending", error=None, note=note,
                                                      attempts=m.get(t.key, {}).get("attempts", 0) + 1)
                                       for t, note in todo}})

    def record(t, fut_or_rec):
        try:
            rec = fut_or_rec() if callable(fut_or_rec) else fut_or_rec.result()
        except Exception as e:  # a crashed worker (KilledWorker), a bad force, ...: retried on a re-run
            rec = dict(status="failed", blowup=False, error=f"{type(e).__name__}: {e}")
        _update_manifest(out, {t.key: rec})
        bar.update(1)

    with tqdm(total=len(todo), desc="tasks", unit="task", disable=not progress or not todo) as bar:
        if todo and client == "serial":
            for t, _ in todo:
                record(t, lambda t=t: run_task(t, out, checkpoint_every, device))
        elif todo:
            from distributed import as_completed

            c, close = (client, lambda: None) if client is not None else connect(workers=workers)
            try:
                c.register_plugin(_OneThread(), name=_OneThread.name)
                futs = {c.submit(run_task, t, str(out), checkpoint_every, device,
                                 key=f"holstein-task-{t.key}-{uuid.uuid4().hex[:8]}"): t for t, _ in todo}
                for fut in as_completed(futs):
                    record(futs[fut], fut)
            finally:
                close()
    final = read_manifest(out)["tasks"]
    keys = list(dict.fromkeys(t.key for t in tasks))
    by_key = {t.key: t for t in tasks}
    status = [final.get(k, {}).get("status", "pending") for k in keys]
    errors = {k: (by_key[k].kT, list(by_key[k].seeds), final[k].get("error")) for k, s in zip(keys, status)
              if s == "failed"}
    return dict(total=len(keys), ran=len(todo), skipped=len(keys) - len(todo), done=status.count("done"),
                failed=status.count("failed"), pending=status.count("pending"), out=str(out), errors=errors)


# ----------------------------------------------------------------------------- analysis
def _disjoint(parts: list) -> tuple[list, list]:
    """(parts to merge, seeds left out): larger batches first, then by first seed; a part that
    shares a seed with one already taken is left out, so that no replica counts twice."""
    taken, keep, dropped = set(), [], []
    for ident, res in sorted(parts, key=lambda ir: (-len(ir[0]["seeds"]), ir[0]["seeds"])):
        if taken & set(ident["seeds"]):
            dropped.append(ident["seeds"])
            continue
        taken |= set(ident["seeds"])
        keep.append((ident, res))
    return sorted(keep, key=lambda ir: ir[0]["seeds"]), dropped


def analyse(out, t_min: float | None = None, t_max: float | None = None, write: bool = True) -> list[dict]:
    """α(T) of the finished tasks of ``out`` (:func:`holstein.quench.analyse`), grouped by force spec,
    steps and identity up to kT, seeds and fingerprint; each kT's replicas merged, a seed counted once.

    Returns ``[dict(identity, force, kT (sorted), results={kT: dict(alpha, alpha_err, ..., n_replicas,
    seeds, growth, compact)}, failed=[(kT, seeds, error)], duplicates=[(kT, seeds)])]``; ``write``: a
    summary in ``out/analysis.json``."""
    out = Path(out)
    if not (out / MANIFEST).exists():
        raise ValueError(f"{out} holds no sweep (no {out / MANIFEST})")
    groups: dict[str, dict] = {}
    for key, e in read_manifest(out)["tasks"].items():
        ident = e.get("identity")
        if not ident:
            continue
        base = {k: v for k, v in ident.items() if k not in ("kT", "seeds", "force", "phi_replicas")}
        base["steps"] = e.get("steps")
        base["params"] = {k: v for k, v in base["params"].items() if k != "kT"}
        spec = e.get("force_spec", ident["force"])
        g = groups.setdefault(json.dumps([spec, base], sort_keys=True),
                              dict(identity=base, force=spec, parts={}, failed=[], duplicates=[]))
        if e.get("status") == "done":
            try:
                g["parts"].setdefault(ident["kT"], []).append(store.load(_result_path(out, key), ident))
            except (ValueError, FileNotFoundError) as err:
                g["failed"].append((ident["kT"], ident["seeds"], str(err)))
        elif e.get("status") == "failed":
            g["failed"].append((ident["kT"], ident["seeds"], e.get("error")))
    result = []
    for g in groups.values():
        res = {}
        for kT, parts in sorted(g["parts"].items()):
            parts, dropped = _disjoint(parts)
            g["duplicates"] += [(kT, s) for s in dropped]
            ident, comp = parts[0] if len(parts) == 1 else quench.merge(parts)
            a = quench.analyse({kT: comp}, t_min=t_min, t_max=t_max)[kT]
            fit = quench.growth_exponent(comp, t_min=a["t_min"], t_max=a["t_max"])
            res[kT] = dict(a, fit=fit["fit"], growth=fit["growth"], seeds=quench.seed_list(ident["seeds"]),
                           force=ident["force"], compact=comp)
        result.append(dict(identity=g["identity"], force=g["force"], kT=sorted(res), results=res, failed=g["failed"],
                           duplicates=g["duplicates"]))
    if write:
        keep = ("alpha", "alpha_err", "alpha_err_fit", "alpha_err_jackknife", "t_min", "t_max", "n_points",
                "n_replicas", "seeds", "force", "growth_factor", "collapse")
        summary = [dict(identity=g["identity"], force=g["force"], failed=g["failed"], duplicates=g["duplicates"],
                        temperatures=[dict({k: r[k] for k in keep}, kT=kT, time=r["growth"]["time"], L=r["growth"]["L"])
                                      for kT, r in g["results"].items()]) for g in result]
        write_json(quench.jsonable(summary), out / "analysis.json")
    return result
