"""Benchmarks that write JSON (never timed asserts).

``bench_ed``: the cost of one ED force evaluation against a bare ``torch.linalg.eigh`` of the
same N×N matrix, for several L. The ED force is one eigh plus O(N²) work (μ bisection,
densities), so the ratio should approach 1 as L grows; target ≤ 1.2 at L = 40.

``bench_models``: the cost of one force evaluation of ML models (and of ED) against L, with
:func:`model_flops_per_site` (analytic multiply-adds per site) and :func:`cost_exponent`
(the slope of log t against log N: 3 for ED's eigh, 1 for a local model at large N).

``bench_speed`` (``python -m holstein bench speed``): ED, KPM and every model side by side on one
machine: time per force evaluation and per Langevin step, site-steps per second and peak memory
against L; linear scaling of the lean model; the reference approach
(``benchmarks/reference_baseline.py``) against the lean model; ensemble throughput against the
number of replicas; float32 against float64; ``torch.compile``. ``plot_speed`` draws it.
"""
from __future__ import annotations

import contextlib
import functools
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from . import ed
from .params import PAPER, HolsteinParams

__all__ = ["machine_info", "median_time", "bench_ed", "write_json", "model_flops_per_site", "bench_models",
           "cost_exponent", "peak_memory", "force_function", "start_configuration", "time_dynamics", "bench_speed",
           "plot_speed", "speed_figures", "force_errors", "transfer_check", "SPEED_FULL", "SPEED_TINY", "SPEED_MODELS", "SPEED_MAX_L"]


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return None


def machine_info(device: str = "cpu") -> dict:
    """The machine a benchmark ran on: platform, CPU model and count, torch version and threads,
    the torch ``device`` and, for CUDA, the GPU's name."""
    info = dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpu_model=_cpu_model(), cpu_count=os.cpu_count(), torch=torch.__version__,
                threads=torch.get_num_threads(), device=device)
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
    """Multiply-adds per lattice site of one force evaluation (:func:`holstein.models.cost.macs_per_site`)."""
    from .models.cost import macs_per_site

    return int(macs_per_site(model))


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


# ----------------------------------------------------------------------------- speed and scale
#: The repository's ``benchmarks/`` folder (results and the reference baseline; absent in an installed package).
BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
#: Models of the speed benchmark: the lean ones and the (huge) reference architectures.
SPEED_MODELS = ("gcn_lean", "gcn_lean_mu", "energy_gnn_lean", "bp_mlp_lean", "gcn", "energy_gnn", "bp_mlp")
#: Default caps on L: the ~10 M-parameter reference models only run at small L.
SPEED_MAX_L = {"gcn": 64, "energy_gnn": 64, "bp_mlp": 64}
#: The full run (``python -m holstein bench speed``); see :func:`bench_speed`.
SPEED_FULL = dict(ed_Ls=(12, 16, 24, 32, 40, 48, 56, 64), Ls=(16, 32, 64, 128, 256, 512), repeats=5,
                  budget_s=20.0, scaling_Ls=(64, 512), reference_Ls=(40, 200), ed_vs_lean_L=40,
                  ensemble_L=64, ensemble_B=(1, 2, 4, 8, 16, 32, 64), dtype_Ls=(64, 256), compile=True,
                  compile_L=256)
#: Everything at minimal sizes, in seconds (``--tiny``; run by the test suite).
SPEED_TINY = dict(ed_Ls=(4, 6), Ls=(4, 8), repeats=1, budget_s=0.0, scaling_Ls=(4, 8), reference_Ls=(4,),
                  ed_vs_lean_L=4, ensemble_L=4, ensemble_B=(1, 2), dtype_Ls=(4,), compile=False, compile_L=4,
                  max_L={"gcn": 4, "energy_gnn": 4, "bp_mlp": 4})

