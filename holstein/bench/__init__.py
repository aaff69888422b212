"""Benchmarks that write JSON (never timed asserts).

- :mod:`~holstein.bench.timing`: the machine and its load, :func:`measure` (wall time),
  :func:`measure_interleaved` (several functions against each other), :func:`peak_memory`;
- :mod:`~holstein.bench.ed`: :func:`bench_ed`, one ED force evaluation against a bare eigh;
- :mod:`~holstein.bench.speed`: :func:`bench_speed`, ED, KPM and every model side by side
  (``python -m holstein bench speed``; figures in :func:`holstein.plotting.speed_figures`);
- :mod:`holstein.bench.kpm`: accuracy and cost of KPM against ED (``python -m holstein.bench.kpm``;
  imported on its own, not here, so that it runs cleanly as a script).

Results are written with :func:`holstein.files.write_json`. The ML-vs-KPM check on large lattices
is :func:`holstein.transfer.transfer_check`.
"""
from .ed import bench_ed
from .speed import (BENCHMARKS, SPEED_FULL, SPEED_TINY, START_CONFIGURATION, SpeedSizes, bench_speed, cost_exponent,
                    reference_module, speed_summary, start_configuration, time_dynamics)
from .timing import MEMORY_METHOD, load_average, machine_info, measure, measure_interleaved, peak_memory

__all__ = ["machine_info", "load_average", "measure", "measure_interleaved", "peak_memory", "MEMORY_METHOD", "bench_ed", "SpeedSizes", "SPEED_FULL",
           "SPEED_TINY", "BENCHMARKS", "START_CONFIGURATION", "start_configuration", "time_dynamics", "cost_exponent",
           "reference_module", "bench_speed", "speed_summary"]
