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

import hashlib
import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from ..lattice import get as get_lattice
from ..params import HolsteinParams

__all__ = ["State", "SCHEMES", "replica_seeds", "matched_seeds", "run_seed", "hot_start", "init", "step",
           "NOISE_STREAM", "HOT_START_STREAM"]

#: The integration schemes understood by :func:`step`.
SCHEMES = ("vv_ou", "baoab")
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
        lattice: ``p.lattice`` of :func:`init`; a honeycomb Q is ``(L, L, 2)`` or ``(B, L, L, 2)``.
    """

    Q: torch.Tensor
    V: torch.Tensor
    F: torch.Tensor
    time: float = 0.0
    step: int = 0
    rng: tuple = ()
    lattice: str = "square"

    @property
    def batched(self) -> bool:
        return self.Q.dim() > len(get_lattice(self.lattice).site_axes)

    @property
    def L(self) -> int:
        return int(self.Q.shape[get_lattice(self.lattice).site_axes[0]])

    def to_dict(self) -> dict:
        """The state as tensors and numbers (generator states as CPU byte tensors), for ``torch.save``."""
        d = {"Q": self.Q, "V": self.V, "F": self.F, "time": float(self.time), "step": int(self.step),
             "rng": [g.get_state() for g in self.rng]}
        return d if self.lattice == "square" else {**d, "lattice": self.lattice}

    @classmethod
    def from_dict(cls, d: dict, device=None) -> "State":
        """The inverse of :meth:`to_dict` (tensors moved to ``device`` if given); the generators
        continue exactly where the saved ones stopped. A state saved on another kind of device
        (CPU Mersenne twister vs CUDA Philox: their states differ in size) cannot continue that
        stream: each generator is then seeded from a hash of its saved state (deterministic, so a
        resumed run is still reproducible), with a warning."""
        Q, V, F = (d[k] if device is None else d[k].to(device) for k in ("Q", "V", "F"))
        gens, moved = [], False
        for st in d["rng"]:
            g, st = torch.Generator(device=Q.device), st.cpu()
            if st.numel() == g.get_state().numel():
                g.set_state(st)
            else:
                digest = hashlib.sha256(st.numpy().tobytes()).digest()
                g.manual_seed(int.from_bytes(digest[:8], "little") >> 1)
                moved = True
            gens.append(g)
        if moved:
            warnings.warn(f"the state's noise generators were saved on another kind of device than "
                          f"{Q.device.type}: the noise goes on from new streams seeded by their saved "
                          "states (reproducible, not the stream the run would have drawn there)",
                          stacklevel=2)
        return cls(Q=Q, V=V, F=F, time=float(d["time"]), step=int(d["step"]), rng=tuple(gens),
                   lattice=d.get("lattice", "square"))


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


def _noise(Q: torch.Tensor, gens: tuple, site_dims: int = 2) -> torch.Tensor:
    """ξ ~ N(0, 1) of Q's shape, replica b drawn from ``gens[b]`` as one field block (``site_dims`` axes)."""
    shape = tuple(Q.shape[-site_dims:])
    draws = [torch.randn(shape, generator=g, dtype=Q.dtype, device=Q.device) for g in gens]
    return draws[0] if Q.dim() == site_dims else torch.stack(draws)


def hot_start(L: int, p: HolsteinParams, seed: Seed = 0, batch: Optional[int] = None,
              q_std: Optional[float] = None, v_std: Optional[float] = None, device=None,
              dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Random initial displacements and velocities, as in the reference code.

        Q_i ~ N(0, q_std²),  q_std = sqrt(5/κ) by default;
        V_i ~ N(0, v_std²),  v_std = sqrt(5/m) by default

    (the defaults are *standard deviations*). Returns ``(Q0, V0)`` of shape ``(L, L)``
    (``batch`` None) or ``(batch, L, L)``; ``(L, L, 2)``, ``(batch, L, L, 2)`` on the honeycomb
    (``p.lattice``). Each replica draws Q then V from its own generator (seeded as in
    :func:`replica_seeds`, on a stream separate from the dynamics noise), so a batch equals the
    one-by-one draws.
    """
    even = p.lattice == "square"  # the checkerboard needs an even L; the honeycomb's sublattices do not
    if isinstance(L, bool) or not isinstance(L, (int, np.integer)) or L < 2 or (even and L % 2):
        raise ValueError(f"L must be an {'even ' if even else ''}integer >= 2, got {L!r}")
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
        shape = get_lattice(p.lattice).field_shape(L)
        Qs.append(q_std * torch.randn(shape, generator=g, dtype=dtype, device=device))
        Vs.append(v_std * torch.randn(shape, generator=g, dtype=dtype, device=device))
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
    get_lattice(p.lattice).check_field(Q0, "Q0")
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
    batch = int(Q0.shape[0]) if Q0.dim() > len(get_lattice(p.lattice).site_axes) else None
    gens = _generators(replica_seeds(seed, batch), Q0.device)
    F0 = _eval_force(force_fn, Q0)
    if not bool(torch.isfinite(F0).all()):
        raise ValueError("force_fn returned NaN or infinite forces at the initial configuration Q0")
    return State(Q=Q0, V=V0, F=F0, time=0.0, step=0, rng=gens, lattice=p.lattice)


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
        return a * V + b * _noise(V, gens, len(get_lattice(p.lattice).site_axes)) if b > 0 else a * V

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
    return State(Q=Q, V=V, F=F, time=(state.step + 1) * p.dt, step=state.step + 1, rng=gens, lattice=state.lattice)


def step(state: State, force_fn: ForceFn, p: HolsteinParams, scheme: str = "vv_ou") -> State:
    """Advance ``state`` by one time step p.dt with ``scheme`` ("vv_ou" or "baoab").

    Pure: returns a new State; the input's tensors and generators are left untouched (the
    generators are copied), so stepping the same state twice gives the same result. One call
    of ``force_fn``. See the module docstring for the equations.
    """
    _check_scheme(scheme)
    return _advance(state, force_fn, p, scheme, _clone_generators(state.rng))
