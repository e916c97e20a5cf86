#!/usr/bin/env bash
# Gather into one folder what a laptop without internet needs to install and run the workbench:
#   DIR/wheels/   every package pinned in requirements.txt (and its dependencies), plus pip's build tools
#   DIR/weights/  the chosen published models (`python -m denoise_core weights list`), under their official names
# Then, on the laptop: `bash scripts/setup.sh --offline DIR` (no package index is asked).
#
#   bash scripts/make_offline_bundle.sh DIR [--mirror FOLDER] [NAME ...]
# NAME: a published model or download (dncnn_25, drunet_gray, lpips, ...); --mirror copies them from FOLDER
# (files under their official names, e.g. ../shared/reference_weights/kair) instead of their official addresses.
set -euo pipefail
if (($# < 1)) || [[ $1 == -* ]]; then
  echo "usage: bash scripts/make_offline_bundle.sh DIR [--mirror FOLDER] [NAME ...]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mkdir -p "$1" && cd "$1" && pwd)"
shift
mirror=""
names=()
while (($#)); do
  case $1 in
    --mirror) mirror="$(cd "$2" && pwd)"; shift 2 ;;
    *) names+=("$1"); shift ;;
  esac
done

mkdir -p "$dir/wheels" "$dir/weights"
cp "$root/requirements.txt" "$dir/requirements.txt"
python -m pip download --disable-pip-version-check --quiet --dest "$dir/wheels" -r "$root/requirements.txt" \
  pip setuptools wheel

if ((${#names[@]})); then
  cache="$(mktemp -d)"
  trap 'rm -rf "$cache"' EXIT
  DENOISE_WORKBENCH_CACHE="$cache" python - "$dir/weights" "$mirror" "${names[@]}" <<'PY'
import shutil
import sys
from pathlib import Path

from denoise_core import weights
from denoise_core.weights.extras import download_dir

out, mirror, names = Path(sys.argv[1]), sys.argv[2] or None, sys.argv[3:]
for name in names:
    weights.fetch(name, mirror=mirror)
    if name in weights.ZOO:
        files = [weights.zoo_folder() / weights.ZOO[name].source.filename]
    else:
        files = weights.fetched_paths(name)
    for path in files:
        shutil.copyfile(path, out / path.name)
    (out / "NAMES").open("a").write(name + "\n")
    print(f"{name}: {', '.join(path.name for path in files)}")
PY
fi
echo "offline bundle in $dir: $(ls "$dir/wheels" | wc -l) wheels, $(du -sh "$dir" | cut -f1)"
