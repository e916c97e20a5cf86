#!/usr/bin/env bash
# Install what Denoise Workbench needs: Debian packages (when apt-get is there) and the pinned
# Python packages. Safe to run again. Real-ESRGAN's ncnn runtime needs the Vulkan loader and LLVM's
# OpenMP runtime (it runs on the CPU without a GPU), and the OpenCV build its wheel pulls in needs
# libGL and GLib. `--with-browser` adds headless Chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

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
