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
COLOUR=training_data/colour

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
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet CT, blind Gaussian 0-55 (fine-tuned, CPU run)"
}

ffdnet_ct_lowdose() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_ct_lowdose --init ffdnet_gray_blind --data "$MEDICAL/ct/train" \
    --val-images 1 --noise ct_lowdose --range photons=1000:300000:log --pool 16 --val-set photons=10000 \
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet low-dose CT, 1e3-3e5 photons (fine-tuned, CPU run)"
}

ffdnet_mri() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_mri --init ffdnet_gray_blind --data "$MEDICAL/mri/train" \
    --val-images 4 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet MRI, blind Gaussian 0-55 (fine-tuned, CPU run)"
}

ffdnet_xray() {
  medical_data
  python -m denoise_core train --out weights/ffdnet_xray --init ffdnet_gray_blind --data "$MEDICAL/xray/train" \
    --val-images 1 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --patch 64 --batch 32 --steps 3000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 \
    --title "FFDNet X-ray, blind Gaussian 0-55 (fine-tuned, CPU run)"
}

# Specialists for the noise types of the automatic pipeline, fine-tuned from ffdnet_gray_blind on
# Train400 (the last 8 images held out) with the classifier's training ranges.
specialist() {  # NAME TITLE OPTIONS... (noise options; they override the defaults here)
  local name=$1 title=$2
  shift 2
  python -m denoise_core train --out "weights/$name" --init ffdnet_gray_blind \
    --patch 64 --batch 32 --steps 2000 --lr 3e-4 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 --title "$title" "$@"
}

ffdnet_salt_pepper() {
  specialist ffdnet_salt_pepper "FFDNet gray, salt and pepper 0.5-50%, switching (fine-tuned, CPU run)" \
    --arch-set impulses=switch --steps 3000 --loss mse \
    --noise salt_pepper --range amount=0.005:0.5:log --range salt_ratio=0.2:0.8 --pool 4 --val-set amount=0.2
}

ffdnet_speckle() {
  specialist ffdnet_speckle "FFDNet gray, speckle var 0.006-0.15, multiplicative noise map (fine-tuned, CPU run)" \
    --arch-set multiplicative=true --steps 3000 --loss mse \
    --noise speckle --range var=0.006:0.15:log --pool 8 --val-set var=0.04
}

ffdnet_poisson() {
  specialist ffdnet_poisson "FFDNet gray, Poisson peak 3-150 (fine-tuned, CPU run)" \
    --noise poisson --range peak=3:150:log --pool 4 --val-set peak=30
}

ffdnet_mixed() {
  specialist ffdnet_mixed "FFDNet gray, mixed noise and scribbles, impulses filled first (fine-tuned, CPU run)" \
    --arch-set impulses=fill --steps 2500 --noise mixed --range strength=0.15:1 --pool 4 --val-set strength=0.5 \
    --noise scribbles --range count=2:30 --range thickness=1:6 --range cross_ratio=0.05:0.95 --pool 4 \
    --val-set count=8 --val-set thickness=2
}

blind_from_scratch() {  # NAME ARCH LOSS STEPS TITLE: a blind gray Gaussian model trained from scratch
  python -m denoise_core train --out "weights/$1" --arch "$2" \
    --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 \
    --patch 64 --batch 32 --steps "$4" --lr 1e-3 --schedule cosine --loss "$3" \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 --title "$5"
}

unet_gray_blind() {
  blind_from_scratch unet_gray_blind unet mse+ssim 1000 "U-Net gray, blind Gaussian 0-55 (CPU run)"
}

autoencoder_gray_blind() {
  blind_from_scratch autoencoder_gray_blind autoencoder mse 1500 "Autoencoder gray, blind Gaussian 0-55 (CPU run)"
}

# DnCNN (17 layers with batch norm, the paper's DnCNN-S depth): a blind gray model from scratch and
# the fixed-σ DnCNN-S models fine-tuned from it.
dncnn() {  # NAME TITLE OPTIONS...
  local name=$1 title=$2
  shift 2
  python -m denoise_core train --out "weights/$name" --noise gaussian --noise-set clip=false \
    --patch 40 --batch 32 --steps 100000 --schedule cosine --loss l1 \
    --seed 0 --val-every 200 --checkpoint-every 200 --threads 2 --title "$title" "$@"
}

