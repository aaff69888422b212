r"""The large coarsening experiment (the reference work's Sec. VI): long batched quenches that keep
compact observables instead of snapshots, resumable and extendable, and their analysis.

One *run* is B replicas at one bath temperature kT, integrated together as a ``(B, L, L)`` batch
from the reference hot start (replica b is bit for bit the unbatched quench of integer seed
``seeds[b]``, :func:`holstein.dynamics.matched_seeds`). Every ``every`` steps it records, per
replica, the :func:`holstein.coarsening.compact_observables` of that instant (m, C(r), ⟨φ²⟩, L,
S(k) around (π, π), S(π, π)); at the chosen ``phi_steps`` it keeps float16 maps of the local
order φ_i of the first ``phi_replicas`` replicas. Files, for ``path = <out>/kT<kT>``:

* ``<path>.npz`` — the result: the identity (JSON), the command, ``step (T,)``, ``time (T,)`` and
  the compact observables (C and S in float32), ``phi_step (K,)``, ``phi (K, b, L, L)`` float16,
  the wall time;
* ``<path>.state.pt`` — the final Q, V and generator states, so that the run can be *extended*
  to more steps (F is recomputed from Q: the extension equals the longer run up to the rounding of
  that one force evaluation, bit for bit where the force is deterministic);
* ``<path>.ckpt`` — while running, every ``checkpoint_every`` steps: the full state and the
  observables so far; a rerun resumes from it bit for bit.

:func:`merge` joins the replicas of runs with disjoint seeds. :func:`analyse` turns results into α(T) with a jackknife over replicas, the window, L(t)'s growth
factor inside it, the window's sensitivity and a collapse measure (:func:`collapse_spread`).

Arrays are numpy; lengths in lattice spacings, time in 1/t, time = step · dt.
"""
from __future__ import annotations

import json
import time as _time
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch

from . import coarsening, dynamics
from . import observables as obs
from .files import atomic_write
from .params import PAPER, HolsteinParams

__all__ = ["default_phi_steps", "run_path", "run", "load", "merge", "collapse_spread", "analyse",
           "paired_differences", "paired_test"]

_FORMAT = 1
_PER_TIME = ("m", "C", "phi2", "L", "S", "S_pipi")  # the compact observables, one row per recorded time
_FLOAT32 = ("C", "S")


def default_phi_steps(steps: int, every: int, n_log: int = 8, extra: Sequence[int] = (600, 20000)) -> list[int]:
    """``n_log`` log-spaced recorded steps in [every, steps] plus ``extra`` (the reference work's
    Fig. 6b shows steps 600 and 20,000) where ≤ steps, rounded to multiples of ``every``."""
    if steps < every:
        return [0]
    raw = np.geomspace(every, steps, n_log)
    out = {int(round(s / every)) * every for s in raw} | {int(round(s / every)) * every for s in extra if s <= steps}
    return sorted(out)


def run_path(out, kT: float, suffix: str = "") -> Path:
    """``<out>/kT<kT><suffix>``: a run's result (``".npz"``), final state (``".state.pt"``) or
    checkpoint (``".ckpt"``). Built here, not with ``Path.with_suffix``, which reads the ".1" of
    "kT0.1" as a suffix and would name every temperature "kT0.npz"."""
    return Path(out) / f"kT{float(kT):g}{suffix}"


def _identity(force_id, L, kT, seeds, every, scheme, p, dr, phi_replicas) -> dict:
    return dict(format=_FORMAT, force=str(force_id), L=int(L), kT=float(kT), seeds=[int(s) for s in seeds],
                every=int(every), scheme=scheme, params=p.replace(kT=float(kT)).to_dict(), dr=float(dr),
                phi_replicas=int(phi_replicas))


def _check_args(L, steps, every, checkpoint_every, seeds):
    if L < 2 or L % 2:
        raise ValueError(f"L must be even and >= 2, got {L}")
    if every < 1 or steps < 0 or steps % every:
        raise ValueError(f"steps ({steps}) must be a non-negative multiple of every ({every} >= 1)")
    if checkpoint_every < every or checkpoint_every % every:
        raise ValueError(f"checkpoint_every ({checkpoint_every}) must be a positive multiple of every ({every})")
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"need distinct seeds, got {list(seeds)}")


