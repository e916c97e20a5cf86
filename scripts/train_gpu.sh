#!/usr/bin/env bash
# Continue training the shipped models on one CUDA device within a wall-time budget, then pack the results.
#
#   python scripts/pack_training_data.py      # first, here: the images, into training_data/packed (git-ignored)
#   bash scripts/train_gpu.sh --minutes 8     # on the device, run with carry: ["training_data/packed"]
#   bash scripts/train_gpu.sh --minutes 0.2   # on a CPU: the same path end to end, a few steps per flagship
#
# Options: --minutes M   wall time in all, packing included (default 8; the flagships always run, a few
#                        seconds at least, so a tiny budget on a CPU takes longer)
#          --data DIR    the packed images (default training_data/packed)
#          --parallel N  jobs at a time (default: on CUDA one per 2 CPU cores, at most 8; on a CPU one per flagship)
# Every job is `python -m denoise_core train --init weights/NAME.safetensors --minutes SHARE ...` with the
# recipe of its model card (mixed precision is on by default on CUDA), writing into a scratch folder:
# weights/ is never written. The flagships (role "first") start at once, each with the whole budget; the
# other jobs ("fill") share the remaining lanes in table order, each lane taking the next job while time is left.
#
# Python packages the device lacks travel as wheels in training_data/wheels (carry it too); they are
# installed into /tmp/site when an import fails. Fill it here with
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_28_x86_64 --platform manylinux2014_x86_64 -d training_data/wheels NAME==VERSION
#
# Output: $OUT (default ./gpu_out) gets train_gpu.tar.gz.part0, .part1, ... (one archive cut in 15 MiB pieces,
# as no file over 16 MiB comes back from the device), holding weights/NAME.safetensors, weights/NAME.csv,
# summary.json, summary.md (each job's final validation PSNR, steps, seconds, device) and logs/NAME.log.
# Unpack the weights and curves into weights/ (from the repository root), and read the summary:
#   cat gpu_out/train_gpu.tar.gz.part* | tar -xz weights
#   cat gpu_out/train_gpu.tar.gz.part* | tar -xzO summary.md
set -euo pipefail

# name                   role   data (packed folders, + joins them in order)  options: the recipe of the model card
JOBS=(
  "drunet_gray_blind      first  cbsd432+train400  --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 3e-4 --warmup 100"
  "drunet_color_blind     first  cbsd432           --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 3e-4 --warmup 100"
  "dncnn_s15              fill   train400          --noise gaussian --noise-set clip=false --range sigma=0.058824:0.058824 --patch 40 --lr 3e-4"
  "dncnn_s25              fill   train400          --noise gaussian --noise-set clip=false --range sigma=0.098039:0.098039 --patch 40 --lr 3e-4"
  "dncnn_s50              fill   train400          --noise gaussian --noise-set clip=false --range sigma=0.196078:0.196078 --patch 40 --lr 3e-4"
  "unet_gray_blind        fill   train400          --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 1e-3 --loss mse+ssim"
  "ffdnet_ct              fill   medical/ct        --val-images 1 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 3e-4"
  "ffdnet_mri             fill   medical/mri       --val-images 4 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 3e-4"
  "ffdnet_xray            fill   medical/xray      --val-images 1 --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 3e-4"
  "ffdnet_poisson         fill   train400          --noise poisson --range peak=3:150:log --pool 4 --val-set peak=30 --patch 64 --lr 3e-4"
  "ffdnet_speckle         fill   train400          --noise speckle --range var=0.006:0.15:log --pool 8 --val-set var=0.04 --patch 64 --lr 3e-4 --loss mse"
  "ffdnet_salt_pepper     fill   train400          --noise salt_pepper --range amount=0.005:0.5:log --range salt_ratio=0.2:0.8 --pool 4 --val-set amount=0.2 --patch 64 --lr 3e-4 --loss mse"
  "ffdnet_mixed           fill   train400          --noise mixed --range strength=0.15:1 --pool 4 --val-set strength=0.5 --noise scribbles --range count=2:30 --range thickness=1:6 --range cross_ratio=0.05:0.95 --pool 4 --val-set count=8 --val-set thickness=2 --patch 64 --lr 3e-4"
  "ffdnet_gray_blind      fill   cbsd432+train400  --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 1e-3"
  "dncnn_color_blind      fill   cbsd432           --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 40 --lr 1e-3"
  "dncnn_gray_blind       fill   train400          --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 40 --lr 1e-3"
  "autoencoder_gray_blind fill   train400          --noise gaussian --noise-set clip=false --range sigma=0:0.2157 --val-set sigma=0.098 --patch 64 --lr 1e-3 --loss mse"
)
# Left out: ffdnet_ct_lowdose, whose --pool 16 of projection-domain noise takes minutes of CPU before its first step.
COMMON=(--batch 32 --steps 100000000 --schedule cosine --seed 0 --val-every 500 --checkpoint-every 2000)

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MINUTES=8 DATA=$ROOT/training_data/packed PARALLEL=
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes|--data|--parallel) [ $# -ge 2 ] || { echo "error: $1 needs a value" >&2; exit 2; } ;;&
    --minutes) MINUTES=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --parallel) PARALLEL=$2; shift 2 ;;
    *) echo "error: unknown option '$1' (valid: --minutes M, --data DIR, --parallel N)" >&2; exit 2 ;;
  esac
