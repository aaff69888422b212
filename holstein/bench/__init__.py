"""Benchmarks that write JSON (never timed asserts), all under :data:`BENCHMARKS`
(``holstein/artifacts/bench/``, read with :func:`holstein.catalog.benchmark`).

- :mod:`~holstein.bench.timing`: the one timer and the one machine record: :func:`stopwatch`
  (one block), :func:`measure` (wall time of a call), :func:`measure_interleaved` (several
  functions against each other), :func:`machine_record` (CPU, threads, load before and after),
  :func:`peak_memory`;
- :mod:`~holstein.bench.ed`: :func:`bench_ed`, one ED force evaluation against a bare eigh;
- :mod:`~holstein.bench.speed`: :func:`bench_speed`, ED, KPM and every model side by side
  (``python -m holstein bench speed``; figures in :func:`holstein.plotting.speed_figures`);
- :mod:`~holstein.bench.reference`: the reference approach (per-site loops, PyG GCN) that
  :func:`bench_speed` times against the lean model;
- :mod:`~holstein.bench.transfer`: :func:`~holstein.bench.transfer.transfer_check`, the models'
  forces against KPM on a large quench (``python -m holstein bench transfer``);
- :mod:`holstein.bench.kpm`: accuracy and cost of KPM against ED (``python -m holstein.bench.kpm``).

:mod:`~holstein.bench.reference`, :mod:`~holstein.bench.transfer` and :mod:`~holstein.bench.kpm`
are imported on their own, not here, so that they run cleanly as scripts and ``import
holstein.bench`` stays light. Results are written with :func:`holstein.files.write_json`.
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
