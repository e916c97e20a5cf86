#!/usr/bin/env bash
# Install what Denoise Workbench needs: Debian packages (when apt-get is there) and the pinned
# Python packages. Safe to run again. `--with-browser` adds headless Chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
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
