#!/usr/bin/env bash
# Usage: tools/make_turbo_folder.sh SD_DIR OUT_DIR
# An SD-Turbo-style view of a Stable Diffusion folder for `make bench-few-step`: the same weights
# (symbolic links to SD_DIR's components) with SD-Turbo's scheduler config (Euler ancestral,
# trailing timestep spacing), as diffusers and `diffuse generate` both read it. Idempotent.
set -euo pipefail
src=$(cd "$1" && pwd)
out=$2
mkdir -p "$out/scheduler"
for component in unet vae text_encoder tokenizer; do ln -sfn "$src/$component" "$out/$component"; done
python3 - "$src" "$out" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
index = json.load(open(f"{src}/model_index.json"))
index["scheduler"] = ["diffusers", "EulerAncestralDiscreteScheduler"]
json.dump(index, open(f"{out}/model_index.json", "w"), indent=2)
config = json.load(open(f"{src}/scheduler/scheduler_config.json"))
config.update({"_class_name": "EulerAncestralDiscreteScheduler", "timestep_spacing": "trailing"})
for key in ("skip_prk_steps", "set_alpha_to_one"):
    config.pop(key, None)
json.dump(config, open(f"{out}/scheduler/scheduler_config.json", "w"), indent=2)
PY
