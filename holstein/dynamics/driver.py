"""The run driver: many steps of :func:`holstein.dynamics.step` with recording, health checks and
a clean Ctrl-C (checkpoints, results and resumption are :mod:`holstein.quench`'s).

See :func:`run` for the guarantees; the integrator itself lives in
:mod:`holstein.dynamics.integrators`.
"""
from __future__ import annotations

import dataclasses
import signal
import threading
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np
import torch

from ..params import HolsteinParams
from .integrators import ForceFn, State, _advance, _check_scheme, _clone_generators

__all__ = ["Trajectory", "BlowUpError", "Interrupted", "run", "FIELDS"]

#: Fields a :class:`Trajectory` can record.
FIELDS = ("Q", "V", "F")


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


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during :func:`run`: ``state`` is the (healthy) state after the last full step and
    ``trajectory`` the snapshots recorded up to it."""

    def __init__(self, message: str, state: State, trajectory: Trajectory):
        super().__init__(message)
        self.state, self.trajectory = state, trajectory


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


def run(state: State, force_fn: ForceFn, p: HolsteinParams, n_steps: int, record_every: int = 10,
        scheme: str = "vv_ou", fields: Sequence[str] = ("Q",), progress: bool = True, max_abs: float = 1e6,
        check_every: Optional[int] = None) -> tuple[State, Trajectory]:
    """Integrate ``n_steps`` steps from ``state``, recording snapshots.

    Records the fields ``fields`` (subset of "Q", "V", "F") of the initial state, of every
    ``record_every``-th state after it and of the final state (T = 1 + ceil(n_steps /
    record_every) snapshots, moved to the CPU). After every step the run stops with a
    :class:`BlowUpError` (a RuntimeError) naming the step if Q, V or F is non-finite or
    max|Q| > ``max_abs``; the error carries the snapshots recorded up to the last healthy check.

    On a GPU nothing leaves the device between snapshots: the health test is accumulated on the
    device and read by the host only every ``check_every`` steps (default: 1 on the CPU,
    ``record_every`` on a GPU; a blow-up is then reported with the interval it happened in), and
    snapshots are copied to pinned host memory asynchronously.

    Ctrl-C (in the main thread) finishes the current step and raises :class:`Interrupted` with the
    (healthy) state and the snapshots so far, so that a caller can checkpoint a consistent state;
    files are the caller's business (:mod:`holstein.quench` writes checkpoints and results).

    A progress bar (tqdm.auto) shows t, max|Q| and the kinetic temperature m⟨V²⟩.

    Returns ``(final_state, trajectory)``; ``state`` itself is not modified.
    """
    _check_scheme(scheme)
    if isinstance(n_steps, bool) or not isinstance(n_steps, (int, np.integer)) or n_steps < 0:
        raise ValueError(f"n_steps must be a non-negative integer, got {n_steps!r}")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every must be a positive integer, got {record_every!r}")
    fields = tuple(fields)
    if not fields or any(f not in FIELDS for f in fields) or len(set(fields)) != len(fields):
        raise ValueError(f"fields must be distinct names among {FIELDS}, got {fields}")
    if not (max_abs > 0):
        raise ValueError(f"max_abs must be > 0, got {max_abs!r}")
    if check_every is None:
        check_every = record_every if state.Q.device.type == "cuda" else 1
    if isinstance(check_every, bool) or not isinstance(check_every, (int, np.integer)) or check_every < 1:
        raise ValueError(f"check_every must be a positive integer, got {check_every!r}")
    state = dataclasses.replace(state, rng=_clone_generators(state.rng))
    _check_health(state, max_abs)
    return _loop(state, force_fn, p, int(n_steps), int(record_every), scheme, fields, float(max_abs),
                 int(check_every), progress)


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


def _loop(state, force_fn, p, n_steps, rec, scheme, fields, max_abs, check_every, progress):
    from tqdm.auto import tqdm

    start, end = state.step, state.step + n_steps
    snaps, times, steps = [_snapshot(state, fields)], [state.time], [state.step]
    ok, checked = None, state.step  # health accumulated on the device since step `checked`
    with tqdm(total=n_steps, disable=not progress, desc=f"Langevin {scheme}", unit="step") as bar, \
            _DeferredInterrupt() as interrupt:
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
            if interrupt.requested and state.step < end:
                _check_health(state, max_abs, ok, checked)
                raise Interrupted(f"stopped at step {state.step} of {end}", state, _stack(snaps, times, steps, fields))
    return state, _stack(snaps, times, steps, fields)
