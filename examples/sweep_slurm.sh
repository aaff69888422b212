#!/bin/bash
# Temperature sweep in ONE SLURM allocation without dask-jobqueue: a Dask scheduler, one worker per
# GPU (srun gives each task its own GPU), and the sweep's client, all inside this job.
#     sbatch examples/sweep_slurm.sh
# Re-submitting the same script resumes: finished tasks are skipped, interrupted ones continue
# from their checkpoints in $OUT/tasks/. (With dask-jobqueue, examples/slurm.yaml does the same
# from a login node: python -m holstein sweep --cluster examples/slurm.yaml ...)
#SBATCH --job-name=holstein-sweep
#SBATCH --nodes=1
#SBATCH --ntasks=4
#SBATCH --gpus-per-task=1
#SBATCH --cpus-per-task=4
#SBATCH --time=12:00:00
#SBATCH --output=slurm-%j.out
set -euo pipefail
source "$HOME/holstein-gnn/.venv/bin/activate"
export OMP_NUM_THREADS=1
OUT=${OUT:-/scratch/$USER/sweep_L200}
SCHED=$OUT/scheduler-$SLURM_JOB_ID.json
mkdir -p "$OUT"

dask scheduler --scheduler-file "$SCHED" --dashboard-address :8787 &
while [ ! -f "$SCHED" ]; do sleep 1; done
# one worker per GPU, one thread each (one task at a time on its GPU)
srun --ntasks=4 --gpus-per-task=1 --cpus-per-task=4 \
    dask worker --scheduler-file "$SCHED" --nworkers 1 --nthreads 1 --local-directory "${TMPDIR:-/tmp}" &

python -m holstein sweep --scheduler "$SCHED" --device cuda \
    --model gcn_lean_mu_L24_extra --L 200 --kT 0.05 0.1 0.15 --replicas 8 \
    --steps 25000 --every 100 --checkpoint-every 1000 --out "$OUT"
python -m holstein sweep --analyse "$OUT"
kill %1 %2 || true
