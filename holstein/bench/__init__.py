"""Benchmarks that write JSON (never timed asserts) under :data:`BENCHMARKS` (``artifacts/bench/``).

:mod:`~holstein.bench.timing` (the one timer and machine record), :mod:`~holstein.bench.ed` (ED
against a bare eigh), :mod:`~holstein.bench.speed` (ED, KPM and every model side by side); imported
on their own, so that they run as scripts and ``import holstein.bench`` stays light:
:mod:`~holstein.bench.reference` (the reference approach), :mod:`~holstein.bench.transfer` (the
models against KPM on a large quench), :mod:`~holstein.bench.kpm` (KPM against ED).
"""
from ..catalog import BENCHMARKS
from .ed import bench_ed
from .speed import (SPEED_FULL, SPEED_TINY, START_CONFIGURATION, SpeedSizes, bench_speed, cost_exponent, speed_summary,
                    start_configuration, time_dynamics)
from .timing import (MEMORY_METHOD, Stopwatch, load_average, machine_info, machine_record, measure, measure_interleaved,
                     peak_memory, stopwatch)

__all__ = ["BENCHMARKS", "machine_info", "machine_record", "load_average", "Stopwatch", "stopwatch", "measure",
           "measure_interleaved", "peak_memory", "MEMORY_METHOD", "bench_ed", "SpeedSizes", "SPEED_FULL", "SPEED_TINY",
           "START_CONFIGURATION", "start_configuration", "time_dynamics", "cost_exponent", "bench_speed",
           "speed_summary"]