done
[[ $MINUTES =~ ^[0-9]*\.?[0-9]+$ ]] && awk -v m="$MINUTES" 'BEGIN { exit !(m > 0) }' \
  || { echo "error: --minutes '$MINUTES': expected a number of minutes above 0" >&2; exit 2; }
[[ -z $PARALLEL || $PARALLEL =~ ^[1-9][0-9]*$ ]] || { echo "error: --parallel '$PARALLEL': expected 1 or more" >&2; exit 2; }
[ -d "$DATA" ] || { echo "error: $DATA: no packed training images (run python scripts/pack_training_data.py first)" >&2; exit 2; }
DATA=$(cd "$DATA" && pwd)
OUT=$(mkdir -p "${OUT:-gpu_out}" && cd "${OUT:-gpu_out}" && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-$(command -v python3 || command -v python)}
export PYTHONUNBUFFERED=1 TQDM_DISABLE=1
BEGIN=$SECONDS

# --- the machine: versions, and the packages denoise_core needs (wheels from training_data/wheels if missing)
probe() {  # "DEVICE {versions as JSON}", or "missing MODULE" when the train command cannot be imported
  "$PYTHON" -c "
import json, platform
try:
    import denoise_core.cli, torch
except Exception as error:
    print('missing', getattr(error, 'name', None) or str(error).splitlines()[0])
    raise SystemExit
cuda = torch.cuda.is_available()
print('cuda' if cuda else 'cpu', json.dumps({
    'python': platform.python_version(), 'torch': torch.__version__, 'cuda': torch.version.cuda,
    'cudnn': torch.backends.cudnn.version() if cuda else None, 'gpu': torch.cuda.get_device_name(0) if cuda else None,
    'device': 'cuda' if cuda else 'cpu'}))" 2>/dev/null
}
read -r DEVICE VERSIONS <<<"$(probe)"
if [ "$DEVICE" = missing ] && compgen -G "training_data/wheels/*.whl" >/dev/null; then
  echo "installing $(ls training_data/wheels/*.whl | wc -l) wheels from training_data/wheels into /tmp/site"
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site \
    training_data/wheels/*.whl
  export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
  read -r DEVICE VERSIONS <<<"$(probe)"
fi
case "$DEVICE" in
  cpu|cuda) ;;
  missing) echo "error: $PYTHON cannot import '$VERSIONS', which denoise_core needs: carry its wheel in training_data/wheels (see this script's header)" >&2; exit 2 ;;
  *) echo "error: '$PYTHON' does not run Python with torch (set PYTHON=/path/to/python3)" >&2; exit 2 ;;
esac
echo "machine: $VERSIONS"

# --- the plan: lanes, threads, each job's share of the budget (seconds)
CORES=$(nproc)
FIRST=() FILL=()
for line in "${JOBS[@]}"; do
  read -r name role _ <<<"$line"
  if [ "$role" = first ]; then FIRST+=("$name"); else FILL+=("$name"); fi
done
if [ "$DEVICE" = cuda ]; then
  SETUP=40 LEAST=30 DEFAULT_PARALLEL=$(( CORES / 2 < 8 ? CORES / 2 : 8 ))
else
  SETUP=15 LEAST=3 DEFAULT_PARALLEL=${#FIRST[@]}
fi
# SETUP: a job's seconds outside its training budget (start, data, pooled noise, last validation, saving);
# LEAST: the least training worth starting a job for; PACKING: the seconds kept for the summary and archive.
PACKING=10
LANES=${PARALLEL:-$DEFAULT_PARALLEL}
LANES=$(( LANES > ${#FIRST[@]} ? LANES : ${#FIRST[@]} ))
THREADS=$(( CORES / LANES > 1 ? CORES / LANES : 1 ))
WALL=$(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }')
FILL_LANES=$(( LANES - ${#FIRST[@]} ))
max() { echo $(( $1 > $2 ? $1 : $2 )); }
FIRST_SHARE=$(max $LEAST $(( WALL - PACKING - SETUP )))
if [ $FILL_LANES -gt 0 ] && [ ${#FILL[@]} -gt 0 ]; then
  PER_LANE=$(( (${#FILL[@]} + FILL_LANES - 1) / FILL_LANES ))
  FILL_SHARE=$(max $LEAST $(( (WALL - PACKING) / PER_LANE - SETUP )))
fi
echo "plan: $WALL s on $DEVICE, $LANES lanes of $THREADS threads; flagships ${FIRST[*]} ${FIRST_SHARE} s each;" \
     "${#FILL[@]} other jobs on $FILL_LANES lanes, up to ${FILL_SHARE:-0} s each while time is left"

# --- the data: every folder the table names, joined folders as links in $WORK/data
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/weights" "$WORK/logs" "$WORK/status" "$WORK/claims" "$WORK/data"
job_field() {  # NAME FIELD: the job's data (FIELD 2) or options (FIELD 3) from the table
  local line name rest
  for line in "${JOBS[@]}"; do
    read -r name rest <<<"$line"
    [ "$name" = "$1" ] && { awk -v f="$2" '{ if (f < 3) print $f; else { $1 = $2 = ""; sub(/^ +/, ""); print } }' <<<"$rest"; return; }
  done
}
job_data() {  # DATA: the folder train reads
  case "$1" in *+*) echo "$WORK/data/$1" ;; *) echo "$DATA/$1" ;; esac
}
for line in "${JOBS[@]}"; do
  read -r _ _ data _ <<<"$line"
  IFS=+ read -r -a parts <<<"$data"
  for part in "${parts[@]}"; do
    [ -d "$DATA/$part" ] || { echo "error: $DATA/$part: missing (run python scripts/pack_training_data.py again)" >&2; exit 2; }
  done
  if [ ${#parts[@]} -gt 1 ] && [ ! -d "$WORK/data/$data" ]; then
    mkdir -p "$WORK/data/$data"
    for part in "${parts[@]}"; do
      for file in "$DATA/$part"/*; do ln -s "$file" "$WORK/data/$data/${part//\//_}_${file##*/}"; done
    done
  fi
