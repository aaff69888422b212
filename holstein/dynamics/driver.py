"""The run driver: many steps of :func:`holstein.dynamics.step` with recording, health checks,
atomic checkpoints that identify their run, bit-for-bit resumption, and a clean Ctrl-C.

See :func:`run` for the guarantees; the integrator itself lives in
:mod:`holstein.dynamics.integrators`.
"""
from __future__ import annotations

import dataclasses
import os
import signal
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..files import atomic_write
from ..params import HolsteinParams
from .integrators import ForceFn, State, _advance, _check_scheme, _clone_generators, state_fingerprint

__all__ = ["Trajectory", "BlowUpError", "run", "resume", "load_checkpoint", "FIELDS"]

#: Fields a :class:`Trajectory` can record.
FIELDS = ("Q", "V", "F")
_CHECKPOINT_VERSION = 2


@dataclass
class Trajectory:
    """Snapshots recorded by :func:`run` (CPU tensors, stacked along a leading time axis).

    Attributes:
        time: ``(T,)`` float64 times of the snapshots (1/t).
        step: ``(T,)`` int64 step numbers.
        Q, V, F: ``(T, L, L)`` or ``(T, B, L, L)``, or None when not recorded.
    """

    time: torch.Tensor
    step: torch.Tensor
    Q: Optional[torch.Tensor] = None
    V: Optional[torch.Tensor] = None
    F: Optional[torch.Tensor] = None

    def __len__(self) -> int:
        return int(self.time.shape[0])


class BlowUpError(RuntimeError):
    """The dynamics became non-finite or left ``max_abs``. ``trajectory`` holds the snapshots
    recorded up to the last healthy check (a :class:`Trajectory`), so no recorded work is lost."""

    def __init__(self, message: str, trajectory: Optional[Trajectory] = None):
        super().__init__(message)
        self.trajectory = trajectory


# ----------------------------------------------------------------------------- run driver
def _healthy(state: State, max_abs: float) -> torch.Tensor:
    """A 0-dim bool tensor on Q's device (no host synchronisation)."""
    return ((state.Q.abs().amax() <= max_abs) & torch.isfinite(state.F).all()
            & torch.isfinite(state.V).all())


def _check_health(state: State, max_abs: float, ok: Optional[torch.Tensor] = None, since: Optional[int] = None
                  ) -> None:
    """Raise if the state (or, with ``ok``, any state since step ``since``) was unhealthy."""
    ok = _healthy(state, max_abs) if ok is None else ok & _healthy(state, max_abs)
    if bool(ok):  # the only host synchronisation
        return
    if not bool(torch.isfinite(state.Q).all()):
        what = "Q became non-finite (NaN/inf)"
    elif not bool(torch.isfinite(state.F).all()):
        what = "the force F became non-finite (NaN/inf)"
    elif not bool(torch.isfinite(state.V).all()):
        what = "the velocity V became non-finite (NaN/inf)"
    else:
        what = f"|Q| = {float(state.Q.abs().max()):.3g} exceeded max_abs = {max_abs:g}"
    where = f"step {state.step}" if since is None or since >= state.step - 1 else f"a step in ({since}, {state.step}]"
    raise BlowUpError(f"dynamics blew up at {where} (t = {state.time:.6g}): {what}; "
                      "reduce dt or check the force function")


def _snapshot(state: State, fields: tuple) -> dict:
    """CPU copies of ``fields``; from a GPU the copy is asynchronous (pinned memory, no wait)."""
    cuda = state.Q.device.type == "cuda"
    return {f: getattr(state, f).detach().to("cpu", copy=True, non_blocking=cuda) for f in fields}


def _stack(snaps: list, times: list, steps: list, fields: tuple) -> Trajectory:
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()  # asynchronous snapshot copies must have landed
    kw = {f: (torch.stack([s[f] for s in snaps]) if snaps else None) for f in fields}
    return Trajectory(time=torch.tensor(times, dtype=torch.float64),
                      step=torch.tensor(steps, dtype=torch.int64), **kw)


def _save_checkpoint(path, state: State, p: HolsteinParams, config: dict, snaps, times, steps,
                     fields) -> None:
    traj = _stack(snaps, times, steps, fields)
    payload = {
        "version": _CHECKPOINT_VERSION,
        "params": p.to_dict(),
        "config": dict(config),
        "state": state.to_dict(),
        "trajectory": {"time": traj.time, "step": traj.step,
                       **{f: getattr(traj, f) for f in fields}},
    }
    atomic_write(path, lambda fh: torch.save(payload, fh))  # a reader sees the old or the new checkpoint


