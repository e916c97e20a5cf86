#!/usr/bin/env bash
# The exact commands that trained the shipped weights in weights/ (see each model card for the
# device, steps and time). Each writes weights/NAME.safetensors and the curves weights/NAME.csv;
# checkpoints go to weights/NAME.run/ (git-ignored), so `--resume` continues a stopped run.
#   bash scripts/train_shipped.sh            # every model, in order
#   bash scripts/train_shipped.sh ffdnet_ct  # one of them
# On a CUDA machine raise --minutes (or drop it and set --steps) for the full-length runs.
# The medical models fine-tune ffdnet_gray_blind on the slices of scripts/make_medical_data.py.
set -euo pipefail
cd "$(dirname "$0")/.."
MEDICAL=training_data/medical

ffdnet_gray_blind() {
  python -m denoise_core train --out weights/ffdnet_gray_blind --arch ffdnet \
    --arch-set channels=1 --arch-set depth=12 --arch-set width=64 --arch-set noise_map=true \
    --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --patch 64 --batch 32 --steps 100000 --minutes 62 --lr 1e-3 --schedule cosine --loss l1 \
    --seed 0 --val-every 500 --checkpoint-every 500 --threads 2 \
    --title "FFDNet gray, blind Gaussian 0-55 (CPU run)"
}

medical_data() {
  [ -d "$MEDICAL" ] || python scripts/make_medical_data.py --out "$MEDICAL"
}

ffdnet_ct() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_ct --init ffdnet_gray_blind --data "$MEDICAL/ct/train" \
    --val-images 1 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --noise ct_lowdose --range photons=1000:300000:log --pool 16 --val-set photons=10000 \
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet CT: Gaussian 0-55 and low-dose CT (fine-tuned, CPU run)"
}

ffdnet_mri() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_mri --init ffdnet_gray_blind --data "$MEDICAL/mri/train" \
    --val-images 4 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --noise rician_snr --range snr=3:50:log --pool 8 --val-set snr=10 \
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet MRI: Gaussian 0-55 and Rician (fine-tuned, CPU run)"
}

ffdnet_xray() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_xray --init ffdnet_gray_blind --data "$MEDICAL/xray/train" \
    --val-images 1 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --noise poisson_gaussian --range peak=20:2000:log --range read_sigma=0:0.02 --pool 8 --val-set peak=200 \
    --val-set read_sigma=0.01 --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet X-ray: Gaussian 0-55 and Poisson-Gaussian (fine-tuned, CPU run)"
}

MODELS=(ffdnet_gray_blind ffdnet_ct ffdnet_mri ffdnet_xray)
for model in "${@:-${MODELS[@]}}"; do
  [[ " ${MODELS[*]} " == *" $model "* ]] || { echo "unknown model '$model' (valid: ${MODELS[*]})" >&2; exit 2; }
  "$model"
done
