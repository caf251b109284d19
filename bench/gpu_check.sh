#!/usr/bin/env bash
# The GPU checks of a session lent a GPU machine, as one call of at most BUDGET seconds.
#
# The machine's python3 has PyTorch, NumPy, SciPy, scikit-learn and matplotlib but not
# the raster stack: `make gpu-wheels` (here, no device time) puts the missing wheels in
# .whl/, which travels with the command. The GPU tests run without tests/conftest.py
# (--confcutdir), which imports the web backend. Each step's output is teed into OUTDIR.
# The tests and the throughput are each cut at 150 s, map production on a 512² scene
# (U-BARN windows one and sixteen per pass) at 90 s. The comparison (tiny model, both
# label fractions, RF vs U-BARN from scratch and fine-tuned, once per training seed of
# SEEDS) trains four runs at a time on the one GPU and is cut 30 s before the deadline;
# the finished runs' results and learning curves come back as OUTDIR/runs.tgz, so a cut
# benchmark still leaves its figures (the true-label scores are computed once every run
# has finished). On an H200 the whole script took 306 s with the three regimes and one seed.
# MISSED sets the share of cloud contamination the masks miss (generator, default 0);
# URBAN=1 renders towns as mosaics of roofs, streets, lawns and trees (--urban-mosaic);
# ORBITS=2 acquires the scene from two relative orbits, each on its own calendar (--orbits);
# SHIFT=15 shifts seasons between regions of the scene by 15 days sd (--phenology-shift);
# STALE=0.3 labels the crops of a region covering 30 % of the scene with last year's crops
# (--stale-register).
# The issue's scale: PATCHES=400 (default 49) with FRACTIONS, PATIENCE (120: early
# stopping off), JOBS runs at once of THREADS torch threads; QUICK=1 skips the throughput
# and map figures; REGIMES picks the U-BARN regimes (default scratch,finetune) and EXTRA
# adds bench_experiment.py options (EXTRA="--crop-balance 1"). UBARN_ONLY=1 trains the
# U-BARN runs alone (--ubarn-only) and brings them back with their weights (runs.tgz;
# ckpt.tgz holds a cut run's last checkpoint) and the data's fingerprint (data-md5.txt):
# unpacked into a work folder on the CPU machine, the same bench_experiment.py command
# without --ubarn-only regenerates the data (check the fingerprint), trains the forests,
# resumes a cut run and scores every run.
#
#     BUDGET=540 SEEDS=0,1 MISSED=0.1 URBAN=1 ORBITS=2 SHIFT=15 STALE=0.3 \
#         bash bench/gpu_check.sh OUTDIR
#     BUDGET=560 QUICK=1 UBARN_ONLY=1 PATCHES=400 PATIENCE=120 SEEDS=1,3,4 JOBS=12 \
#         THREADS=1 URBAN=1 SHIFT=10 bash bench/gpu_check.sh OUTDIR
set -uo pipefail
out=${1:?usage: bash bench/gpu_check.sh OUTDIR}
deadline=$((SECONDS + ${BUDGET:-540}))
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
timeout 150 python3 -m pytest --confcutdir=tests/ml -q tests/ml/train/test_ubarn_gpu.py 2>&1 | tee "$out/gpu-tests.txt"
if [ "${QUICK:-0}" != 1 ]; then
    timeout 150 python3 bench/bench_ubarn_throughput.py --repeats 3 --threads "$(nproc)" 2>&1 | tee "$out/throughput.txt"
    timeout 90 python3 bench/bench_predict.py --models ubarn --device cuda --ubarn-side 512 \
        --batches 1,16 2>&1 | tee "$out/maps.txt"
fi
timeout $((deadline - SECONDS - 30)) python3 bench/bench_experiment.py --patches "${PATCHES:-49}" \
    --size 64 --dates 30 --unlabelled-patches 196 --epochs 120 --patience "${PATIENCE:-20}" \
    --lr-patience 10 --regimes "${REGIMES:-scratch,finetune}" --fractions "${FRACTIONS:-0.1,1.0}" \
    --train-seeds "${SEEDS:-0,1}" --missed-clouds "${MISSED:-0}" \
    $([ "${URBAN:-0}" = 1 ] && echo --urban-mosaic) --orbits "${ORBITS:-1}" \
    --phenology-shift "${SHIFT:-0}" --stale-register "${STALE:-0}" \
    --jobs "${JOBS:-4}" --threads "${THREADS:-2}" --speed-patches 4 --keep /tmp/gpu-bench \
    $([ "${UBARN_ONLY:-0}" = 1 ] && echo --ubarn-only) ${EXTRA:-} 2>&1 | tee "$out/experiment.txt"
pkill -f multiprocessing.spawn && sleep 2  # a cut comparison's runs stop writing
cd /tmp/gpu-bench || exit 1
# the data's fingerprint: the CPU machine that finishes the runs must regenerate the same
for kind in npy tif; do
    find data/patches data/labels -name "*.$kind" | sort | xargs cat | md5sum
done | tee "$out/data-md5.txt"
if [ "${UBARN_ONLY:-0}" = 1 ]; then  # the runs with their weights; a cut run's last checkpoint
    tar czf "$out/runs.tgz" --exclude="*.png" runs
    for ckpt in ckpt/*/last.pt; do
        [ -f "runs/$(basename "$(dirname "$ckpt")")/results.json" ] || echo "$ckpt"
    done | tar czf "$out/ckpt.tgz" -T -
else
    find runs reference -name "*.json" | tar czf "$out/runs.tgz" -T -
fi
