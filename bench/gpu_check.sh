#!/usr/bin/env bash
# The GPU checks of a session lent a GPU machine, as one call of about 8 minutes.
#
# The machine's python3 has PyTorch, NumPy, SciPy, scikit-learn and matplotlib but not
# the raster stack: `make gpu-wheels` (here, no device time) puts the missing wheels in
# .whl/, which travels with the command. The GPU tests run without tests/conftest.py
# (--confcutdir), which imports the web backend. Each step's output is teed into OUTDIR.
# The benchmark runs its 10 % half first, then the whole table in the same work folder
# (finished runs reused); each is cut at 150 s, so that a slow GPU still leaves a table.
#
#     bash bench/gpu_check.sh OUTDIR
set -uo pipefail
out=${1:?usage: bash bench/gpu_check.sh OUTDIR}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi 2>&1 | tee "$out/nvidia-smi.txt"
python3 -m pytest --confcutdir=tests/ml -q tests/ml/train/test_ubarn_gpu.py 2>&1 | tee "$out/gpu-tests.txt"
python3 bench/bench_ubarn_throughput.py --repeats 5 --threads "$(nproc)" 2>&1 | tee "$out/throughput.txt"
for fractions in 0.1 0.1,1.0; do
    timeout 150 python3 bench/bench_experiment.py --patches 49 --size 64 --dates 30 \
        --unlabelled-patches 196 --epochs 120 --patience 20 --lr-patience 10 --jobs 1 \
        --threads 0 --fractions "$fractions" --keep /tmp/gpu-bench 2>&1 \
        | tee -a "$out/experiment.txt"
done