done

# --- the jobs
run_job() {  # NAME SECONDS
  local name=$1 seconds=$2 began=$SECONDS rc=0
  echo "start $name: $seconds s of training"
  # shellcheck disable=SC2046  # the table's options split into words on purpose
  OMP_NUM_THREADS=$THREADS "$PYTHON" -m denoise_core train --out "$WORK/weights/$name" \
    --init "weights/$name.safetensors" --data "$(job_data "$(job_field "$name" 2)")" --device "$DEVICE" \
    --threads "$THREADS" --minutes "$(awk -v s="$seconds" 'BEGIN { printf "%.4f", s / 60 }')" "${COMMON[@]}" \
    --title "$name, continued by scripts/train_gpu.sh on $DEVICE" $(job_field "$name" 3) \
    >"$WORK/logs/$name.log" 2>&1 || rc=$?
  echo "$rc $(( SECONDS - began )) $seconds" >"$WORK/status/$name"
  echo "done $name: exit $rc after $(( SECONDS - began )) s"
}
fill_lane() {  # take the next unclaimed fill job while time is left
  local name left
  for name in "${FILL[@]}"; do
    mkdir "$WORK/claims/$name" 2>/dev/null || continue
    left=$(( WALL - (SECONDS - BEGIN) - PACKING - SETUP ))
    if [ $left -lt $LEAST ]; then continue; fi
    run_job "$name" $(( left < FILL_SHARE ? left : FILL_SHARE ))
  done
}
for name in "${FIRST[@]}"; do run_job "$name" "$FIRST_SHARE" & done
for (( lane = 0; lane < FILL_LANES; lane++ )); do fill_lane & done
wait

