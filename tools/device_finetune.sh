#!/usr/bin/env bash
# Fine-tune the backbone on every photo group in one call to a rented GPU machine (the
# workplace's `device` tool: docs/model.md, "Fine-tuning on every group"). Its python3 has
# torch, NumPy and Pillow, all that training.finetune's train step needs.
#
# Here first (CPU, about a minute; the copy is 42 MB, and all that travels with the checkout
# must stay under 64 MiB):
#   make finetune-open-prepare
# then, with the device tool:
#   run(command="bash tools/device_finetune.sh", carry=["build/finetune/open"], timeout_s=540)
# Both configurations' checkpoints, their figures (summary.json) and the log come back under
# $OUT. make train builds the model from the chosen one once it is copied over
# training/checkpoints/efficientnet_lite2_pets.npz. Without $OUT (this machine) the runs go to
# build/finetune/open-runs: hours on two CPU cores.
set -euo pipefail
export PYTHONUNBUFFERED=1
out="${OUT:-build/finetune/open-runs}"
mkdir -p "$out"
python=python3
[ -x .venv/bin/python ] && python=.venv/bin/python
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || true
"$python" -m training.finetune train \
    --data build/finetune/open \
    --out "$out" \
    --configs open-kd3 open-kd3-lr3e-4 \
    --init training/checkpoints/efficientnet_lite2_pets.npz \
    --time-budget "${TIME_BUDGET:-400}" 2>&1 | tee "$out/train.log"
