#!/usr/bin/env bash
# The exact commands that trained the shipped weights in weights/ (see each model card for the
# device, steps and time). Each writes weights/NAME.safetensors and the curves weights/NAME.csv;
# checkpoints go to weights/NAME.run/ (git-ignored), so `--resume` continues a stopped run.
# On a CUDA machine raise --minutes (or drop it and set --steps) for the full-length runs.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m denoise_core train --out weights/ffdnet_gray_blind --arch ffdnet \
  --arch-set channels=1 --arch-set depth=12 --arch-set width=64 --arch-set noise_map=true \
  --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
  --patch 64 --batch 32 --steps 100000 --minutes 62 --lr 1e-3 --schedule cosine --loss l1 \
  --seed 0 --val-every 500 --checkpoint-every 500 --threads 2 \
  --title "FFDNet gray, blind Gaussian 0-55 (CPU run)"
