"""Benchmarks that write JSON (never timed asserts).

``bench_ed``: the cost of one ED force evaluation against a bare ``torch.linalg.eigh`` of the
same N×N matrix, for several L. The ED force is one eigh plus O(N²) work (μ bisection,
densities), so the ratio should approach 1 as L grows; target ≤ 1.2 at L = 40.

``bench_models``: the cost of one force evaluation of ML models (and of ED) against L, with
:func:`model_flops_per_site` (analytic multiply-adds per site) and :func:`cost_exponent`
(the slope of log t against log N: 3 for ED's eigh, 1 for a local model at large N).
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import ed
from .params import PAPER, HolsteinParams

__all__ = ["machine_info", "median_time", "bench_ed", "write_json", "model_flops_per_site", "bench_models",
           "cost_exponent"]


def machine_info(device: str = "cpu") -> dict:
    info = dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpu_count=os.cpu_count(), torch=torch.__version__, threads=torch.get_num_threads(), device=device)
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def median_time(fn, repeats: int = 5, warmup: int = 1, device: str = "cpu") -> float:
    """Median wall time of ``fn()`` in seconds over ``repeats`` calls after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench_ed(Ls=(12, 16, 24, 32, 40, 48), p: HolsteinParams = PAPER, repeats: int = 5, device: str = "cpu",
             seed: int = 0, progress: bool = True) -> dict:
    """Time ``ed.forces`` and a bare eigh of the same Hamiltonian for each L; return a JSON-able dict."""
    rows = []
    for L in tqdm(Ls, desc="bench ED", disable=not progress):
        g = torch.Generator().manual_seed(seed)
        Q = torch.randn(L, L, generator=g, dtype=torch.float64).to(device)
        H = ed.hamiltonian(Q, p)
        # interleave the two measurements and keep the fastest of each, so that load from other
        # processes on a shared machine (which only ever adds time) affects both alike
        t_eigh, t_ed = [], []
        for _ in range(repeats):
            t_eigh.append(median_time(lambda: torch.linalg.eigh(H), 1, warmup=0 if t_eigh else 1, device=device))
            t_ed.append(median_time(lambda: ed.forces(Q, p), 1, warmup=0 if t_ed else 1, device=device))
        rows.append(dict(L=L, N=L * L, t_ed_forces_s=min(t_ed), t_eigh_s=min(t_eigh), ratio=min(t_ed) / min(t_eigh),
                         t_ed_forces_median_s=statistics.median(t_ed), t_eigh_median_s=statistics.median(t_eigh)))
    return dict(benchmark="ed_forces_vs_eigh", params=p.to_dict(), repeats=repeats, machine=machine_info(device),
                results=rows)


def write_json(result: dict, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=2) + "\n")
    return path


# ----------------------------------------------------------------------------- ML force models
def model_flops_per_site(model) -> int:
    """Multiply-adds per lattice site of one force evaluation of ``model``.

    Uses :func:`holstein.models.lean.flops_per_site` (analytic, from the layer sizes; energy
    models count forward + backward ≈ 3 × forward) when the package has it, else the sum of
    ``in × out`` over the model's ``nn.Linear`` layers (descriptors and message passing not counted).
    """
    try:
        from .models.lean import flops_per_site
    except ImportError:  # pragma: no cover - older package layouts
        flops_per_site = None
    if flops_per_site is not None:
        return int(flops_per_site(model))
    fwd = sum(m.in_features * m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear))
    return 3 * fwd if getattr(model, "energy_based", False) else fwd


def _as_models(names_or_models) -> dict:
    """{name: model} from a dict, or from a list of registered names and/or model instances."""
    from . import models

    if isinstance(names_or_models, dict):
        return dict(names_or_models)
    if isinstance(names_or_models, (str, torch.nn.Module)):
        names_or_models = [names_or_models]
    out = {}
    for m in names_or_models:
        if isinstance(m, str):
            out[m] = models.build(m)
        else:
            out[getattr(m, "registry_name", type(m).__name__)] = m
    return out


def _cap(max_L, name: str):
    if max_L is None or isinstance(max_L, (int, float)):
        return max_L
    return max_L.get(name)


def bench_models(names_or_models, Ls, repeats: int = 3, device: str = "cpu", ed_max_L: int | None = None,
                 max_L=None, p: HolsteinParams = PAPER, dtype: torch.dtype = torch.float64, seed: int = 0,
                 progress: bool = True) -> dict:
    """Time one force evaluation ``model(Q)`` of each ML model, and ``ed.forces``, on L×L lattices.

    Args:
        names_or_models: registered model names, model instances, or a dict {name: model}.
            Names are built untrained (the cost does not depend on the weights).
        Ls: lattice sizes; each model is timed at every L up to its cap.
        repeats: timed calls per point (median reported, after one warm-up call).
        ed_max_L: ED is timed for L <= ed_max_L (None: every L; 0: never).
        max_L: an int, or a dict {name: int} capping the lattices of the (slow) models.

    Energy models evaluate F = -∂E/∂Q with autograd (gradients enabled), the others under
    ``torch.no_grad``. Returns a JSON-able dict: ``machine``, ``repeats``, ``models``
    ({name: {parameters, flops_per_site, energy_based}}) and ``results``, a list of rows
    ``dict(model, L, N, t_s)`` with ``model = "ed"`` for exact diagonalization.
    """
    mods = _as_models(names_or_models)
    info, rows = {}, []
    for name, model in mods.items():
        model = model.to(device=device, dtype=dtype).eval()
        info[name] = dict(parameters=int(model.n_parameters()), flops_per_site=model_flops_per_site(model),
                          energy_based=bool(getattr(model, "energy_based", False)))
        cap = _cap(max_L, name)
        for L in tqdm([L for L in Ls if cap is None or L <= cap], desc=f"bench {name}", disable=not progress):
            g = torch.Generator().manual_seed(seed)
            Q = (p.g / p.k) * torch.randn(1, L, L, generator=g, dtype=dtype).to(device)

            def fn(model=model, Q=Q):
                with torch.set_grad_enabled(info[name]["energy_based"]):
                    return model(Q).detach()

            rows.append(dict(model=name, L=int(L), N=int(L * L), t_s=median_time(fn, repeats, device=device)))
    for L in tqdm([L for L in Ls if ed_max_L is None or L <= ed_max_L], desc="bench ED", disable=not progress):
        g = torch.Generator().manual_seed(seed)
        Q = torch.randn(L, L, generator=g, dtype=torch.float64).to(device)
        rows.append(dict(model="ed", L=int(L), N=int(L * L), t_s=median_time(lambda: ed.forces(Q, p), repeats,
                                                                               device=device)))
    return dict(benchmark="force_evaluation", params=p.to_dict(), repeats=repeats, dtype=str(dtype),
                machine=machine_info(device), models=info, results=rows)


def cost_exponent(N, t) -> tuple[float, float]:
    """Slope b and its standard error of the least-squares fit log t = b log N + c (needs >= 2 points;
    the error is NaN with only 2)."""
    import numpy as np

    x, y = np.log(np.asarray(N, dtype=float)), np.log(np.asarray(t, dtype=float))
    if x.size < 2 or np.ptp(x) == 0:
        raise ValueError("cost_exponent needs at least two distinct sizes")
    X = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    if x.size < 3:
        return float(coef[0]), float("nan")
    resid = y - X @ coef
    cov = float(resid @ resid) / (x.size - 2) * np.linalg.inv(X.T @ X)
    return float(coef[0]), float(np.sqrt(cov[0, 0]))
