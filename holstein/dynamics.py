r"""Langevin dynamics of the lattice displacements Q: ``init`` / ``step`` / ``run``.

The ions move in the force field ``F(Q)`` of the electrons plus the lattice (the force is
passed in as ``force_fn(Q) -> F``; this module knows no model and no ED) and are coupled to a
bath at temperature kT through a friction *rate* γ (units of t, i.e. 1/time):

    dQ = V dt,      m dV = F(Q) dt - m γ V dt + sqrt(2 m γ kT) dW,

so that the stationary distribution is the Boltzmann one, ∝ exp(-[m V²/2 + A(Q)]/kT) with
F = -∂A/∂Q. (Written as m Q̈ = F - γ' Q̇ + η with ⟨η η⟩ = 2 γ' kT δ, the friction coefficient
is γ' = m γ; the parametrisation by the rate γ follows the reference code.) Energies are in
units of the hopping t = 1, time in units of 1/t.

Both integrators split the dynamics into the deterministic kicks/drifts of velocity Verlet
and the exact Ornstein–Uhlenbeck (OU) solution of the friction + noise part,

    O:  V <- a V + b ξ,      a = exp(-γ dt),   b = sqrt((1 - a²) kT / m),   ξ ~ N(0, 1),

and need one force evaluation per step (the force at the current Q is kept in the state):

- ``"vv_ou"`` (the reference code): a velocity-Verlet step, then one O step,

      V <- V + F dt/2m;  Q <- Q + V dt;  F <- F(Q);  V <- V + F dt/2m;  O.

- ``"baoab"`` (Leimkuhler & Matthews, Appl. Math. Res. Express 2013, 34–56, "Rational
  construction of stochastic numerical methods for molecular sampling"):

      B: V <- V + F dt/2m;  A: Q <- Q + V dt/2;  O;  A: Q <- Q + V dt/2;  F <- F(Q);
      B: V <- V + F dt/2m.

  Its configurational averages have a small O(dt²) error (exact for harmonic forces).

With γ = 0 the O step is the identity and both schemes are *exactly* (bit-for-bit) Newtonian
velocity Verlet; no random numbers are drawn. With kT = 0 (and γ > 0) the O step is a pure
damping V <- a V and no random numbers are drawn either.

Random numbers: every replica of a batch ``(B, L, L)`` has its own ``torch.Generator`` (on
Q's device), seeded from the user seed by :func:`replica_seeds`, and draws its noise of shape
``(L, L)`` from it. Hence a batched run with ``seed=s`` equals, bit for bit, the B one-by-one
runs with ``seed=[replica_seeds(s, B)[b]]`` (a list is used as is, one seed per replica), and
replica 0 of a batch equals the unbatched run with the same integer ``seed``. The cost is one small ``randn`` call per replica and step.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
import os
import signal
import threading
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from .files import atomic_write
from .lattice import check_field
from .params import HolsteinParams

__all__ = ["State", "Trajectory", "BlowUpError", "SCHEMES", "replica_seeds", "matched_seeds", "run_seed", "hot_start", "init", "step",
           "run", "resume", "load_checkpoint", "state_fingerprint", "NOISE_STREAM", "HOT_START_STREAM"]

#: The integration schemes understood by :func:`step`.
SCHEMES = ("vv_ou", "baoab")
#: Fields a :class:`Trajectory` can record.
FIELDS = ("Q", "V", "F")
_CHECKPOINT_VERSION = 2
#: spawn-key streams of :func:`replica_seeds`: the dynamics noise and the hot start
NOISE_STREAM, HOT_START_STREAM = 0, 1

ForceFn = Callable[[torch.Tensor], torch.Tensor]
Seed = Union[int, Sequence[int]]


# ----------------------------------------------------------------------------- state
@dataclass(frozen=True)
class State:
    """Integrator state at one instant.

    Attributes:
        Q: displacements, ``(L, L)`` or ``(B, L, L)``.
        V: velocities dQ/dt, same shape as Q.
        F: force ``force_fn(Q)`` at Q, same shape as Q (kept so a step needs one evaluation).
        time: elapsed time in units of 1/t, always ``step · dt`` (never accumulated, so t = 25
            prints as 25.0, not 25.00000000000022).
        step: number of steps taken.
        rng: one ``torch.Generator`` per replica (length B, or 1 for an unbatched Q), on Q's
            device. :func:`step` and :func:`run` never advance the generators of their input.
    """

    Q: torch.Tensor
    V: torch.Tensor
    F: torch.Tensor
    time: float = 0.0
    step: int = 0
    rng: tuple = ()

    @property
    def batched(self) -> bool:
        return self.Q.dim() == 3

    @property
    def L(self) -> int:
        return int(self.Q.shape[-1])


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


def state_fingerprint(state: State) -> str:
    """sha256 of a state's step, Q, V and generator states: it identifies the start of a run
    (its configuration and, through the generators, its seeds) for checkpoint resumption."""
    h = hashlib.sha256(f"step={int(state.step)}|shape={tuple(state.Q.shape)}".encode())
    for t in (state.Q, state.V):
        h.update(t.detach().to("cpu", torch.float64).contiguous().numpy().tobytes())
    for g in state.rng:
        h.update(g.get_state().cpu().numpy().tobytes())
    return h.hexdigest()


# ----------------------------------------------------------------------------- seeds and rngs
def replica_seeds(seed: Seed, batch: Optional[int], stream: int = NOISE_STREAM) -> list[int]:
    """Per-replica generator seeds derived from ``seed``.

    ``seed`` an int: replica b gets a 63-bit seed from ``numpy.random.SeedSequence(seed,
    spawn_key=(stream, b))`` (independent of the batch size, so replica b of any batch is the
    same stream). ``seed`` a sequence: it is used as is (one seed per replica). ``batch`` None
    means an unbatched state: one seed (that of replica 0). ``stream`` separates independent
    uses of one user seed (:data:`NOISE_STREAM`, :data:`HOT_START_STREAM`).
    """
    n = 1 if batch is None else int(batch)
    if isinstance(seed, (bool, np.bool_)):
        raise ValueError(f"seed must be an int or a sequence of ints, got {seed!r}")
    if isinstance(seed, (int, np.integer)):
        if seed < 0:
            raise ValueError(f"seed must be >= 0, got {seed}")
        out = []
        for b in range(n):
            w = np.random.SeedSequence(int(seed), spawn_key=(int(stream), b)).generate_state(2, np.uint32)
            out.append((int(w[0]) << 31) ^ int(w[1]))  # < 2**63
        return out
    seeds = [int(s) for s in seed]
    if len(seeds) != n:
        raise ValueError(f"seed list has {len(seeds)} entries but the state has {n} replica(s)")
    return seeds


def matched_seeds(seeds: Sequence[int]) -> tuple[list[int], list[int]]:
    """(hot-start seeds, noise seeds) of a batch whose replica b equals the unbatched run with
    integer seed ``seeds[b]``: ``hot_start(..., seed=hot, batch=B)`` and ``init(..., seed=noise)``."""
    hot = [replica_seeds(s, None, stream=HOT_START_STREAM)[0] for s in seeds]
    noise = [replica_seeds(s, None, stream=NOISE_STREAM)[0] for s in seeds]
    return hot, noise


def run_seed(seed: int, r: int) -> int:
    """Integer seed of trajectory ``r`` of an ensemble with base seed ``seed``: 1000·seed + r + 1 (the
    rule of the datasets' ED quench runs, so an ML ensemble can repeat them with another force)."""
    return 1000 * int(seed) + int(r) + 1


def _generators(seeds: list[int], device) -> tuple:
    return tuple(torch.Generator(device=device).manual_seed(s) for s in seeds)


def _clone_generators(gens: tuple) -> tuple:
    out = []
    for g in gens:
        h = torch.Generator(device=g.device)
        h.set_state(g.get_state())
        out.append(h)
    return tuple(out)


def _noise(Q: torch.Tensor, gens: tuple) -> torch.Tensor:
    """ξ ~ N(0, 1) of Q's shape, replica b drawn from ``gens[b]`` as an (L, L) block."""
    shape = tuple(Q.shape[-2:])
    draws = [torch.randn(shape, generator=g, dtype=Q.dtype, device=Q.device) for g in gens]
    return draws[0] if Q.dim() == 2 else torch.stack(draws)


def hot_start(L: int, p: HolsteinParams, seed: Seed = 0, batch: Optional[int] = None,
              q_std: Optional[float] = None, v_std: Optional[float] = None, device=None,
              dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Random initial displacements and velocities, as in the reference code.

        Q_i ~ N(0, q_std²),  q_std = sqrt(5/κ) by default;
        V_i ~ N(0, v_std²),  v_std = sqrt(5/m) by default

    (the defaults are *standard deviations*). Returns ``(Q0, V0)`` of shape ``(L, L)``
    (``batch`` None) or ``(batch, L, L)``. Each replica draws Q then V from its own generator
    (seeded as in :func:`replica_seeds`, on a stream separate from the dynamics noise), so a
    batch equals the one-by-one draws.
    """
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2 or L % 2:
        raise ValueError(f"L must be an even integer >= 2, got {L!r}")
    if batch is not None and (isinstance(batch, bool) or int(batch) < 1):
        raise ValueError(f"batch must be None or a positive integer, got {batch!r}")
    if q_std is None:
        if p.kappa <= 0:
            raise ValueError(f"the default q_std = sqrt(5/kappa) needs kappa > 0 (got {p.kappa}); "
                             "pass q_std explicitly")
        q_std = math.sqrt(5.0 / p.kappa)
    if v_std is None:
        v_std = math.sqrt(5.0 / p.mass)
    if q_std < 0 or v_std < 0:
        raise ValueError(f"q_std and v_std must be >= 0, got {q_std}, {v_std}")
    device = torch.device("cpu") if device is None else torch.device(device)
    gens = _generators(replica_seeds(seed, batch, stream=HOT_START_STREAM), device)
    Qs, Vs = [], []
    for g in gens:
        Qs.append(q_std * torch.randn((L, L), generator=g, dtype=dtype, device=device))
        Vs.append(v_std * torch.randn((L, L), generator=g, dtype=dtype, device=device))
    if batch is None:
        return Qs[0], Vs[0]
    return torch.stack(Qs), torch.stack(Vs)


# ----------------------------------------------------------------------------- init / step
def _eval_force(force_fn: ForceFn, Q: torch.Tensor) -> torch.Tensor:
    F = force_fn(Q)
    if not isinstance(F, torch.Tensor) or F.shape != Q.shape:
        got = tuple(F.shape) if isinstance(F, torch.Tensor) else type(F).__name__
        raise ValueError(f"force_fn must return a tensor of Q's shape {tuple(Q.shape)}, got {got}")
    return F.detach()


def init(Q0: torch.Tensor, force_fn: ForceFn, p: HolsteinParams, V0: Optional[torch.Tensor] = None,
         seed: Seed = 0) -> State:
    """The state at time 0: ``State(Q0, V0, force_fn(Q0), time=0, step=0, rng)``.

    Args:
        Q0: ``(L, L)`` or ``(B, L, L)`` floating tensor (float64 recommended), any device.
        force_fn: ``Q -> F`` of Q's shape (returns a fresh tensor; it is detached here).
        p: parameters (only checked for type here).
        V0: initial velocities of Q0's shape; zeros by default.
        seed: int, or one int per replica (see :func:`replica_seeds`).
    """
    if not isinstance(p, HolsteinParams):
        raise ValueError(f"p must be a HolsteinParams, got {type(p).__name__}")
    if not isinstance(Q0, torch.Tensor) or not Q0.is_floating_point():
        raise ValueError("Q0 must be a floating-point torch tensor")
    check_field(Q0, "Q0")
    Q0 = Q0.detach()
    if V0 is None:
        V0 = torch.zeros_like(Q0)
    else:
        if not isinstance(V0, torch.Tensor) or V0.shape != Q0.shape:
            got = tuple(V0.shape) if isinstance(V0, torch.Tensor) else type(V0).__name__
            raise ValueError(f"V0 must have Q0's shape {tuple(Q0.shape)}, got {got}")
        if not bool(torch.isfinite(V0).all()):
            raise ValueError("V0 contains NaN or infinite values")
        V0 = V0.detach().to(dtype=Q0.dtype, device=Q0.device)
    batch = int(Q0.shape[0]) if Q0.dim() == 3 else None
    gens = _generators(replica_seeds(seed, batch), Q0.device)
    F0 = _eval_force(force_fn, Q0)
    if not bool(torch.isfinite(F0).all()):
        raise ValueError("force_fn returned NaN or infinite forces at the initial configuration Q0")
    return State(Q=Q0, V=V0, F=F0, time=0.0, step=0, rng=gens)


def _check_scheme(scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown scheme {scheme!r}; choose one of {SCHEMES}")


def _advance(state: State, force_fn: ForceFn, p: HolsteinParams, scheme: str, gens: tuple) -> State:
    """One step with the given generators (advanced in place); input tensors are not modified."""
    Q, V, F = state.Q, state.V, state.F
    h = 0.5 * p.dt / p.mass                     # half kick per unit force
    a = math.exp(-p.gamma * p.dt)               # OU decay
    b = math.sqrt((1.0 - a * a) * p.kT / p.mass)  # OU noise amplitude

    def ou(V):
        return a * V + b * _noise(V, gens) if b > 0 else a * V

    if p.gamma == 0.0 or scheme == "vv_ou":     # velocity Verlet (+ O unless γ = 0)
        V = V + h * F
        Q = Q + p.dt * V
        F = _eval_force(force_fn, Q)
        V = V + h * F
        if p.gamma != 0.0:
            V = ou(V)
    else:                                        # BAOAB
        V = V + h * F
        Q = Q + (0.5 * p.dt) * V
        V = ou(V)
        Q = Q + (0.5 * p.dt) * V
        F = _eval_force(force_fn, Q)
        V = V + h * F
    return State(Q=Q, V=V, F=F, time=(state.step + 1) * p.dt, step=state.step + 1, rng=gens)


def step(state: State, force_fn: ForceFn, p: HolsteinParams, scheme: str = "vv_ou") -> State:
    """Advance ``state`` by one time step p.dt with ``scheme`` ("vv_ou" or "baoab").

    Pure: returns a new State; the input's tensors and generators are left untouched (the
    generators are copied), so stepping the same state twice gives the same result. One call
    of ``force_fn``. See the module docstring for the equations.
    """
    _check_scheme(scheme)
    return _advance(state, force_fn, p, scheme, _clone_generators(state.rng))


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
        "state": {"Q": state.Q, "V": state.V, "F": state.F, "time": float(state.time),
                  "step": int(state.step), "rng": [g.get_state() for g in state.rng]},
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


def _state_from_checkpoint(ck: dict) -> State:
    s = ck["state"]
    gens = []
    for st in s["rng"]:
        g = torch.Generator(device=s["Q"].device)
        g.set_state(st.cpu())  # generator states are CPU byte tensors
        gens.append(g)
    return State(Q=s["Q"], V=s["V"], F=s["F"], time=float(s["time"]), step=int(s["step"]),
                 rng=tuple(gens))


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
    state = _state_from_checkpoint(ck)
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
