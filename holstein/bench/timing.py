"""How every benchmark measures: the machine record (:func:`machine_record`, stored under
``"machine"`` in every benchmark JSON), the one clock (:func:`stopwatch`, used by :func:`measure`
and :func:`measure_interleaved`; no benchmark reads a clock itself) and :func:`peak_memory`.
"""
from __future__ import annotations

import contextlib
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["machine_info", "machine_record", "load_average", "Stopwatch", "stopwatch", "measure", "measure_interleaved",
           "peak_memory", "MEMORY_METHOD"]


def _proc_field(path: str, key: str) -> str | None:
    """The value of the first ``key:`` line of a /proc file, or None."""
    try:
        with open(path) as f:
            return next((v.strip() for k, _, v in (line.partition(":") for line in f) if k.strip() == key), None)
    except OSError:
        return None


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages of the machine (None where the OS has none)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on Linux/macOS
        return None


def machine_info(device: str = "cpu") -> dict:
    """The machine a benchmark runs on: ``platform``, ``processor``, ``cpu_model``, ``cpu_count``,
    ``python``, ``torch``, ``threads`` (torch's now), ``device``, ``gpu`` (on CUDA) and
    ``loadavg_before``."""
    info = dict(platform=platform.platform(), processor=platform.processor() or platform.machine(),
                cpu_model=_proc_field("/proc/cpuinfo", "model name"), cpu_count=os.cpu_count(),
                python=platform.python_version(), torch=torch.__version__, threads=torch.get_num_threads(),
                device=str(device), loadavg_before=load_average())
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


@contextlib.contextmanager
def machine_record(device: str = "cpu"):
    """``with machine_record(device) as machine: ...``: :func:`machine_info` on entry, ``loadavg_after``
    added on exit: a timing is only comparable to another made at the same (ideally ~0) load."""
    info = machine_info(device)
    try:
        yield info
    finally:
        info["loadavg_after"] = load_average()


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


@dataclass
class Stopwatch:
    """What :func:`stopwatch` yields: ``seconds`` is None while the block runs, then its wall time."""

    seconds: float | None = None


@contextlib.contextmanager
def stopwatch(device: str = "cpu"):
    """``with stopwatch(device) as sw: ...``; then ``sw.seconds`` is the block's wall time
    (:func:`time.perf_counter`; on CUDA synchronised before and after)."""
    sw = Stopwatch()
    _sync(device)
    t0 = time.perf_counter()
    try:
        yield sw
    finally:
        _sync(device)
        sw.seconds = time.perf_counter() - t0


def measure(fn, repeats: int = 5, budget_s: float | None = None, device: str = "cpu", warmup: bool = True,
            t_warm: float | None = None, memory: bool = False) -> dict:
    """Wall time of ``fn()``: a warm-up call (if ``warmup`` and ``t_warm`` is unknown, always with
    ``memory``), then n = ``repeats`` timed calls, or n = clamp(budget_s / t_warm, 1, repeats).

    Returns ``dict(t_s=median, t_min_s=min, n=n)`` (s); with ``memory`` also ``mem_peak_bytes``
    (:func:`peak_memory` of the warm-up call) and ``mem_rss_peak_increase_bytes`` (over the first
    timed call).
    """
    mem = {}
    if memory or (warmup and t_warm is None):
        with stopwatch(device) as sw:
            if memory:
                mem["mem_peak_bytes"] = peak_memory(fn, device)
            else:
                fn()
        t_warm = sw.seconds if t_warm is None else t_warm
    n = int(repeats)
    if budget_s is not None and t_warm is not None:
        n = max(1, min(n, int(budget_s / max(t_warm, 1e-9))))
    times = []
    for k in range(max(n, 1)):
        rss0 = _reset_rss_peak() if memory and k == 0 else None
        with stopwatch(device) as sw:
            fn()
        times.append(sw.seconds)
        if memory and k == 0:
            hwm = _proc_status_bytes("VmHWM") if rss0 is not None else None
            mem["mem_rss_peak_increase_bytes"] = None if hwm is None else max(hwm - rss0, 0)
    return dict(t_s=statistics.median(times), t_min_s=min(times), n=len(times), **mem)


def measure_interleaved(fns: dict, repeats: int = 5, device: str = "cpu") -> dict:
    """Wall times of ``{name: fn}`` against each other: a warm-up call of each, then ``repeats`` rounds
    calling each once in turn, so that a change of load hits all alike (the minimum is the least
    disturbed). Returns ``{name: dict(t_min_s, t_s=median, n=repeats)}`` (s).
    """
    if not fns or repeats < 1:
        raise ValueError("need at least one function and repeats >= 1")
    for fn in fns.values():
        fn()
    _sync(device)
    times = {name: [] for name in fns}
    for _ in range(int(repeats)):
        for name, fn in fns.items():
            times[name].append(measure(fn, repeats=1, device=device, warmup=False)["t_s"])
    return {name: dict(t_min_s=min(ts), t_s=statistics.median(ts), n=len(ts)) for name, ts in times.items()}


# ----------------------------------------------------------------------------- peak memory
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
    value = _proc_field("/proc/self/status", key)
    return None if value is None else int(value.split()[0]) * 1024


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
    """The peak of the running sum of ``fn()``'s tensor allocations minus frees (torch.profiler with
    profile_memory=True; bytes above the start), or None if unavailable."""
    from torch.profiler import ProfilerActivity, profile

    with _quiet_stderr(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fn()
    try:
        events = [(e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    except AttributeError:  # pragma: no cover - the profiler's (semi-private) result API changed
        return None
    running = np.cumsum([nbytes for _, nbytes in sorted(events, key=lambda e: e[0])], dtype=np.int64)
    return int(running.max(initial=0))


def peak_memory(fn, device: str = "cpu") -> int | None:
    """Run ``fn()`` once; the peak bytes its tensors held above the start (:data:`MEMORY_METHOD`), or
    None where it cannot be measured."""
    if device.startswith("cuda"):
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - base)
    return _tensor_peak_cpu(fn)
