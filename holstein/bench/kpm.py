"""Accuracy and cost of the KPM densities (:mod:`holstein.kpm`) against ED; ``main`` writes
``holstein/artifacts/bench/kpm_accuracy.json``:

    OMP_NUM_THREADS=1 python -m holstein.bench.kpm --large-reference
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from .. import ed, kpm
from ..data import QUENCH, RANDOM, load, random_configurations
from ..files import check_writable, write_json
from ..params import HolsteinParams
from ..catalog import BENCHMARKS
from .timing import machine_record, measure, stopwatch

__all__ = ["quench_like", "kpm_accuracy", "time_forces", "main"]


def quench_like(L: int, p: HolsteinParams, walls: str = "random", noise: float = 0.3, seed: int = 0,
                width: float = 1.0) -> np.ndarray:
    """A checkerboard Q_i = Q0 (-1)^(x+y) tanh(φ(x, y)/w) + η_i with domain walls at φ = 0.

    Q0 is the self-consistent CDW amplitude at p.kT (:func:`holstein.ed.cdw_amplitude`),
    η_i ~ N(0, noise²), w = ``width`` (sites). ``walls``: "stripes" (two straight walls along y),
    "disc" (a circular domain of radius L/4) or "random" (the zero set of a smooth random field of
    wavelength ≳ L/3, i.e. curved walls as in a coarsening quench). Returns ``(L, L)`` float64.
    """
    rng = np.random.default_rng(seed)
    x, y = np.meshgrid(np.arange(L), np.arange(L), indexing="ij")
    if walls == "stripes":
        phi = L / (2 * np.pi) * np.cos(2 * np.pi * (x + 0.5) / L)
    elif walls == "disc":
        phi = np.hypot(x - (L - 1) / 2, y - (L - 1) / 2) - L / 4
    elif walls == "random":
        k = np.fft.fftfreq(L) * L  # integer wave numbers
        amp = rng.normal(size=(L, L)) + 1j * rng.normal(size=(L, L))
        amp *= (k[:, None] ** 2 + k[None, :] ** 2 <= 9) & (k[:, None] ** 2 + k[None, :] ** 2 > 0)
        phi = np.fft.ifft2(amp).real
        phi /= np.hypot(*np.gradient(phi)).mean()  # |∇φ| ~ 1: φ is roughly the distance to a wall
    else:
        raise ValueError(f"walls must be 'stripes', 'disc' or 'random', got {walls!r}")
    Q0 = ed.cdw_amplitude(p)
    return Q0 * (-1.0) ** (x + y) * np.tanh(phi / width) + noise * rng.normal(size=(L, L))


def kpm_accuracy(Q, p: HolsteinParams, n_ref=None, moments=(250, 500, 1000, 2000, 4000),
                 probe_distances=(4, 8), tols=(1e-3, 1e-4), label: str = "") -> dict:
    """max and RMS of n_KPM - n_ED over sites and configurations ``Q: (B, L, L)``, a row per probe
    distance and M in ``moments`` or automatic M of each ``tol``, with the KPM time per configuration;
    ``n_ref``: the ED densities (computed and timed here if None). Returns a JSON-able dict.
    """
    Q = torch.as_tensor(np.asarray(Q), dtype=torch.float64).reshape(-1, *np.shape(Q)[-2:])
    B, L = Q.shape[0], Q.shape[-1]
    out = dict(label=label, L=L, configs=B, params=p.to_dict(), g_max_abs_Q=float(p.g * Q.abs().max()),
               half_width_max=float(kpm.spectral_bounds(Q, p)[1].max()))
    if n_ref is None:
        with stopwatch() as sw:
            n_ref = torch.stack([ed.density(q, p) for q in Q])
        out["ed_seconds_per_config"] = sw.seconds / B
    n_ref = torch.as_tensor(np.asarray(n_ref), dtype=torch.float64).reshape(Q.shape)
    rows = []
    for pd in probe_distances:
        for M, tol in [(M, None) for M in moments] + [(None, tol) for tol in tols]:
            with stopwatch() as sw:
                sols = [kpm.solve(q, p, n_moments=M, probe_distance=pd, tol=tol or 1e-4) for q in Q]
            dt = sw.seconds / B
            err = torch.stack([s.n for s in sols]) - n_ref
            rows.append(dict(probe_distance=pd, probe_period=sols[0].probe_period, tol=tol,
                             n_moments=max(s.n_moments for s in sols), max_error=float(err.abs().max()),
                             rms_error=float(err.pow(2).mean().sqrt()), kpm_seconds_per_config=dt))
    out["rows"] = rows
    return out


def time_forces(Q, p: HolsteinParams, repeats: int = 3, label: str = "", **kw) -> dict:
    """Median wall time of one ``kpm.forces(Q, p, **kw)`` (after one warm-up call)."""
    Q = torch.as_tensor(np.asarray(Q), dtype=torch.float64)
    sol = kpm.solve(Q, p, **kw)  # also the warm-up call
    seconds = measure(lambda: kpm.forces(Q, p, **kw), repeats, warmup=False)["t_s"]
    return dict(label=label, L=Q.shape[-1], n_moments=sol.n_moments, probe_period=sol.probe_period,
                seconds=seconds, repeats=repeats, **kw)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(BENCHMARKS / "kpm_accuracy.json"))
    ap.add_argument("--data", default=str(Path(__file__).parents[1] / "artifacts/data/ed_L24_book.npz"))
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--L-large", type=int, default=200)
    ap.add_argument("--large-reference", action="store_true",
                    help="also compare the L-large result against probe distance 10, tol 1e-6")
    args = ap.parse_args(argv)
    check_writable(args.out)
    torch.set_num_threads(args.threads)
    with machine_record() as machine:  # loadavg_after is filled when the measurements end
        d = load(args.data)
        p = d.params
        test = d.split()[1]
        command = "python -m holstein.bench.kpm " + " ".join(sys.argv[1:] if argv is None else argv)
        results = dict(command=command, machine=machine, params=p.to_dict(), accuracy=[])
        for kind, name in [(QUENCH, "quench"), (RANDOM, "hot random")]:
            idx = [i for i in test if d.kind[i] == kind]
            span = f", t = {d.time[idx].min():.0f}..{d.time[idx].max():.0f}" if kind == QUENCH else ""
            results["accuracy"].append(kpm_accuracy(d.Q[idx], p, d.n[idx], probe_distances=(4, 8, 12),
                                                    label=f"L={d.L} {name} (held-out ED snapshots{span})"))
            print(json.dumps(results["accuracy"][-1]["rows"][-1]), flush=True)
        results["accuracy"].append(kpm_accuracy(random_configurations(40, p, 4, seed=7), p,
                                                label="L=40 hot random Q ~ N(0, sqrt(5/kappa))"))
        Q40 = np.stack([quench_like(40, p, w, seed=s) for s, w in enumerate(["stripes", "disc", "random", "random"])])
        results["accuracy"].append(kpm_accuracy(Q40, p, label="L=40 quench-like: checkerboard, domain walls "
                                                "(stripes, disc, 2x random), noise 0.3"))
        QL = quench_like(args.L_large, p, "random", seed=11)
        results["timing"] = [
            time_forces(QL, p, label="quench-like (random walls), moments stored: one pass", probe_distance=8,
                        tol=1e-3),
            time_forces(QL, p, label="same, max_memory=0: trace pass + density pass", probe_distance=8, tol=1e-3,
                        max_memory=0)]
        if args.large_reference:
            a = kpm.density(QL, p, probe_distance=8, tol=1e-3)
            b = kpm.density(QL, p, probe_distance=10, tol=1e-6)
            results["large_self_consistency"] = dict(L=args.L_large, compare="p=8,tol=1e-3 vs p=10,tol=1e-6",
                                                     max_diff=float((a - b).abs().max()),
                                                     rms_diff=float((a - b).pow(2).mean().sqrt()))
    write_json(results, args.out, indent=2)
    return results


if __name__ == "__main__":
    main()
