#!/usr/bin/env bash
# Install what Denoise Workbench needs: Debian packages (when apt-get is there) and the pinned
# Python packages. Safe to run again. Real-ESRGAN's ncnn runtime needs the Vulkan loader and LLVM's
# OpenMP runtime (it runs on the CPU without a GPU), and the OpenCV build its wheel pulls in needs
# libGL and GLib. `--with-browser` adds headless Chromium for the browser test. `--offline DIR` installs the
# Python packages from DIR/wheels with no package index, and the published models of DIR/weights, both gathered
# beforehand by scripts/make_offline_bundle.sh (Debian packages are then expected to be installed already).
set -euo pipefail
offline=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  [[ ${args[i]} == --offline ]] && offline="$(cd "${args[i + 1]:?--offline needs a folder}" && pwd)"
done
cd "$(dirname "$0")/.."

if [[ -n $offline ]]; then
  python -m pip install --quiet --disable-pip-version-check --no-index --find-links "$offline/wheels" \
    -r requirements.txt
  if [[ -f $offline/weights/NAMES ]]; then
    while read -r name; do
      python -m denoise_core weights fetch "$name" --mirror "$offline/weights" --quiet
    done <"$offline/weights/NAMES"
  fi
  exit 0
fi

apt_packages=(libvulkan1 libomp5-14 libgl1 libglib2.0-0)
[[ " $* " == *" --with-browser "* ]] && apt_packages+=(chromium chromium-driver)

if ((${#apt_packages[@]})) && command -v apt-get >/dev/null; then
  sudo=""
  [[ $(id -u) == 0 ]] || sudo="sudo"
  if ! dpkg -s "${apt_packages[@]}" >/dev/null 2>&1; then
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}"
  fi
fi

python -m pip install --quiet --disable-pip-version-check -r requirements.txt