# --- the summary and the archive
mkdir -p "$WORK/pack/weights"
for file in "$WORK"/weights/*.safetensors "$WORK"/weights/*.csv; do
  [ -e "$file" ] && cp "$file" "$WORK/pack/weights/"
done
cp -r "$WORK/logs" "$WORK/pack/logs"
STATUS=0
"$PYTHON" - "$WORK" "$DATA" "$VERSIONS" "$MINUTES" "$LANES" "$(( SECONDS - BEGIN ))" "${JOBS[@]}" <<'EOF' || STATUS=1
"""Write summary.json and summary.md of the run from the jobs' status files and weights' metadata."""
import json, math, struct, sys
from pathlib import Path

work, data, versions, minutes, lanes, wall, *table = sys.argv[1:]
work, data = Path(work), Path(data)


def metadata(path):
    with open(path, "rb") as handle:
        size = struct.unpack("<Q", handle.read(8))[0]
        return json.loads(handle.read(size)).get("__metadata__", {})


def number(text):
    return float(text) if text not in ("", None) else None


jobs = []
for line in table:
    name, role, folders = line.split()[:3]
    job = {"name": name, "role": role, "data": folders, "status": "not run (no lane or time left)"}
    committed = Path("weights") / f"{name}.safetensors"
    if committed.is_file():
        job["committed_val_psnr"] = number(metadata(committed).get("val_psnr"))
    status = work / "status" / name
    if status.is_file():
        rc, seconds, share = status.read_text().split()
        job.update(exit=int(rc), wall_seconds=int(seconds), training_budget_seconds=int(share))
        weights = work / "weights" / f"{name}.safetensors"
        if rc == "0" and weights.is_file():
            meta = metadata(weights)
            job.update(status="trained", val_psnr=number(meta.get("val_psnr")), steps=int(meta["steps"]),
                       seconds=int(meta["seconds"]), device=meta["device"],
                       amp=json.loads(meta["train_config"]).get("amp"))
        else:
            log = (work / "logs" / f"{name}.log").read_text(errors="replace").strip().splitlines()
            job.update(status="failed", error=log[-1] if log else "")
    jobs.append(job)
manifest = data / "manifest.json"
summary = {**json.loads(versions), "minutes": float(minutes), "lanes": int(lanes), "jobs_wall_seconds": int(wall),
           "data": json.loads(manifest.read_text()) if manifest.is_file() else None, "jobs": jobs}
(work / "pack" / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


def cell(value, digits=2):
    return "" if value is None else f"{value:.{digits}f}" if isinstance(value, float) else str(value)


lines = [f"# scripts/train_gpu.sh: {minutes} min on {summary['gpu'] or 'cpu'}",
         "", f"python {summary['python']}, torch {summary['torch']}, CUDA {summary['cuda'] or 'none'}, "
         f"{lanes} lanes, every job done after {wall} s. Validation PSNR (dB) on each job's held-out images; "
         "'committed' is the committed weights' own last validation, on the data of their model card.", "",
         "| job | status | val PSNR | committed | steps | seconds | device | mixed precision | data |",
         "|---|---|---|---|---|---|---|---|---|"]
for job in jobs:
    lines.append(f"| {job['name']} | {job['status']} | {cell(job.get('val_psnr'))} | "
                 f"{cell(job.get('committed_val_psnr'))} | {cell(job.get('steps'))} | {cell(job.get('seconds'))} | "
                 f"{cell(job.get('device'))} | {cell(job.get('amp'))} | {job['data']} |")
failed = [job for job in jobs if job["status"] == "failed"]
lines += [""] + [f"- {job['name']} failed: {job['error']}" for job in failed]
(work / "pack" / "summary.md").write_text("\n".join(lines).rstrip() + "\n")
print("\n".join(lines))
if not all(math.isfinite(job.get("val_psnr") or math.nan) for job in jobs if job["role"] == "first"):
    print("a flagship has no finite validation PSNR: see its log in the archive")
    sys.exit(1)
EOF
rm -f "$OUT"/train_gpu.tar.gz.part*
tar -czf "$WORK/train_gpu.tar.gz" -C "$WORK/pack" weights summary.json summary.md logs
split -b 15M -d -a 1 "$WORK/train_gpu.tar.gz" "$OUT/train_gpu.tar.gz.part"
echo "$OUT: $(ls "$OUT"/train_gpu.tar.gz.part* | wc -l) part(s), $(du -h "$WORK/train_gpu.tar.gz" | cut -f1) in all, after $(( SECONDS - BEGIN )) s"
exit $STATUS
