r"""What a quench keeps: every ``every`` steps (and the last) the :func:`compact_observables` of each
replica, with ``snapshots`` Q itself, and at ``phi_steps`` float16 maps of φ_i of the first
``phi_replicas`` replicas. :meth:`Recorder.result` stacks them into the arrays of a run's result:

* ``step (T,)`` int64; ``m, phi2, L, S_pipi (T, B)``; ``C (T, B, n_r)`` and ``S (T, B, n_k)`` float32;
  ``r (n_r,)``, ``k (n_k,)``, ``L_sys``;
* ``Q (T, B, L, L)`` (``(T, L, L)`` for an unbatched run) float64 with ``snapshots``;
* ``phi_step (K,)``, ``phi (K, b, L, L)`` float16.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import observables as obs

__all__ = ["Recorder", "compact_observables", "default_phi_steps", "PER_TIME"]

PER_TIME = ("m", "C", "phi2", "L", "S", "S_pipi")  # one row per recorded time, one column per replica
_FLOAT32 = ("C", "S")


def compact_observables(time, Q, L_sys: int | None = None, dr: float | None = 1.0, level: float = 0.5,
                        lattice: str = "square") -> dict:
    r"""Per-replica observables of a quench at every recorded time, O(B · L) numbers each, to keep
    instead of Q: ``(T, B, L, L)`` or ``(T, L, L)`` (B = 1, the axis kept). Numpy, float64:

    * ``m (T, B)`` — the CDW order (:func:`holstein.observables.cdw_order`);
    * ``r (n_r,)``, ``C (T, B, n_r)`` — C(r) = ⟨φ_i φ_{i+r}⟩/⟨φ²⟩ of each replica (shells of width
      ``dr``), and ``phi2 (T, B)`` = ⟨φ²⟩, the weight of the ensemble C (:func:`ensemble_correlation`);
    * ``L (T, B)`` — the first crossing C(L) = ``level``;
    * ``k (n_k,)``, ``S (T, B, n_k)`` — S(q) averaged over shells of |q - (π, π)| = k (width
      ``dr`` · 2π/L), and ``S_pipi (T, B)`` = S(π, π) = N m²;

    and ``time (T,)``, ``L_sys`` (checked against ``L_sys`` when given). ``lattice="honeycomb"``: Q
    ``(T, [B,] L, L, 2)``, the same quantities with :mod:`holstein.observables.honeycomb` (r and k in
    bond lengths; ``S_pipi`` is S at the ordering vector, k = 0 there).
    """
    if type(Q).__module__.startswith("torch"):
        Q = Q.detach().cpu().numpy()
    Q = np.asarray(Q, dtype=np.float64)
    if lattice == "honeycomb":
        return _honeycomb(np.asarray(time, dtype=np.float64).ravel(), Q if Q.ndim == 5 else Q[:, None], dr, level)
    if Q.ndim == 3:
        Q = Q[:, None]
    time = np.asarray(time, dtype=np.float64).ravel()
    if Q.ndim != 4 or Q.shape[0] != time.size:
        raise ValueError(f"Q must have shape (T, B, L, L) or (T, L, L) with T = len(time) = {time.size}, "
                         f"got {Q.shape}")
    L = Q.shape[-1]
    if L_sys is not None and int(L_sys) != L:
        raise ValueError(f"L_sys = {L_sys} but Q is {Q.shape[-2]}x{L}")
    T, B = Q.shape[:2]
    m, phi2, Lt, S_pipi = (np.empty((T, B)) for _ in range(4))
    C = S = None
    for i in range(T):
        q = Q[i]                                                    # (B, L, L)
        m[i] = obs.cdw_order(q)
        phi2[i] = (obs.local_cdw(q) ** 2).mean(axis=(-2, -1))
        r, Ci = obs.correlation(q, average_batch=False, dr=dr)      # (B, n_r)
        Lt[i] = [obs.domain_size(r, c, level=level) for c in Ci]
        Smap = obs.structure_factor(q)                              # (B, L, L), FFT order
        S_pipi[i] = Smap[:, L // 2, L // 2]
        k, Si = obs.radial_average(np.roll(Smap, (L // 2, L // 2), axis=(-2, -1)), dr=dr)  # (π, π) -> index 0
        C = np.empty((T, B, r.size)) if C is None else C
        S = np.empty((T, B, k.size)) if S is None else S
        C[i], S[i] = Ci, Si
    return dict(time=time, L_sys=np.int64(L), m=m, r=r, C=C, phi2=phi2, L=Lt, k=k * 2 * np.pi / L, S=S,
                S_pipi=S_pipi)


def _honeycomb(time, Q, dr, level) -> dict:
    """:func:`compact_observables` of honeycomb fields ``Q (T, B, L, L, 2)``."""
    from ..observables.honeycomb import structure_factor_radial

    r, C = obs.correlation(Q, average_batch=False, dr=dr, lattice="honeycomb")  # (T, B, n_r)
    k, S, S0 = structure_factor_radial(Q, dr=1.0 if dr is None else dr)
    return dict(time=time, L_sys=np.int64(Q.shape[-2]), m=obs.cdw_order(Q, "honeycomb"), r=r, C=C,
                phi2=(obs.local_cdw(Q, "honeycomb") ** 2).mean(axis=(-3, -2, -1)),
                L=np.array([[obs.domain_size(r, c, level=level) for c in row] for row in C]), k=k, S=S, S_pipi=S0)


def default_phi_steps(steps: int, every: int, n_log: int = 8, extra=(600, 20000)) -> list[int]:
    """``n_log`` log-spaced steps in [every, steps] plus ``extra`` (≤ steps; the reference work's Fig. 6b
    shows 600 and 20,000), rounded to multiples of ``every``."""
    if steps < every:
        return [0]
    chosen = [*np.geomspace(every, steps, n_log), *(s for s in extra if s <= steps)]
    return sorted({int(round(s / every)) * every for s in chosen})


@dataclass(frozen=True)
class Recorder:
    """What a run records (module docstring); ``phi_steps`` are rounded to recorded steps.
    :meth:`settings` is its part of a run's identity (``phi_steps`` only adds maps: not in it)."""

    every: int
    dr: float = 1.0
    phi_steps: tuple = ()
    phi_replicas: int = 2
    snapshots: bool = False
    lattice: str = "square"  # p.lattice: a honeycomb Q is (T, [B,] L, L, 2)

    def __post_init__(self):
        if isinstance(self.every, bool) or int(self.every) < 1:
            raise ValueError(f"every must be a positive integer, got {self.every!r}")
        object.__setattr__(self, "phi_steps", tuple(sorted({int(round(s / self.every)) * self.every
                                                            for s in self.phi_steps})))

    def settings(self, B: int) -> dict:
        out = dict(dr=float(self.dr), phi_replicas=min(int(self.phi_replicas), B))
        return dict(out, snapshots=True) if self.snapshots else out

    def keeps(self, step: int, last: int) -> bool:
        """Whether ``step`` is recorded in a run that ends at step ``last``."""
        return step % self.every == 0 or step == last

    @staticmethod
    def new() -> dict:
        return dict(step=[], parts=[], Q=[], phi_step=[], phi=[], wall_s=0.0)

    def observe(self, acc: dict, steps, Q, dt: float) -> None:
        """Append the snapshots ``Q (T, [B,] L, L)`` (numpy) at ``steps`` to the accumulator ``acc``."""
        if not len(steps):
            return
        Q = np.asarray(Q, dtype=np.float64)
        acc["parts"].append(compact_observables(np.asarray(steps) * dt, Q, dr=self.dr, lattice=self.lattice))
        unbatched = Q.ndim == (4 if self.lattice == "honeycomb" else 3)
        acc["step"].extend(int(s) for s in steps)
        if self.snapshots:
            acc["Q"].append(Q)
        b = min(int(self.phi_replicas), 1 if unbatched else Q.shape[1])
        for i, s in enumerate(steps):
            if int(s) in self.phi_steps and int(s) not in acc["phi_step"]:
                q = Q[i][None] if unbatched else Q[i][:b]
                acc["phi_step"].append(int(s))
                acc["phi"].append(obs.local_cdw(q, self.lattice).astype(np.float16))

    @staticmethod
    def result(acc: dict) -> dict:
        """The accumulated records as one dict of arrays along time (module docstring)."""
        parts = acc["parts"]
        out = {k: parts[0][k] for k in ("r", "k", "L_sys")}
        for k in PER_TIME:
            out[k] = np.concatenate([q[k] for q in parts], axis=0)
            if k in _FLOAT32:
                out[k] = out[k].astype(np.float32)
        out["step"] = np.asarray(acc["step"], dtype=np.int64)
        out["phi_step"] = np.asarray(acc["phi_step"], dtype=np.int64)
        out["phi"] = np.stack(acc["phi"]) if acc["phi"] else np.empty((0,), np.float16)
        if acc["Q"]:
            out["Q"] = np.concatenate(acc["Q"], axis=0)
        return out

    @staticmethod
    def reopen(res: dict) -> dict:
        """The inverse of :meth:`result`: an accumulator holding a finished run, to extend it."""
        part = {k: np.asarray(res[k]) for k in ("r", "k", "L_sys") + PER_TIME}
        return dict(step=[int(s) for s in res["step"]], parts=[part], Q=[np.asarray(res["Q"])] if "Q" in res else [],
                    phi_step=[int(s) for s in res["phi_step"]], phi=list(np.asarray(res["phi"])),
                    wall_s=float(res.get("wall_s", 0.0)))