def load_checkpoint(path, map_location=None) -> dict:
    """Read a checkpoint written by :func:`run` (a dict; ``weights_only`` loading)."""
    ck = torch.load(os.fspath(path), map_location=map_location, weights_only=True)
    if not isinstance(ck, dict) or ck.get("version") != _CHECKPOINT_VERSION:
        raise ValueError(f"{path} is not a dynamics checkpoint of version {_CHECKPOINT_VERSION}")
    return ck


def run(state: State, force_fn: ForceFn, p: HolsteinParams, n_steps: int, record_every: int = 10,
        scheme: str = "vv_ou", fields: Sequence[str] = ("Q",), checkpoint_path=None,
        checkpoint_every: int = 1000, progress: bool = True, max_abs: float = 1e6,
        resume: bool = False, check_every: Optional[int] = None, force_id: str = "unspecified"
        ) -> tuple[State, Trajectory]:
    """Integrate ``n_steps`` steps from ``state``, recording snapshots and checkpointing.

    Records the fields ``fields`` (subset of "Q", "V", "F") of the initial state, of every
    ``record_every``-th state after it and of the final state (T = 1 + ceil(n_steps /
    record_every) snapshots, moved to the CPU). After every step the run stops with a
    :class:`BlowUpError` (a RuntimeError) naming the step if Q, V or F is non-finite or
    max|Q| > ``max_abs``; the error carries the snapshots recorded up to the last healthy check.

    On a GPU nothing leaves the device between snapshots: the health test is accumulated on the
    device and read by the host only every ``check_every`` steps (default: 1 on the CPU,
    ``record_every`` on a GPU; a blow-up is then reported with the interval it happened in), and
    snapshots are copied to pinned host memory asynchronously.

    Checkpoints: with ``checkpoint_path``, every ``checkpoint_every`` steps and at the end the
    state (including the generator states) and the snapshots so far are written with
    torch.save to a temporary file that then atomically replaces ``checkpoint_path``. With
    ``resume=True`` and an existing checkpoint of the same run, the run continues from it
    (``state`` is then only used to check that) and the result is bit-for-bit that of an
    uninterrupted run; without a file it starts from ``state``. "The same run" means the same
    start (:func:`state_fingerprint`: step, Q, V and the generators, hence the seeds), the same
    force (``force_id``, a caller's fingerprint such as a model name and weights hash, or "ed"
    and its parameters), n_steps, scheme, recording and parameters; any difference is refused
    with a ValueError naming the field. See also :func:`resume`.

    A progress bar (tqdm.auto) shows t, max|Q| and the kinetic temperature m⟨V²⟩.

    Returns ``(final_state, trajectory)``; ``state`` itself is not modified.
    """
    _check_scheme(scheme)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be a positive integer, got {checkpoint_every!r}")
    fields = tuple(fields)
    if not fields or any(f not in FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise ValueError(f"fields must be distinct names among {FIELDS}, got {fields}")
    if not (max_abs > 0):
        raise ValueError(f"max_abs must be > 0, got {max_abs!r}")
    if check_every is None:
        check_every = record_every if state.Q.device.type == "cuda" else 1
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
    config = {"start_step": int(state.step), "n_steps": int(n_steps), "record_every": int(record_every),
              "scheme": scheme, "fields": list(fields), "checkpoint_every": int(checkpoint_every),
              "max_abs": float(max_abs), "shape": list(state.Q.shape), "check_every": int(check_every),
              "start": state_fingerprint(state), "force": str(force_id)}
    if resume and checkpoint_path is not None and os.path.exists(checkpoint_path):
        ck = load_checkpoint(checkpoint_path, map_location=state.Q.device)
        for key in ("start_step", "n_steps", "record_every", "scheme", "fields", "shape", "force", "start"):
            if ck["config"][key] != config[key]:
                what = ("the start configuration, velocities or seeds" if key == "start" else key)
                raise ValueError(f"checkpoint {checkpoint_path} belongs to another run: {what} differ "
                                 f"({ck['config'][key]!r} there, {config[key]!r} here); delete the "
                                 "checkpoint (or pass --fresh on the command line) to start anew")
        return _run_from_checkpoint(ck, force_fn, p, checkpoint_path, progress)
    gens = _clone_generators(state.rng)
    state = dataclasses.replace(state, rng=gens)
    _check_health(state, max_abs)
    snaps, times, steps = [_snapshot(state, fields)], [state.time], [state.step]
    return _loop(state, force_fn, p, config, snaps, times, steps, checkpoint_path, progress)


class _DeferredInterrupt:
    """While active (main thread only), Ctrl-C sets a flag instead of raising inside a step, so that
    the loop can finish the step, write a checkpoint of a consistent state and then stop."""

    def __init__(self):
        self.requested = False
        self._old = None

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame):
        if self.requested:  # a second Ctrl-C: stop at once
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)
        return False


