#!/usr/bin/env bash
# One prepared GPU check (< 5 min on an H200): the CUDA tests, then step timings as JSON.
#   bash benchmarks/gpu_check.sh   (from the repository root; writes $OUT or holstein/artifacts/bench/)
set -euo pipefail
OUT=${OUT:-holstein/artifacts/bench}
python -m pip install -q -r requirements.txt && python -m pip install -q --no-deps -e .
nvidia-smi --query-gpu=name,memory.total --format=csv
HOLSTEIN_PROFILE=ci python -m pytest tests -q -p no:cacheprovider -k "cuda or gpu" | tee "$OUT/gpu_tests.txt"
python benchmarks/gpu_check.py --out "$OUT/gpu_check.json" --device cuda