MEMORY_METHOD = {
    "cpu": "mem_peak_bytes: peak of the bytes held by torch tensors allocated during one dynamics step, above "
           "the level at its start (torch.profiler with profile_memory=True: the [memory] allocation/free "
           "events summed in time order; the CPU analogue of torch.cuda.max_memory_allocated; memory not "
           "held in torch tensors, e.g. numpy arrays, is not counted). mem_rss_peak_increase_bytes: the "
           "process's peak resident set size during the first timed step (VmHWM, reset through "
           "/proc/self/clear_refs before it) minus its resident set size before it: all host memory, "
           "but a lower bound when the allocator reuses pages freed earlier in the process.",
    "cuda": "mem_peak_bytes: torch.cuda.max_memory_allocated during one dynamics step (after "
            "reset_peak_memory_stats) minus torch.cuda.memory_allocated before it. "
            "mem_rss_peak_increase_bytes: host peak RSS increase, as on the CPU.",
}


def _proc_status_bytes(key: str) -> int | None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _reset_rss_peak() -> int | None:
    """Reset the kernel's peak-RSS mark (Linux >= 4.0) and return the current RSS (None if impossible)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        return None
    return _proc_status_bytes("VmRSS")


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop messages) inside the block."""
    try:
        sys.stderr.flush()
        saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # pragma: no cover - no real stderr
        yield
        return
    os.dup2(null, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


def _tensor_peak_cpu(fn) -> int | None:
    """Run ``fn()`` under torch.profiler(profile_memory=True); return the peak of the running sum of
    its tensor allocations minus frees (bytes above the level at the start), or None if unavailable."""
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = [(e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except AttributeError:  # pragma: no cover - the profiler's (semi-private) result API changed
        return None
    cur = peak = 0
    for _, nbytes in sorted(events, key=lambda e: e[0]):
        cur += nbytes
        peak = max(peak, cur)
    return int(peak)


def peak_memory(fn, device: str = "cpu") -> int | None:
    """Run ``fn()`` once; return the peak of the bytes its tensors held above the level at its
    start: the CUDA allocator's peak on a GPU, the torch-profiler tensor peak on the CPU (see
    :data:`MEMORY_METHOD`); None where it cannot be measured."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - base)
    return _tensor_peak_cpu(fn)


def _measure(fn, repeats: int, budget_s: float, device: str, t_warm: float | None = None,
             memory: bool = False) -> dict:
    """Time ``fn()``: a warm-up call (skipped if its time ``t_warm`` is known and ``memory`` is
    False), then n = clamp(budget_s / t_warm, 1, repeats) timed calls.

    Returns ``dict(t_s=median, t_min_s=min, n=n)``; with ``memory``, also ``mem_peak_bytes``
    (:func:`peak_memory` of the warm-up call) and ``mem_rss_peak_increase_bytes`` (the peak-RSS
    increase over the first timed call, whose timing the measurement does not touch).
    """
    mem = {}
    if t_warm is None or memory:
        t0 = time.perf_counter()
        if memory:
            mem["mem_peak_bytes"] = peak_memory(fn, device)
        else:
            fn()
        _sync(device)
        t_warm = time.perf_counter() - t0 if t_warm is None else t_warm
    n = max(1, min(int(repeats), int(budget_s / max(t_warm, 1e-9))))
    times = []
    for k in range(n):
        rss0 = _reset_rss_peak() if memory and k == 0 else None
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
        if memory and k == 0:
            hwm = _proc_status_bytes("VmHWM") if rss0 is not None else None
            mem["mem_rss_peak_increase_bytes"] = None if hwm is None else max(hwm - rss0, 0)
    return dict(t_s=statistics.median(times), t_min_s=min(times), n=n, **mem)


def force_function(model, energy_based: bool | None = None):
    """``Q -> F`` of a force model for timing: under ``torch.inference_mode`` for direct-force
    models; with gradients enabled (and no inference mode) for energy models, F = -∂E/∂Q."""
    energy_based = getattr(model, "energy_based", False) if energy_based is None else energy_based
    if energy_based:
        def fn(Q):
            with torch.enable_grad():
                return model(Q).detach()
    else:
        def fn(Q):
            with torch.inference_mode():
                return model(Q)
    return fn


START_CONFIGURATION = ("two CDW domains Q_i = ±Q0 (-1)^(x+y) with Q0 = ed.checkerboard_amplitude(p), the sign "
                       "flipped for x >= L/2, plus N(0, kT/(k - 4|kappa|)) noise; V ~ N(0, kT/m); float64")


@functools.lru_cache(maxsize=8)
def _cdw_amplitude(p: HolsteinParams) -> float:
    return ed.checkerboard_amplitude(p)


def start_configuration(L: int, p: HolsteinParams = PAPER, device: str = "cpu", seed: int = 0,
                        batch: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The float64 (Q, V) every timing starts from, a stand-in for a coarsening snapshot: two CDW
    domains Q_i = ±Q0 (-1)^(x+y) (Q0 = :func:`holstein.ed.checkerboard_amplitude`, sign flipped
    for x >= L/2, i.e. two straight domain walls) plus Gaussian noise of std sqrt(kT / (k - 4|κ|))
    (the thermal amplitude of the softest phonon); V ~ sqrt(kT/m) N(0, 1). Only KPM's cost depends
    on Q (its moment count grows with the spectral width, i.e. with max |Q|)."""
    g = torch.Generator().manual_seed(seed)
    shape = (L, L) if batch is None else (batch, L, L)
    x = torch.arange(L)
    cdw = (-1.0) ** (x[:, None] + x[None, :]) * torch.where(x < L // 2, 1.0, -1.0)[:, None]
    noise = (p.kT / (p.k - 4 * abs(p.kappa))) ** 0.5
    Q = _cdw_amplitude(p) * cdw.to(torch.float64) + noise * torch.randn(shape, generator=g, dtype=torch.float64)
    V = (p.kT / p.mass) ** 0.5 * torch.randn(shape, generator=g, dtype=torch.float64)
    return Q.to(device), V.to(device)


def time_dynamics(force_fn, L: int, p: HolsteinParams = PAPER, device: str = "cpu", repeats: int = 5,
                  budget_s: float = 20.0, seed: int = 0, batch: int | None = None, memory: bool = True) -> dict:
    """Time one force evaluation ``force_fn(Q)`` and one ``dynamics.step`` (vv_ou Langevin, params
    ``p``, float64 state of shape (L, L) or (batch, L, L)) from :func:`start_configuration`.

    ``dynamics.init`` (one force call) is the force's warm-up; the step's warm-up call measures
    the memory (:func:`peak_memory`). Returns ``dict(L, N, B, t_force_s, t_force_min_s, t_step_s,
    t_step_min_s, site_steps_per_s = B N / t_step_s, n_force, n_step, mem_*)`` (medians in seconds).
    """
    from . import dynamics

    Q0, V0 = start_configuration(L, p, device, seed, batch)
    t0 = time.perf_counter()
    state = dynamics.init(Q0, force_fn, p, V0=V0, seed=seed)
    _sync(device)
    t_init = time.perf_counter() - t0
    f = _measure(lambda: force_fn(Q0), repeats, budget_s, device, t_warm=t_init)
    s = _measure(lambda: dynamics.step(state, force_fn, p), repeats, budget_s, device, memory=memory)
    B = 1 if batch is None else int(batch)
    mem = {k: v for k, v in s.items() if k.startswith("mem_")}
    return dict(L=int(L), N=int(L * L), B=B, t_force_s=f["t_s"], t_force_min_s=f["t_min_s"], t_step_s=s["t_s"],
                t_step_min_s=s["t_min_s"], site_steps_per_s=B * L * L / s["t_s"], n_force=f["n"], n_step=s["n"], **mem)


def _reference_module():
    """``benchmarks/reference_baseline.py`` of the repository, imported by path (None, reason if absent)."""
    import importlib.util

    path = BENCHMARKS / "reference_baseline.py"
    if not path.exists():
        return None, f"{path} not found"
    spec = importlib.util.spec_from_file_location("holstein_reference_baseline", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, str(path)


def _build(name: str, device: str, dtype: torch.dtype):
    from . import models

    return models.build(name).to(device=device, dtype=dtype).eval()


def _model_info(model, dtype) -> dict:
    return dict(kind="model", parameters=int(model.n_parameters()), flops_per_site=model_flops_per_site(model),
                energy_based=bool(getattr(model, "energy_based", False)), backend=getattr(model, "backend", None),
                dtype=str(dtype))


def bench_speed(ed_Ls=SPEED_FULL["ed_Ls"], Ls=SPEED_FULL["Ls"], models=SPEED_MODELS, max_L=None, kpm: bool = True,
                kpm_kwargs=None, lean: str = "gcn_lean", device: str = "cpu", repeats: int = 5,
                budget_s: float = 20.0, p: HolsteinParams = PAPER, scaling_Ls=(64, 512), reference_Ls=(40, 200),
                reference_grad: bool = True, ed_vs_lean_L: int | None = 40, ensemble_L: int = 64,
                ensemble_B=(1, 2, 4, 8, 16, 32, 64), dtype_Ls=(64, 256), compile: bool = True, compile_L: int = 256,
                seed: int = 0, progress: bool = True) -> dict:
    """Speed and scale of ED, KPM and the ML force fields, all measured in one run on one machine.

    What is measured (wall-clock medians after a warm-up, on ``device``; every model untrained,
    built from the registry, since the cost does not depend on the weights; models in float64
    unless stated; the dynamics state is always float64, PAPER parameters, scheme vv_ou):

    - ``results``: for ED (``ed_Ls``), KPM and every model in ``models`` (``Ls``, each capped by
      ``max_L`` merged over :data:`SPEED_MAX_L`), one row per (method, L) from
      :func:`time_dynamics`: time per force evaluation, per dynamics step, site-steps per second
      N / t_step, and the peak memory of a step (how: ``memory_method``). Direct-force models run
      under ``torch.inference_mode``, energy models with autograd (F = -∂E/∂Q).
    - ``scaling``: time per site t/N of each lean model at ``scaling_Ls`` (added to its Ls), the
      ratio large/small (1 = linear scaling) and whether it is within 20 %; ``cost_exponents``:
      the slope b of log t_force = b log N + c over the three largest sizes of each method.
    - ``reference``: one step of the reference approach (``benchmarks/reference_baseline.py``:
      per-site Python loops, float64 10.75 M-parameter PyG GCN, autograd on as in the reference
      unless ``reference_grad=False``) against one step of ``lean`` in float64 and float32 at each
      of ``reference_Ls``; speedup = t_reference / t_lean. ``ed_vs_lean``: the same for ED at
      ``ed_vs_lean_L``.
    - ``ensemble``: B replicas advanced as one (B, L, L) state (L = ``ensemble_L``) by ``lean``,
      site-steps per second B N / t_step for each B in ``ensemble_B``, float64 and float32.
    - ``dtype``: force time of each lean model in float64 and float32 at ``dtype_Ls`` (Q passed in
      the model's dtype, i.e. the bare inference cost).
    - ``compile``: ``torch.compile`` of ``lean`` at ``compile_L`` (compile time, eager vs compiled
      force and step time), or the reason it was skipped or failed.

    Repeats: each point is timed n = clamp(budget_s / t_warm-up, 1, repeats) times, so slow
    points get few calls. Returns a JSON-able dict.
    """
    caps = {**SPEED_MAX_L, **(max_L or {})}
    if not device.startswith("cuda"):
        peak_memory(lambda: None)  # the profiler's one-time start-up, outside any measurement
    kpm_kwargs = dict(kpm_kwargs or {})
    Ls, scaling_Ls = sorted({int(L) for L in Ls}), tuple(int(L) for L in scaling_Ls)
    tm = dict(p=p, device=device, repeats=repeats, budget_s=budget_s, seed=seed)
    methods, rows = {}, []

    def sweep(name, fn, sizes):
        for L in tqdm(sizes, desc=f"speed {name}", disable=not progress):
            rows.append(dict(method=name, **time_dynamics(fn, L, **tm)))

    methods["ed"] = dict(kind="exact diagonalization (torch.linalg.eigh)", dtype="torch.float64")
    sweep("ed", lambda Q: ed.forces(Q, p), sorted(ed_Ls))
    if kpm:
        from . import kpm as kpm_module

        cap = caps.get("kpm")
        methods["kpm"] = dict(kind="kernel polynomial method", kwargs=kpm_kwargs, dtype="torch.float64", status="ok")
        sweep("kpm", lambda Q: kpm_module.forces(Q, p, **kpm_kwargs), [L for L in Ls if cap is None or L <= cap])
    for name in models:
        model = _build(name, device, torch.float64)
        methods[name] = _model_info(model, torch.float64)
        cap = caps.get(name)
        sizes = sorted(set(Ls) | (set(scaling_Ls) if "lean" in name else set()))
        sweep(name, force_function(model), [L for L in sizes if cap is None or L <= cap])

    res = dict(benchmark="speed", params=p.to_dict(), machine=machine_info(device), repeats=repeats,
               budget_s=budget_s, memory_method=MEMORY_METHOD["cuda" if device.startswith("cuda") else "cpu"],
               state_dtype="torch.float64", scheme="vv_ou", start=START_CONFIGURATION,
               methods=methods, results=rows)
    res["scaling"] = _scaling(rows, [m for m in models if "lean" in m], scaling_Ls, lean)
    res["cost_exponents"] = {}
    for name in methods:
        pts = sorted((r["N"], r["t_force_s"]) for r in rows if r["method"] == name)[-3:]
        if len(pts) >= 2:
            b, err = cost_exponent(*zip(*pts))
            res["cost_exponents"][name] = dict(exponent=b, stderr=None if err != err else err,
                                               N=[n for n, _ in pts])

    lean_fns = {dt: force_function(_build(lean, device, dt)) for dt in (torch.float64, torch.float32)}
    res["reference"] = _bench_reference(reference_Ls, lean, lean_fns, reference_grad, tm, progress)
    if ed_vs_lean_L:
        L = int(ed_vs_lean_L)
        t_ed = time_dynamics(lambda Q: ed.forces(Q, p), L, **tm)["t_step_s"]
        t_lean = {str(dt).split(".")[-1]: time_dynamics(fn, L, **tm)["t_step_s"] for dt, fn in lean_fns.items()}
        res["ed_vs_lean"] = dict(L=L, model=lean, t_step_ed_s=t_ed,
                                 **{f"t_step_lean_{k}_s": v for k, v in t_lean.items()},
                                 **{f"speedup_{k}": t_ed / v for k, v in t_lean.items()})
    res["ensemble"] = dict(model=lean, L=int(ensemble_L), results=[
        dict(dtype=str(dt), **time_dynamics(fn, ensemble_L, batch=int(B), **tm))
        for dt, fn in lean_fns.items() for B in tqdm(ensemble_B, desc=f"ensemble {dt}", disable=not progress)])
    res["dtype"] = _bench_dtypes([m for m in models if "lean" in m], dtype_Ls, device, repeats, budget_s, p, seed)
    res["compile"] = (_bench_compile(lean, compile_L, tm) if compile
                      else dict(status="skipped", reason="disabled (compile=False / --no-compile)"))
    return res


def _scaling(rows, names, scaling_Ls, headline) -> dict:
    """Time per site at the two ``scaling_Ls`` and their ratio (large / small) for each model."""
    L1, L2 = scaling_Ls
    out = dict(L_small=L1, L_large=L2, headline=headline, criterion="|ratio - 1| <= 0.2", models={})
    for name in names:
        r = {row["L"]: row for row in rows if row["method"] == name and row["L"] in (L1, L2)}
        if len(r) < 2:
            continue
        d = {}
        for what in ("force", "step"):
            a, b = r[L1][f"t_{what}_s"] / r[L1]["N"], r[L2][f"t_{what}_s"] / r[L2]["N"]
            d.update({f"t_{what}_per_site_small_s": a, f"t_{what}_per_site_large_s": b, f"ratio_{what}": b / a})
        d["within_20pct"] = bool(abs(d["ratio_force"] - 1) <= 0.2)
        out["models"][name] = d
    return out


def _bench_reference(Ls, lean, lean_fns, grad, tm, progress) -> dict:
    """One reference dynamics step against one lean step (float64, float32) at each L."""
    ref, where = _reference_module()
    if ref is None:
        return dict(status="skipped", reason=where)
    device = tm["device"]
    out = dict(status="ok", source=where, grad=grad, lean_model=lean, results=[])
    for L in tqdm(Ls, desc="reference baseline", disable=not progress):
        t0 = time.perf_counter()
        dyn = ref.setup(int(L), p=tm["p"], seed=tm["seed"], grad=grad, device=device)
        t_setup = time.perf_counter() - t0
        r = _measure(dyn.step, tm["repeats"], tm["budget_s"], device, memory=True)
        row = dict(L=int(L), N=int(L * L), parameters=sum(q.numel() for q in dyn.net.parameters()),
                   t_setup_reference_s=t_setup, t_step_reference_s=r["t_s"], t_step_reference_min_s=r["t_min_s"],
                   n_reference=r["n"], mem_reference_peak_bytes=r.get("mem_peak_bytes"),
                   mem_reference_rss_peak_increase_bytes=r.get("mem_rss_peak_increase_bytes"))
        del dyn
        for dt, fn in lean_fns.items():
            k = str(dt).split(".")[-1]
            s = time_dynamics(fn, int(L), **tm)
            row.update({f"t_step_lean_{k}_s": s["t_step_s"], f"speedup_{k}": r["t_s"] / s["t_step_s"],
                        f"mem_lean_{k}_peak_bytes": s.get("mem_peak_bytes")})
        out["results"].append(row)
    return out


def _bench_dtypes(names, Ls, device, repeats, budget_s, p, seed) -> list:
    """Force time of each model in float64 and float32 (Q in the model's dtype)."""
    rows = []
    for name in names:
        for L in Ls:
            row = dict(model=name, L=int(L), N=int(L * L))
            for dt in (torch.float64, torch.float32):
                fn = force_function(_build(name, device, dt))
                Q = start_configuration(int(L), p, device, seed)[0].to(dt)[None]
                row[f"t_force_{str(dt).split('.')[-1]}_s"] = _measure(lambda: fn(Q), repeats, budget_s, device)["t_s"]
            row["speedup_float32"] = row["t_force_float64_s"] / row["t_force_float32_s"]
            rows.append(row)
    return rows


def _bench_compile(name, L, tm) -> dict:
    """``torch.compile`` of a direct-force model at one L: compile time, eager vs compiled timings."""
    out = dict(status="ok", model=name, L=int(L), results=[],
               note="t_compile_s is the first call (Dynamo tracing + Inductor code generation; shorter when "
                    "Inductor's on-disk cache is warm); graph breaks at the models' input checks are expected")
    try:
        for dt in (torch.float64, torch.float32):
            model = _build(name, tm["device"], dt)
            compiled = torch.compile(model)
            fn_c = force_function(compiled, energy_based=model.energy_based)
            Q = start_configuration(int(L), tm["p"], tm["device"], tm["seed"])[0]
            t0 = time.perf_counter()
            fn_c(Q)
            _sync(tm["device"])
            t_compile = time.perf_counter() - t0
            eager = time_dynamics(force_function(model), int(L), memory=False, **tm)
            comp = time_dynamics(fn_c, int(L), memory=False, **tm)
            out["results"].append(dict(dtype=str(dt), t_compile_s=t_compile, t_force_eager_s=eager["t_force_s"],
                                       t_force_compiled_s=comp["t_force_s"], t_step_eager_s=eager["t_step_s"],
                                       t_step_compiled_s=comp["t_step_s"],
                                       speedup_force=eager["t_force_s"] / comp["t_force_s"]))
    except Exception as e:  # noqa: BLE001 - optional: any failure of the compiler is reported, not raised
        out.update(status="failed", reason=f"{type(e).__name__}: {str(e)[:500]}")
    return out


# ----------------------------------------------------------------------------- plots
def plot_speed(res: dict, stem) -> list[Path]:
    """The :func:`speed_figures` of a :func:`bench_speed` result, written as ``<stem>_scaling.png`` and
    ``<stem>_ensemble.png``; returns the two paths."""
    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_name(stem.name + "_scaling.png"), stem.with_name(stem.name + "_ensemble.png")]
    for fig, path in zip(speed_figures(res), paths):
        fig.savefig(path, dpi=120)
    return paths


def speed_figures(res: dict) -> tuple:
    """Two matplotlib Figures (scaling, ensemble) of a :func:`bench_speed` result.

    Scaling: (a) time per force evaluation against N = L² (log-log) for every method, with a
    c·N³ line through ED's largest point and a c·N line through the lean model's; (b) site-steps
    per second of the dynamics; (c) peak memory of a step. Ensemble: site-steps per second of
    the lean model against the number of replicas B, and the step time of the reference approach
    against the lean model at equal L.
    """
    import numpy as np
    from matplotlib.figure import Figure

    by = {}
    for r in res["results"]:
        by.setdefault(r["method"], []).append(r)
    fig = Figure(figsize=(15, 4.6), layout="constrained")
    axes = fig.subplots(1, 3)
    for name, rs in by.items():
        rs = sorted(rs, key=lambda r: r["N"])
        N = np.array([r["N"] for r in rs], dtype=float)
        style = dict(marker="o", ls="-", lw=2.5 if name in ("ed", "kpm") else 1.5,
                     label=name if name in ("ed", "kpm") else f"{name} ({res['methods'][name]['parameters']:,} par.)")
        axes[0].loglog(N, [r["t_force_s"] for r in rs], **style)
        axes[1].loglog(N, [r["site_steps_per_s"] for r in rs], **style)
        mem = [(n, r["mem_peak_bytes"] / 2 ** 20) for n, r in zip(N, rs) if r.get("mem_peak_bytes")]
        if mem:
            axes[2].loglog(*zip(*mem), **style)
    for name, power, ls in (("ed", 3, "--"), (res["scaling"].get("headline"), 1, ":")):
        rs = sorted(by.get(name, []), key=lambda r: r["N"])
        if rs:
            N = np.array([r["N"] for r in rs], dtype=float)
            axes[0].loglog(N, rs[-1]["t_force_s"] * (N / N[-1]) ** power, "k", ls=ls, lw=1,
                           label=rf"$\propto N^{power}$" if power > 1 else r"$\propto N$")
    axes[0].set_ylabel("time per force evaluation (s)")
    axes[1].set_ylabel("site-steps per second ($N / t_{\\mathrm{step}}$)")
    axes[2].set_ylabel("peak memory of a step (MiB)")
    for ax, title in zip(axes, ("(a) force evaluation", "(b) Langevin dynamics step", "(c) memory")):
        ax.set_xlabel(r"sites $N = L^2$")
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend(fontsize=7)
    m = res["machine"]
    fig.suptitle(f"{m.get('gpu') or m.get('cpu_model') or m['processor']} ({m['device']}, {m['threads']} threads)",
                 fontsize=9)
    fig_scaling = fig

    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax, bx = fig.subplots(1, 2)
    ens = res["ensemble"]
    for dt in sorted({r["dtype"] for r in ens["results"]}):
        rs = sorted((r for r in ens["results"] if r["dtype"] == dt), key=lambda r: r["B"])
        ax.loglog([r["B"] for r in rs], [r["site_steps_per_s"] for r in rs], "o-",
                  label=f"{ens['model']} {dt.split('.')[-1]}")
        ax.set_xscale("log", base=2)
    ax.set_xlabel("replicas $B$")
    ax.set_ylabel("site-steps per second ($B N / t_{\\mathrm{step}}$)")
    ax.set_title(f"(a) ensemble throughput, L = {ens['L']}")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    ref = res["reference"]
    if ref.get("status") == "ok" and ref["results"]:
        x = np.arange(len(ref["results"]))
        for k, (key, label) in enumerate((("t_step_reference_s", "reference (PyG, float64, loops)"),
                                          ("t_step_lean_float64_s", f"{ref['lean_model']} float64"),
                                          ("t_step_lean_float32_s", f"{ref['lean_model']} float32"))):
            bars = bx.bar(x + (k - 1) * 0.27, [r[key] for r in ref["results"]], 0.27, label=label, log=True)
            if k:
                bx.bar_label(bars, [f"×{r['speedup_' + key.split('_')[-2]]:.3g}" for r in ref["results"]], fontsize=8)
        bx.set_xticks(x, [f"L = {r['L']}" for r in ref["results"]])
        bx.set_ylabel("time per dynamics step (s)")
        bx.legend(fontsize=8)
    bx.set_title("(b) reference approach vs lean model")
    return fig_scaling, fig


# ----------------------------------------------------------------------------- transfer to large L
def force_errors(F_ref, F) -> dict:
    """RMSE, max |error|, force std of the reference and RMSE / std, for arrays of one shape."""
    import numpy as np

    F_ref, F = np.asarray(F_ref, dtype=np.float64), np.asarray(F, dtype=np.float64)
    err = F - F_ref
    rmse, std = float(np.sqrt(np.mean(err**2))), float(F_ref.std())
    return dict(rmse=rmse, max_abs=float(np.abs(err).max()), force_std=std, rmse_over_std=rmse / std)


def transfer_check(models: dict, L: int, n_steps: int, every: int, driver: str, p: HolsteinParams = PAPER,
                   seed: int = 0, skip_first: int = 1, kpm_kwargs=None, device: str = "cpu",
                   progress: bool = True) -> dict:
    """Force error of ML models on large quench snapshots, measured against KPM (no ED possible).

    One Langevin quench of an L×L lattice from the reference hot start to ``p.kT`` is run with
    the force field ``models[driver]`` (a ``Q -> F`` function), recording every ``every`` steps;
    on each snapshot after the first ``skip_first`` (the hot start itself is far from the states
    the book studies) the KPM forces (:func:`holstein.kpm.forces` with ``kpm_kwargs``) are the
    reference for every model in ``models`` ({name: force function}). This is the check that the
    force fields, trained on 24×24 ED data, transfer to the lattices of the coarsening study.

    Returns a JSON-able dict: settings, KPM time and moments per snapshot, and per model the
    errors of every snapshot and of all together (:func:`force_errors`).
    """
    import numpy as np

    from . import coarsening, kpm
    from .forces import elastic

    kpm_kwargs = dict(kpm_kwargs or {})
    run = coarsening.run_quenches(models[driver], L, n_steps, every, seeds=[seed], p=p, device=device,
                                  progress=progress)
    times, Qs = run["time"][skip_first:], run["Q"][skip_first:, 0]  # (T,), (T, L, L)
    ref, snaps = [], []
    for t, Q in zip(tqdm(times, desc=f"KPM L={L}", disable=not progress), Qs):
        Qt = torch.as_tensor(Q, dtype=torch.float64, device=device)
        t0 = time.perf_counter()
        sol = kpm.solve(Qt, p, **kpm_kwargs)
        t_kpm = time.perf_counter() - t0
        ref.append((p.g * (sol.n - 0.5) + elastic(Qt, p)).cpu().numpy())
        snaps.append(dict(time=float(t), t_kpm_s=t_kpm, n_moments=int(sol.n_moments), max_abs_Q=float(abs(Q).max())))
    ref = np.stack(ref)
    per_model = {}
    for name, fn in models.items():
        F = np.stack([fn(torch.as_tensor(Q, dtype=torch.float64, device=device)).detach().cpu().numpy() for Q in Qs])
        per_model[name] = dict(all=force_errors(ref, F), snapshots=[force_errors(r, f) for r, f in zip(ref, F)])
    return dict(benchmark="transfer_to_large_lattices", L=int(L), n_steps=int(n_steps), every=int(every),
                driver=driver, seed=int(seed), params=p.to_dict(), kpm=kpm_kwargs, snapshots=snaps,
                models=per_model, machine=machine_info(device))