def _loop(state, force_fn, p, config, snaps, times, steps, checkpoint_path, progress):
    from tqdm.auto import tqdm

    fields = tuple(config["fields"])
    start, end = config["start_step"], config["start_step"] + config["n_steps"]
    rec, ck_every, max_abs, scheme = (config["record_every"], config["checkpoint_every"],
                                      config["max_abs"], config["scheme"])
    check_every = config.get("check_every", 1)
    ok, checked = None, state.step  # health accumulated on the device since step `checked`
    with tqdm(total=config["n_steps"], initial=state.step - start, disable=not progress,
              desc=f"Langevin {scheme}", unit="step") as bar, _DeferredInterrupt() as interrupt:
        while state.step < end:
            state = _advance(state, force_fn, p, scheme, state.rng)
            if (state.step - start) % check_every == 0 or state.step == end:
                try:
                    _check_health(state, max_abs, ok, checked)
                except BlowUpError as e:
                    keep = [i for i, s in enumerate(steps) if s <= checked]
                    e.trajectory = _stack([snaps[i] for i in keep], [times[i] for i in keep],
                                          [steps[i] for i in keep], fields)
                    raise
                ok, checked = None, state.step
            else:
                ok = _healthy(state, max_abs) if ok is None else ok & _healthy(state, max_abs)
            bar.update(1)
            if (state.step - start) % rec == 0 or state.step == end:
                snaps.append(_snapshot(state, fields))
                times.append(state.time)
                steps.append(state.step)
                if progress:
                    bar.set_postfix(t=f"{state.time:.4g}", maxQ=f"{float(state.Q.abs().max()):.3g}",
                                    mV2=f"{float(p.mass * (state.V ** 2).mean()):.3g}", refresh=False)
            if checkpoint_path is not None and (state.step - start) % ck_every == 0 and state.step < end:
                _save_checkpoint(checkpoint_path, state, p, config, snaps, times, steps, fields)
            if interrupt.requested:
                if checkpoint_path is not None:
                    _check_health(state, max_abs, ok, checked)
                    _save_checkpoint(checkpoint_path, state, p, config, snaps, times, steps, fields)
                raise KeyboardInterrupt(f"stopped at step {state.step} of {end}"
                                        + (f"; checkpoint written at step {state.step}" if checkpoint_path else ""))
    if checkpoint_path is not None:
        _save_checkpoint(checkpoint_path, state, p, config, snaps, times, steps, fields)
    return state, _stack(snaps, times, steps, fields)


def _run_from_checkpoint(ck: dict, force_fn, p, checkpoint_path, progress):
    if ck["params"] != p.to_dict():
        raise ValueError(f"checkpoint {checkpoint_path} was written with other parameters: "
                         f"{ck['params']} there, {p.to_dict()} here")
    config = ck["config"]
    fields = tuple(config["fields"])
    state = State.from_dict(ck["state"])
    tr = ck["trajectory"]
    T = int(tr["time"].shape[0])
    snaps = [{f: tr[f][i].cpu() for f in fields} for i in range(T)]  # snapshots live on the CPU
    times = [float(x) for x in tr["time"]]
    steps = [int(x) for x in tr["step"]]
    return _loop(state, force_fn, p, config, snaps, times, steps, checkpoint_path, progress)


def resume(checkpoint_path, force_fn: ForceFn, p: HolsteinParams, progress: bool = True,
           map_location=None) -> tuple[State, Trajectory]:
    """Continue the run saved in ``checkpoint_path`` to its planned end (same settings).

    Bit-for-bit identical to the uninterrupted run; a finished checkpoint returns at once.
    ``p`` must equal the parameters the run was started with (ValueError otherwise).
    """
    ck = load_checkpoint(checkpoint_path, map_location=map_location)
    return _run_from_checkpoint(ck, force_fn, p, checkpoint_path, progress)