dncnn_gray_blind() {
  dncnn dncnn_gray_blind "DnCNN gray, blind Gaussian 0-55 (CPU run)" --arch dncnn \
    --arch-set channels=1 --arch-set depth=17 --arch-set width=64 --arch-set batch_norm=true \
    --range sigma=0:0.2157 --val-set sigma=0.098 --lr 1e-3 --minutes 25
}

dncnn_s() {  # SIGMA (of 255): DnCNN-S for that noise level, fine-tuned from dncnn_gray_blind
  local sigma
  sigma=$(python -c "print(round($1 / 255, 6))")
  dncnn "dncnn_s$1" "DnCNN-S gray, Gaussian $1 (fine-tuned, CPU run)" --init weights/dncnn_gray_blind.safetensors \
    --range "sigma=$sigma:$sigma" --lr 3e-4 --minutes 5
}

dncnn_s15() { dncnn_s 15; }
dncnn_s25() { dncnn_s 25; }
dncnn_s50() { dncnn_s 50; }

# The colour DnCNN, from scratch on the images of scripts/make_colour_data.py; without batch norm (with it,
# a run sat at predicting no noise for 600 steps).
dncnn_color_blind() {
  [ -d "$COLOUR" ] || python scripts/make_colour_data.py --out "$COLOUR"
  dncnn dncnn_color_blind "DnCNN colour, blind Gaussian 0-55 (CPU run)" --arch dncnn --data "$COLOUR/train" \
    --arch-set channels=3 --arch-set depth=17 --arch-set width=64 --arch-set batch_norm=false \
    --range sigma=0:0.2157 --val-set sigma=0.098 --lr 1e-3 --minutes 40
}

# The flagships: a small DRUNet-style residual U-Net (3 levels of 32/64/128 channels, 2 residual blocks each,
# the noise level as an input map), blind over σ 0-55. Two runs on one CPU thread each (batch 16): from
# scratch, then continued with --init, a fresh cosine at a lower rate and a warm-up. Run 2 was stopped by
# its checkpoint at step 6,500 and finished with the same command plus --resume --steps 6500; the card's
# curve joins both runs' CSVs (run 2's steps and seconds counted on from run 1's).
drunet() {  # NAME CHANNELS DATA TITLE
  local common=(--arch drunet --arch-set "channels=$2" --arch-set width=32 --arch-set levels=3 --arch-set blocks=2
                --arch-set noise_map=true --arch-set residual=true --data "$3" --val-images 8
                --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098
                --patch 64 --batch 16 --steps 1000000 --schedule cosine --loss l1 --val-every 250
                --checkpoint-every 250 --threads 1 --title "$4")
  python -m denoise_core train --out "runs/$1.run1" "${common[@]}" --minutes "$5" --lr 5e-4 --seed 0
  python -m denoise_core train --out "weights/$1" --init "runs/$1.run1.safetensors" "${common[@]}" \
    --minutes 130 --lr 3e-4 --warmup 100 --seed 1
  python scripts/ship_weights.py "weights/$1.safetensors"
}
drunet_gray_blind() {
  [ -d training_data/gray ] || python scripts/make_gray_data.py
  drunet drunet_gray_blind 1 training_data/gray "DRUNet-style gray, blind Gaussian σ 0–55 (CPU run)" 90
}
drunet_color_blind() {
  drunet drunet_color_blind 3 ../shared/data/cbsd432 "DRUNet-style colour, blind Gaussian σ 0–55 (CPU run)" 85
}

MODELS=(drunet_gray_blind drunet_color_blind ffdnet_gray_blind ffdnet_ct ffdnet_ct_lowdose ffdnet_mri ffdnet_xray ffdnet_salt_pepper ffdnet_speckle ffdnet_poisson
        ffdnet_mixed unet_gray_blind autoencoder_gray_blind dncnn_gray_blind dncnn_s15 dncnn_s25 dncnn_s50
        dncnn_color_blind)
for model in "${@:-${MODELS[@]}}"; do
  [[ " ${MODELS[*]} " == *" $model "* ]] || { echo "unknown model '$model' (valid: ${MODELS[*]})" >&2; exit 2; }
  "$model"
done