def _observe(acc: dict, steps, Q, L: int, dt: float, dr: float, phi_steps, phi_replicas: int) -> None:
    """Append the compact observables of the snapshots ``Q (T, B, L, L)`` at ``steps`` to ``acc``."""
    comp = coarsening.compact_observables(np.asarray(steps) * dt, Q, L, dr=dr)
    acc["step"].extend(int(s) for s in steps)
    acc["parts"].append(comp)
    for i, s in enumerate(steps):
        if int(s) in phi_steps and int(s) not in acc["phi_step"]:
            acc["phi_step"].append(int(s))
            acc["phi"].append(obs.local_cdw(Q[i][:phi_replicas]).astype(np.float16))


def _stacked(acc: dict) -> dict:
    """The accumulated observables as one dict of arrays along time."""
    parts = acc["parts"]
    out = {k: parts[0][k] for k in ("r", "k", "L_sys")}
    for k in _PER_TIME:
        out[k] = np.concatenate([q[k] for q in parts], axis=0)
        if k in _FLOAT32:
            out[k] = out[k].astype(np.float32)
    out["step"] = np.asarray(acc["step"], dtype=np.int64)
    out["phi_step"] = np.asarray(acc["phi_step"], dtype=np.int64)
    out["phi"] = np.stack(acc["phi"]) if acc["phi"] else np.empty((0,), np.float16)
    return out


def _unstacked(comp: dict) -> dict:
    """The inverse of :func:`_stacked` (one part), to extend a finished run."""
    part = {k: np.asarray(comp[k]) for k in ("r", "k", "L_sys") + _PER_TIME}
    return dict(step=[int(s) for s in comp["step"]], parts=[part], phi_step=[int(s) for s in comp["phi_step"]],
                phi=list(np.asarray(comp["phi"])), wall_s=float(comp.get("wall_s", 0.0)))


def _save_ckpt(path: Path, state, ident: dict, acc: dict) -> None:
    payload = dict(identity=json.dumps(ident, sort_keys=True), state=state.to_dict(), acc=acc)
    atomic_write(path, lambda fh: torch.save(payload, fh))


def load(path) -> tuple[dict, dict]:
    """(identity, result arrays) of a run's ``.npz`` (``path`` with or without the suffix)."""
    path = Path(path)
    path = path if path.suffix == ".npz" else path.with_name(path.name + ".npz")
    with np.load(path) as z:
        res = {k: z[k] for k in z.files if k not in ("identity", "command")}
        ident = json.loads(str(z["identity"]))
        res["command"] = str(z["command"])
    res["time"] = res["step"] * ident["params"]["dt"]
    return ident, res


