#!/usr/bin/env bash
# Installs the built `diffuse` binary into PREFIX/bin and its data into PREFIX/share/diffuse/models:
# the bundled text-to-emoji model (models/emoji), its evaluation classifier (models/emoji-classifier)
# and the text encoder the model names (all-MiniLM-L6-v2, fetched by make deps). Each file is copied
# to a temporary name beside its destination and renamed into place, so an interrupted install never
# leaves a half-written file under a real name.
#
# Usage: tools/install.sh BINARY PREFIX      (make install calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$1"; prefix="$2"
[ -x "$binary" ] || { echo "install: $binary is missing (make build first)" >&2; exit 1; }
[ -f .deps/all-MiniLM-L6-v2/model.safetensors ] || { echo "install: .deps/all-MiniLM-L6-v2 is missing (make deps)" >&2; exit 1; }

# copy SRC DEST: one file, through DEST.partial-$$.
copy() {
    mkdir -p "$(dirname "$2")"
    cp -L "$1" "$2.partial-$$"
    chmod "$3" "$2.partial-$$"
    mv -f "$2.partial-$$" "$2"
}

copy "$binary" "$prefix/bin/diffuse" 755
data="$prefix/share/diffuse/models"
for source in models/emoji models/emoji-classifier .deps/all-MiniLM-L6-v2; do
    name=$(basename "$source")
    (cd "$source" && find . -type f ! -name '*.partial-*' ! -name 'samples-*.png') | while read -r file; do
        copy "$source/$file" "$data/$name/${file#./}" 644
    done
done
echo "installed $prefix/bin/diffuse and $(du -sh "$data" | cut -f1) of models in $data"
