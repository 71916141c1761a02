#!/usr/bin/env python3
"""Prints the Stable Diffusion-scale comparison of Diffuse, PyTorch and OpenVINO as a Markdown table.

  python3 tools/bench_compare.py FILE.jsonl

FILE.jsonl holds the lines of `diffuse bench --only sd,train --json FILE` (engine "diffuse"), of
tools/bench_reference.py (engines "torch" and "openvino") and of tools/bench_train_reference.py
(engine "torch", the training step):
  {"engine": E, "work": W, "seconds": MEDIAN, "runs": [...]}   a timed work
  {"engine": E, "work": "peak_memory_gb", "value": GB}          peak resident memory
The latest line per (engine, work) counts. Ratio columns are Diffuse's time over the other's
(< 1: Diffuse is faster); in the memory row they are the memory ratio. Missing engines or works
show as "—". Standard library only.
"""

import json
import re
import sys

PROG = "bench_compare.py"
ENGINES = (("diffuse", "Diffuse"), ("torch", "PyTorch"), ("openvino", "OpenVINO"))
DASH = "—"


def label(work):
    m = re.fullmatch(r"(unet_step|vae_decode)_(\d+)", work)
    if work == "text_encoder":
        return "CLIP text encoder, batch 2 × 77"
    if m and m.group(1) == "unet_step":
        return f"UNet step, batch 2, {m.group(2)}²"
    if m:
        return f"VAE decode, {m.group(2)}²"
    if work == "peak_memory_gb":
        return "peak resident memory (GB)"
    m = re.fullmatch(r"train_step_b(\d+)_(\d+)", work)
    if m:
        return f"training step, batch {m.group(1)} at {m.group(2)}²"
    return work


def order(work):
    """text encoder, then per size the UNet step and the VAE decode, others, memory last."""
    m = re.fullmatch(r"(unet_step|vae_decode)_(\d+)", work)
    if work == "text_encoder":
        return (0, 0, 0, work)
    if m:
        return (1, int(m.group(2)), 0 if m.group(1) == "unet_step" else 1, work)
    if work == "peak_memory_gb":
        return (3, 0, 0, work)
    return (2, 0, 0, work)


def read(path):
    latest = {}  # (engine, work) -> record; later lines replace earlier ones
    try:
        f = open(path)
    except OSError as e:
        print(f"{PROG}: cannot read {path}: {e.strerror}", file=sys.stderr)
        sys.exit(2)
    with f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                rec = json.loads(line)
            except ValueError:
                print(f"{PROG}: {path}:{n}: not JSON, skipped", file=sys.stderr)
                continue
            if not isinstance(rec, dict) or "engine" not in rec or "work" not in rec:
                continue
            value = rec.get("seconds", rec.get("value"))
            if not isinstance(value, (int, float)):
                continue
            latest[(rec["engine"], rec["work"])] = dict(rec, _value=float(value))
    return latest


def fmt(value, memory):
    if value is None:
        return DASH
    if memory:
        return f"{value:.2f}"
    return f"{value:.3f} s" if value < 1 else f"{value:.2f} s"


def main():
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip(), file=sys.stderr if len(sys.argv) != 2 else sys.stdout)
        sys.exit(0 if len(sys.argv) == 2 else 2)
    latest = read(sys.argv[1])
    if not latest:
        print(f"{PROG}: no benchmark lines in {sys.argv[1]}", file=sys.stderr)
        sys.exit(1)
    known = {e for e, _ in ENGINES}
    others = sorted({e for e, _ in latest} - known)
    if others:
        print(f"{PROG}: ignoring engine(s) {', '.join(others)}", file=sys.stderr)
    works = sorted({w for e, w in latest if e in known}, key=order)

    rows = [["work"] + [name for _, name in ENGINES] + ["Diffuse/PyTorch", "Diffuse/OpenVINO"]]
    for work in works:
        memory = work == "peak_memory_gb"
        values = {e: latest[(e, work)]["_value"] if (e, work) in latest else None for e, _ in ENGINES}
        ratios = []
        for other in ("torch", "openvino"):
            d, o = values["diffuse"], values[other]
            ratios.append(f"{d / o:.2f}" if d is not None and o else DASH)
        rows.append([label(work)] + [fmt(values[e], memory) for e, _ in ENGINES] + ratios)

    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    def line(cells):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"
    print(line(rows[0]))
    print("|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)) + "|")
    for r in rows[1:]:
        print(line(r))

    print()
    print("Times: median after warm-up (one run; two steps for PyTorch's training step), fp32, 2 threads. Ratios < 1: Diffuse is faster (less memory in the memory row).")
    rel = [(w, latest[("openvino", w)]["rel_l2"]) for w in works
           if ("openvino", w) in latest and isinstance(latest[("openvino", w)].get("rel_l2"), (int, float))]
    if rel:
        print("OpenVINO output vs PyTorch's, relative L2: " + ", ".join(f"{w} {r:.1e}" for w, r in rel) + ".")
    versions = []
    for key, name in (("torch", "PyTorch"), ("openvino", "OpenVINO")):
        v = next((r[key] for (e, _), r in latest.items() if isinstance(r.get(key), str)), None)
        if v:
            versions.append(f"{name} {v.split('-')[0]}")
    if versions:
        print("Versions: " + ", ".join(versions) + ".")


if __name__ == "__main__":
    main()
