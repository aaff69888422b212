#!/usr/bin/env bash
# The 200x200 temperature-aware quenches of issue 23 (part 5) that remain, on one GPU: the four
# temperatures side by side, one process each, 4 replicas, 25,000 steps, checkpoints every 500 steps.
# Each run gets at most BUDGET seconds; one stopped there (SIGINT) leaves its checkpoint, and the
# same coarsen command resumes it, on a GPU or a CPU (the run's identity does not name the device).
# A 200-step 16x16 smoke run comes first; should it fail on DEVICE, the quenches run on the
# machine's CPU cores instead. Afterwards, in the time left (TOTAL), the GPU timings of benchmarks/gpu_check.py at L = 200.
#   OUT=runs/gpu bash benchmarks/gpu_L200T.sh     (from the repository root; device as DEVICE=cuda)
# Writes to $OUT one tar per temperature (kT<kT>.npz result or kT<kT>.ckpt checkpoint, the final
# state, the log) and machine.txt; the results go to holstein/artifacts/coarsening/L200_T.
# Seen on an H200 (2026-12-04): about 16 steps/s per temperature, four side by side, but nproc there
# said 1: the four processes shared one CPU core, so the Python side, not the GPU, set that pace.
set -u
OUT=${OUT:-runs/gpu}
DEVICE=${DEVICE:-cuda}
KTS=${KTS:-1 0.15 0.1 0.05}
STEPS=${STEPS:-25000}
L=${L:-200}
BUDGET=${BUDGET:-500}
TOTAL=${TOTAL:-560}
PY=${PY:-python3}
W=${WORK:-/tmp/L200_T}
mkdir -p "$OUT" "$W"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
start=$(date +%s)
{ date -u; nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1
  $PY -c "import torch, torch_geometric as g; print('torch', torch.__version__, 'pyg', g.__version__,
'cuda', torch.cuda.is_available())"; nproc; } > "$OUT/machine.txt" 2>&1
THREADS=1
if ! $PY -m holstein coarsen --model gcn_lean_mu_T_L24 --L 16 --kT 1 --replicas 2 --steps 200 --every 100 \
    --device "$DEVICE" --out "$W/smoke" >> "$OUT/machine.txt" 2>&1; then
  echo "the smoke run on $DEVICE failed: the quenches run on the CPU cores, 4 threads each" >> "$OUT/machine.txt"
  DEVICE=cpu THREADS=4
fi
cat "$OUT/machine.txt"
for kT in $KTS; do
  timeout -s INT -k 20 "$BUDGET" $PY -m holstein coarsen --model gcn_lean_mu_T_L24 --L "$L" --kT "$kT" \
    --replicas 4 --steps "$STEPS" --every 100 --checkpoint-every 500 --threads "$THREADS" --device "$DEVICE" \
    --out "$W" > "$W/log_kT$kT.txt" 2>&1 &
done
wait
echo "quenches done after $(( $(date +%s) - start )) s" | tee -a "$OUT/machine.txt"
for kT in $KTS; do tail -c 400 "$W/log_kT$kT.txt"; echo; done
left=$(( TOTAL - ($(date +%s) - start) ))
if [ "$left" -gt 60 ]; then
  timeout -k 5 $(( left - 15 )) $PY benchmarks/gpu_check.py --out "$W/gpu_check.json" --device "$DEVICE" \
    --Ls "$L" --B 2 4 8 > "$W/log_gpu_check.txt" 2>&1
  tail -5 "$W/log_gpu_check.txt"
fi
for kT in $KTS; do
  files=$(cd "$W" && ls "kT$kT.npz" "kT$kT.ckpt" "kT$kT.state.pt" "log_kT$kT.txt" 2>/dev/null)
  tar -cf "$OUT/kT$kT.tar" -C "$W" $files
done
tar -cf "$OUT/gpu_check.tar" -C "$W" $(cd "$W" && ls gpu_check.json log_gpu_check.txt 2>/dev/null)
ls -la "$OUT"