def run(force_fn: Callable, force_id: str, L: int, steps: int, every: int, kT: float, seeds: Sequence[int],
        out, p: HolsteinParams = PAPER, scheme: str = "vv_ou", dr: float = 1.0, phi_steps=None,
        phi_replicas: int = 2, checkpoint_every: int | None = None, device: str = "cpu", progress: bool = True,
        command: str = "") -> tuple[dict, dict]:
    """Run (or resume, or extend to ``steps``) the quench of ``seeds`` at ``kT``; write its files
    under ``out`` (see the module docstring) and return :func:`load` of the result.

    A finished run of the same identity (force, L, kT, seeds, every, scheme, parameters, dr,
    phi_replicas) with fewer steps is extended from its final state; one with as many or more
    steps is returned as it is. A checkpoint or result of another identity is refused (ValueError).
    ``phi_steps`` default: :func:`default_phi_steps`; they are rounded to recorded steps.
    ``checkpoint_every`` default: the largest multiple of ``every`` up to 1000 (at least ``every``).
    """
    seeds = [int(s) for s in seeds]
    checkpoint_every = every * max(1, 1000 // every) if checkpoint_every is None else int(checkpoint_every)
    _check_args(L, steps, every, checkpoint_every, seeds)
    pk = p.replace(kT=float(kT))
    B, phi_replicas = len(seeds), min(int(phi_replicas), len(seeds))
    ident = _identity(force_id, L, kT, seeds, every, scheme, p, dr, phi_replicas)
    phi_steps = set(default_phi_steps(steps, every) if phi_steps is None
                    else (int(round(s / every)) * every for s in phi_steps))
    res_path, state_path, ckpt = (run_path(out, kT, s) for s in (".npz", ".state.pt", ".ckpt"))
    res_path.parent.mkdir(parents=True, exist_ok=True)

    def same(other: str, where) -> None:
        if json.loads(other) != ident:
            raise ValueError(f"{where} belongs to another run ({other}); here {json.dumps(ident, sort_keys=True)}; "
                             "move it away or choose another --out")

    if ckpt.exists():
        ck = torch.load(ckpt, weights_only=False)  # our own file: it holds numpy arrays
        same(ck["identity"], ckpt)
        state, acc = dynamics.State.from_dict(ck["state"], device=device), ck["acc"]
    elif res_path.exists():
        old_ident, res = load(res_path)
        same(json.dumps(old_ident), res_path)
        if int(res["step"][-1]) >= steps:
            return old_ident, res
        saved = torch.load(state_path, weights_only=True)
        Q = saved["Q"].to(device)
        state = dynamics.State.from_dict(dict(saved, F=force_fn(Q).to(Q.dtype)), device=device)
        acc = _unstacked(res)
    else:
        hot, noise = dynamics.matched_seeds(seeds)
        Q0, V0 = dynamics.hot_start(L, pk, seed=hot, batch=B, device=device)
        state = dynamics.init(Q0, force_fn, pk, V0=V0, seed=noise)
        acc = dict(step=[], parts=[], phi_step=[], phi=[], wall_s=0.0)
        _observe(acc, [0], state.Q.detach().cpu().numpy()[None], L, pk.dt, dr, phi_steps, phi_replicas)
    from tqdm.auto import tqdm

    t0 = _time.perf_counter() - acc["wall_s"]
    with tqdm(total=steps, initial=state.step, disable=not progress, unit="step",
              desc=f"coarsen L={L} kT={kT:g} B={B}") as bar:
        while state.step < steps:
            n = min(checkpoint_every - state.step % checkpoint_every, steps - state.step)
            state, traj = dynamics.run(state, force_fn, pk, n_steps=n, record_every=every, scheme=scheme,
                                       progress=False, force_id=force_id)
            _observe(acc, traj.step[1:].tolist(), traj.Q[1:].numpy(), L, pk.dt, dr, phi_steps, phi_replicas)
            acc["wall_s"] = _time.perf_counter() - t0
            _save_ckpt(ckpt, state, ident, acc)
            last = acc["parts"][-1]
            bar.set_postfix(t=f"{state.time:.4g}", m=f"{last['m'][-1].mean():.3g}",
                            L=f"{np.nanmean(last['L'][-1]):.3g}", refresh=False)
            bar.update(n)
    res = _stacked(acc)
    res.update(wall_s=np.float64(acc["wall_s"]))
    atomic_write(state_path, lambda fh: torch.save(dict(Q=state.Q.cpu(), V=state.V.cpu(), time=state.time,
                                                        step=state.step, rng=state.to_dict()["rng"]), fh))
    _save_result(res_path, ident, command, res)
    ckpt.unlink(missing_ok=True)
    return load(res_path)


def _save_result(path: Path, ident: dict, command: str, res: dict) -> None:
    atomic_write(path, lambda fh: np.savez_compressed(fh, identity=np.array(json.dumps(ident, sort_keys=True)),
                                                     command=np.array(command), **res))


def merge(runs: Sequence[tuple], path=None, command: str = "") -> tuple[dict, dict]:
    """One run of the replicas of several: ``runs`` are :func:`load` results ``(identity, result)``
    of the same force, L, kT, every, scheme, parameters and dr with disjoint seeds (e.g. ``coarsen
    --seed 0 --replicas 16`` and ``--seed 16 --replicas 9``: replica b of a batch is the unbatched
    quench of its seed, so the merge is the 25-replica run). The per-time observables are
    concatenated along the replica axis over the steps every run recorded; the φ maps are the first
    run's; ``wall_s`` is the sum; ``part_commands`` keeps each run's command. Written to ``path``
    (an ``.npz``, no ``.state.pt``: a merged run is not extendable) when given.
    """
    if len(runs) < 2:
        raise ValueError(f"merge needs at least two runs, got {len(runs)}")
    (i0, r0), same = runs[0], ("format", "force", "L", "kT", "every", "scheme", "params", "dr")
    for ident, _ in runs[1:]:
        diff = [k for k in same if ident.get(k) != i0.get(k)]
        if diff:
            raise ValueError(f"runs differ in {', '.join(diff)} ({[ident.get(k) for k in diff]} against "
                             f"{[i0.get(k) for k in diff]}); only runs of one experiment merge")
    seeds = [s for ident, _ in runs for s in ident["seeds"]]
    if len(set(seeds)) != len(seeds):
        raise ValueError(f"runs share seeds ({sorted(s for s in set(seeds) if seeds.count(s) > 1)}): a replica "
                         "would count twice")
    steps = runs[0][1]["step"]
    for _, res in runs[1:]:
        steps = np.intersect1d(steps, res["step"])
    if steps.size == 0:
        raise ValueError("the runs have no recorded step in common")
    pick = [np.searchsorted(res["step"], steps) for _, res in runs]
    out = {k: r0[k] for k in ("r", "k", "L_sys", "phi_step", "phi")}
    for k in _PER_TIME:
        out[k] = np.concatenate([np.asarray(res[k])[ix] for (_, res), ix in zip(runs, pick)], axis=1)
    out.update(step=steps.astype(np.int64), wall_s=np.float64(sum(float(res["wall_s"]) for _, res in runs)),
               part_commands=np.array([str(res["command"]) for _, res in runs]))
    ident = dict(i0, seeds=seeds)
    if path is not None:
        _save_result(Path(path), ident, command, out)
        return load(path)
    out.update(command=command, time=steps * i0["params"]["dt"])
    return ident, out


# ----------------------------------------------------------------------------- analysis
def collapse_spread(r, C, Lt, x_max: float = 1.5, n_x: int = 61) -> float:
    r"""How well the curves C(r, t_k) collapse onto one f(r / L(t_k)): the rms over x = r/L ∈
    [0, ``x_max``] of the standard deviation across the K times of C_k(x L_k) (linear
    interpolation), in units of C(0) = 1. 0 for perfect dynamical scaling.

    r: ``(n_r,)``; C: ``(K, n_r)``; Lt: ``(K,)`` finite and > 0. Only x reached by every curve is used.
    """
    r, C, Lt = np.asarray(r, float), np.atleast_2d(np.asarray(C, float)), np.asarray(Lt, float).ravel()
    if C.shape != (Lt.size, r.size) or Lt.size < 2:
        raise ValueError(f"need C of shape (K >= 2, {r.size}) and K domain sizes, got {C.shape} and {Lt.size}")
    if not np.all(np.isfinite(Lt) & (Lt > 0)):
        raise ValueError(f"every domain size must be finite and > 0, got {Lt}")
    x = np.linspace(0.0, min(x_max, float(np.min(r.max() / Lt))), n_x)
    curves = np.stack([np.interp(x * Lk, r, Ck) for Ck, Lk in zip(C, Lt)])
    return float(np.sqrt(np.mean(np.var(curves, axis=0))))


def analyse(results: dict, t_min: float | None = None, t_max: float | None = None, n_collapse: int = 6) -> dict:
    """α(T) and dynamical scaling from runs ``{kT: result}`` (:func:`load`'s arrays).

    Per kT: α, its errors (least squares; jackknife over replicas) in the window [t_min, t_max]
    (default :func:`holstein.coarsening.default_window`: from a tenth of the run to L = box/4),
    ``growth_factor`` = L(t_max)/L(t_min) inside it (a power law needs ≥ 2), ``alpha_window`` —
    α for the window's start halved and doubled and its end at 1/2 and 3/4 of it (the sensitivity),
    and ``collapse`` — :func:`collapse_spread` of the ensemble C at ``n_collapse`` log-spaced times
    of the window. Returns ``{kT: dict}`` of plain numbers (JSON-ready).
    """
    out = {}
    for kT, res in sorted(results.items()):
        fit = coarsening.growth_exponent_compact(res, t_min=t_min, t_max=t_max)
        g, lo, hi = fit["growth"], fit["t_min"], fit["t_max"]
        inside = np.flatnonzero((g["time"] >= lo) & (g["time"] <= hi) & np.isfinite(g["L"]))
        row = dict(alpha=fit["alpha"], alpha_err=fit["alpha_err"], alpha_err_fit=fit["alpha_err_fit"],
                   alpha_err_jackknife=fit["alpha_err_jackknife"], t_min=lo, t_max=hi, n_points=fit["n_points"],
                   n_replicas=int(np.shape(res["C"])[1]), growth_factor=float("nan"), alpha_window={},
                   collapse=float("nan"), L_final=float(g["L"][-1]))
        if inside.size >= 2:
            row["growth_factor"] = float(g["L"][inside[-1]] / g["L"][inside[0]])
            for name, (a, b) in dict(start_half=(lo / 2, hi), start_double=(2 * lo, hi), end_half=(lo, lo + (hi - lo) / 2),
                                     end_three_quarters=(lo, lo + 3 * (hi - lo) / 4)).items():
                row["alpha_window"][name] = coarsening.growth_exponent_compact(res, t_min=a, t_max=b)["alpha"]
            pick = np.unique(np.round(np.geomspace(inside[0] + 1, inside[-1] + 1, n_collapse)).astype(int) - 1)
            if pick.size >= 2:
                row["collapse"] = collapse_spread(g["r"], g["C"][pick], g["L"][pick])
        out[float(kT)] = row
    return out


def paired_differences(a: tuple, b: tuple, steps=None) -> dict:
    r"""Replica-by-replica differences a − b of two runs that share hot starts and noise.

    ``a``, ``b``: :func:`load` results ``(identity, result)`` with the same seeds, L and every (for
    example an ML and the ED run of ``coarsen --seed S --replicas B``); ``steps``: the recorded
    steps to compare (default all common ones). Because replica k of both runs starts from the
    same configuration and feels the same noise, the differences
    ΔC_k(r, t) = C_a,k(r, t) − C_b,k(r, t) (C normalised per replica, C(0) = 1), Δm_k(t) and
    ΔL_k(t) are far less noisy than a difference of ensemble means. Returns
    ``dict(step (T,), r (n_r,), n, dC, dC_se (T, n_r), dm, dm_se, dL, dL_se (T,))``: the means
    over the n replicas and their standard errors σ/√n.
    """
    (ia, ra), (ib, rb) = a, b
    for key in ("seeds", "L", "every"):
        if ia[key] != ib[key]:
            raise ValueError(f"the runs are not paired: {key} differ ({ia[key]} and {ib[key]})")
    common = np.intersect1d(ra["step"], rb["step"]) if steps is None else np.asarray(steps, dtype=np.int64)
    ka, kb = (np.searchsorted(r["step"], common) for r in (ra, rb))
    if not (np.array_equal(ra["step"][ka], common) and np.array_equal(rb["step"][kb], common)):
        raise ValueError(f"steps {common} are not recorded in both runs")
    n = len(ia["seeds"])
    out = dict(step=common, r=np.asarray(ra["r"]), n=n)
    for name, key in (("dC", "C"), ("dm", "m"), ("dL", "L")):
        d = np.asarray(ra[key], float)[ka] - np.asarray(rb[key], float)[kb]       # (T, n, ...)
        out[name] = d.mean(axis=1)
        out[name + "_se"] = d.std(axis=1, ddof=1) / np.sqrt(n) if n > 1 else np.full_like(out[name], np.nan)
    return out


def paired_test(d: dict, steps, r_max: float = 6.0, z: float = 2.0, tol: float = 0.01) -> list[dict]:
    r"""The reference work's Fig. 6(a) test on :func:`paired_differences` ``d``: at each of ``steps``,
    is ΔC(r) consistent with zero at every r ≤ ``r_max``, i.e. \|ΔC\| ≤ z·SE, and is the test sharp
    enough, z·SE ≤ ``tol`` (in units of C(0))? One row per step: ``step``, ``max_dC`` (max \|ΔC\|),
    ``max_zse`` (max z·SE), ``worst`` (max \|ΔC\|/(z·SE); ≤ 1 is consistent; r = 0, where C ≡ 1 and
    SE = 0, counts only if ΔC ≠ 0), ``consistent``, ``sharp``, ``replicas_for_tol`` (the replicas a
    sharp test would need, n·(max z·SE / tol)², as SE ∝ 1/√n), and Δm, ΔL with their z·SE (JSON-ready)."""
    rows = []
    near = np.asarray(d["r"]) <= r_max
    for s in steps:
        k = np.flatnonzero(np.asarray(d["step"]) == int(s))
        if k.size != 1:
            raise ValueError(f"step {s} is not among the compared steps {list(d['step'])}")
        k = int(k[0])
        dC, zse = np.abs(d["dC"][k][near]), z * d["dC_se"][k][near]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(zse > 0, dC / zse, np.where(dC > 0, np.inf, 0.0))
        rows.append(dict(step=int(s), max_dC=float(dC.max()), max_zse=float(zse.max()), worst=float(ratio.max()),
                         consistent=bool(np.all(dC <= zse)), sharp=bool(zse.max() <= tol),
                         replicas_for_tol=int(np.ceil(d["n"] * (zse.max() / tol) ** 2)),
                         dm=float(d["dm"][k]), dm_zse=float(z * d["dm_se"][k]),
                         dL=float(d["dL"][k]), dL_zse=float(z * d["dL_se"][k])))
    return rows
