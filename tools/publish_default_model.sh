#!/usr/bin/env bash
# Copies the inference files of a `diffuse train` output folder (model_index.json, unet/, scheduler/)
# into the committed default-model folder. The text encoder stays where `make deps` put it: the
# trainer's model_index.json points at it by a relative path (../../.deps/all-MiniLM-L6-v2); the
# published one names it by its folder name alone, found beside the model folder (models/ in a
# checkout, where make deps links it; PREFIX/share/diffuse/models once installed). The
# model_index.json gets `_diffuse_sizes` (the one size a pixel model draws, its training
# resolution) if the run's lacks it.
#
# Usage: tools/publish_default_model.sh RUN_DIR MODEL_DIR
set -euo pipefail
run="$1"; dest="$2"
for f in model_index.json unet/config.json unet/diffusion_pytorch_model.safetensors scheduler/scheduler_config.json; do
    [ -f "$run/$f" ] || { echo "publish_default_model: $run/$f is missing (train first)" >&2; exit 1; }
done
mkdir -p "$dest/unet" "$dest/scheduler"
for f in model_index.json unet/config.json scheduler/scheduler_config.json unet/diffusion_pytorch_model.safetensors; do
    cp "$run/$f" "$dest/$f.tmp" && mv "$dest/$f.tmp" "$dest/$f"
done
sed -i -E 's|("_diffuse_text_encoder" *: *")[^"]*/([^"/]+)"|\1\2"|' "$dest/model_index.json"
python3 - "$dest/model_index.json" "$run/training.json" <<'PY'
import json, sys
index_path, training_path = sys.argv[1], sys.argv[2]
index = json.load(open(index_path))
if "_diffuse_sizes" not in index:
    resolution = json.load(open(training_path))["resolution"]
    index["_diffuse_sizes"] = [[resolution, resolution]]
    with open(index_path + ".tmp", "w") as f:
        json.dump(index, f, indent=2, sort_keys=True)
        f.write("\n")
    import os
    os.replace(index_path + ".tmp", index_path)
PY
[ -f "$run/loss.png" ] && cp "$run/loss.png" "$dest/loss.png"
cp "$run/training.json" "$dest/training.json"
echo "published $(du -sh "$dest/unet/diffusion_pytorch_model.safetensors" | cut -f1) of weights to $dest"
