#!/usr/bin/env python3
"""The Stable Diffusion-scale works of `diffuse bench --only sd`, measured in PyTorch and OpenVINO.

  python tools/bench_reference.py SD_DIR OUT.jsonl [--sizes 256,512] [--repetitions N]
                                                   [--engines torch,openvino]

SD_DIR is a diffusers folder (unet/, vae/, text_encoder/), e.g. from tools/make_sd15_random.py.
Works, all fp32 on 2 threads (the work names of `diffuse bench --json`):
  text_encoder       CLIP text encoder, batch 2 x 77 token ids
  unet_step_<S>      one UNet2DConditionModel call, batch 2, latents [2,4,S/8,S/8], timestep 500,
                     context [2,77,768]
  vae_decode_<S>     AutoencoderKL.decode of one latent [1,4,S/8,S/8] (divided by the scaling factor)
Each work: one warm-up run, then the median of N timed runs (default 3). PyTorch runs under
torch.inference_mode() with torch.set_num_threads(2); OpenVINO converts the torch module with
static example inputs and compiles it for CPU (INFERENCE_NUM_THREADS 2, INFERENCE_PRECISION_HINT
f32). Appends one JSON line per work to OUT.jsonl:
  {"engine": "torch"|"openvino", "work": W, "seconds": MEDIAN, "runs": [...], ...}
OpenVINO's lines also carry "rel_l2", ||out_openvino - out_torch|| / ||out_torch|| on the same
inputs. Each engine runs in its own process, so that the torch process's peak resident memory is
recorded too ({"engine": "torch", "work": "peak_memory_gb", "value": GiB}), as Diffuse records its
own. Without the openvino package, OpenVINO is skipped with a note.

Needs: torch, diffusers, transformers (and openvino for OpenVINO). Read tools/bench_compare.py for
the table. The 512 works take minutes of both cores and a few GB of memory per engine.
"""

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

PROG = "bench_reference.py"
ENGINES = ("torch", "openvino")
THREADS = 2


def fail(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


def note(message):
    print(f"{PROG}: {message}", file=sys.stderr, flush=True)


def parse_args():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("sd_dir", metavar="SD_DIR", help="diffusers folder with unet/, vae/, text_encoder/")
    p.add_argument("out", metavar="OUT.jsonl", help="results file (lines are appended)")
    p.add_argument("--sizes", default="256,512",
                   help="image sizes in pixels, comma-separated (default 256,512; empty: the text encoder only)")
    p.add_argument("--repetitions", type=int, default=3, help="timed runs per work after one warm-up (default 3)")
    p.add_argument("--engines", default="torch,openvino", help="comma-separated subset of torch,openvino")
    # internal: the per-engine child process writes (torch) or reads (openvino) reference outputs here
    p.add_argument("--reference-outputs", help=argparse.SUPPRESS)
    a = p.parse_args()

    if not os.path.isdir(a.sd_dir):
        fail(f"SD_DIR {a.sd_dir} does not exist (make one: python tools/make_sd15_random.py {a.sd_dir})")
    missing = [d for d in ("unet", "vae", "text_encoder") if not os.path.isfile(os.path.join(a.sd_dir, d, "config.json"))]
    if missing:
        fail(f"{a.sd_dir} is not a Stable Diffusion diffusers folder: no {', '.join(d + '/config.json' for d in missing)}")
    try:
        a.sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    except ValueError:
        fail(f"--sizes must be comma-separated integers, got {a.sizes!r}")
    if any(s <= 0 or s % 8 for s in a.sizes):
        fail(f"--sizes must be positive multiples of 8, got {a.sizes}")
    if a.repetitions < 1:
        fail("--repetitions must be at least 1")
    a.engines = [e.strip() for e in a.engines.split(",") if e.strip()]
    unknown = [e for e in a.engines if e not in ENGINES]
    if unknown or not a.engines:
        fail(f"--engines must be a subset of {','.join(ENGINES)}, got {','.join(unknown) or 'nothing'}")
    for pkg in ("torch", "diffusers", "transformers"):
        if importlib.util.find_spec(pkg) is None:
            fail(f"{sys.executable} has no {pkg} module (needs torch, diffusers, transformers; openvino optional)")
    if "openvino" in a.engines and importlib.util.find_spec("openvino") is None:
        note(f"openvino is not installed in {sys.executable}: skipping OpenVINO (pip install openvino)")
        a.engines.remove("openvino")
        if not a.engines:
            sys.exit(0)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    os.makedirs(out_dir, exist_ok=True)
    return a


def timed(fn, reps):
    """One warm-up call, then `reps` timed calls: (median seconds, runs)."""
    fn()
    runs = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs), runs


def append(path, record):
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def run_engine(a, engine):
    """All works for one engine, in this process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gc

    import numpy as np
    import torch
    import diffusers
    import transformers
    from diffusers import AutoencoderKL, UNet2DConditionModel
    from transformers import CLIPTextModel

    torch.set_num_threads(THREADS)
    # Keep stderr to this script's own lines: no tracer warnings, load notes or progress bars.
    import warnings
    warnings.simplefilter("ignore")
    diffusers.utils.logging.set_verbosity_error()
    diffusers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    versions = {"torch": torch.__version__, "diffusers": diffusers.__version__,
                "transformers": transformers.__version__, "python": platform.python_version()}
    if engine == "openvino":
        import openvino as ov
        versions["openvino"] = ov.__version__
        core = ov.Core()
    refs = a.reference_outputs

    # Thin wrappers so that every module is a plain tensor-in, tensor-out function (what
    # openvino.convert_model traces) and torch times exactly the same call.
    class Text(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, ids):
            return self.m(input_ids=ids, return_dict=False)[0]

    class UNetStep(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, latents, timesteps, context):
            return self.m(latents, timesteps, encoder_hidden_states=context, return_dict=False)[0]

    class Decode(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m
            self.scale = float(m.config.scaling_factor)

        def forward(self, z):
            return self.m.decode(z / self.scale, return_dict=False)[0]

    def load(kind):
        path = os.path.join(a.sd_dir, kind)
        t = time.perf_counter()
        if kind == "unet":
            m = UNetStep(UNet2DConditionModel.from_pretrained(path, torch_dtype=torch.float32))
        elif kind == "vae":
            m = Decode(AutoencoderKL.from_pretrained(path, torch_dtype=torch.float32))
        else:
            m = Text(CLIPTextModel.from_pretrained(path, torch_dtype=torch.float32))
        note(f"[{engine}] loaded {kind} in {time.perf_counter() - t:.1f} s")
        return m.eval()

    def inputs(work, size):
        g = torch.Generator().manual_seed(1234)  # the same inputs in both engines' processes
        if work == "text_encoder":
            return (torch.randint(0, 49408, (2, 77), generator=g),)
        s = size // 8
        if work.startswith("unet_step"):
            return (torch.randn(2, 4, s, s, generator=g), torch.full((2,), 500.0),
                    torch.randn(2, 77, 768, generator=g))
        return (torch.randn(1, 4, s, s, generator=g),)

    def measure(module, work, size):
        x = inputs(work, size)
        ref_file = os.path.join(refs, work + ".npy") if refs else None
        rec = {"engine": engine, "work": work, "threads": THREADS, **versions}
        if engine == "torch":
            with torch.inference_mode():
                out = module(*x)
                seconds, runs = timed(lambda: module(*x), a.repetitions)
            if ref_file:
                np.save(ref_file, out.numpy())
        else:
            with torch.inference_mode():
                if ref_file and os.path.exists(ref_file):
                    ref = np.load(ref_file)
                else:
                    ref = module(*x).numpy()  # untimed, for rel_l2 only
                t = time.perf_counter()
                ov_model = ov.convert_model(module, example_input=x)
                compiled = core.compile_model(ov_model, "CPU", {"INFERENCE_NUM_THREADS": THREADS,
                                                                "INFERENCE_PRECISION_HINT": "f32"})
                del ov_model
                rec["convert_compile_seconds"] = time.perf_counter() - t
            feed = [v.numpy() for v in x]
            out = compiled(feed)[0]
            seconds, runs = timed(lambda: compiled(feed), a.repetitions)
            ref64 = ref.astype(np.float64)
            rec["rel_l2"] = float(np.linalg.norm(out.astype(np.float64) - ref64) / np.linalg.norm(ref64))
            del compiled
        rec.update(seconds=seconds, runs=runs, loadavg=list(os.getloadavg()))
        append(a.out, rec)
        extra = f"  rel_l2 {rec['rel_l2']:.2e}" if "rel_l2" in rec else ""
        note(f"[{engine}] {work:<16} {seconds:8.3f} s  (runs: {', '.join(f'{r:.2f}' for r in runs)}){extra}")
        gc.collect()

    # One model at a time, loaded once; freed before the next so that only one big model is resident.
    for kind, works in (("text_encoder", [("text_encoder", 0)]),
                        ("unet", [(f"unet_step_{s}", s) for s in a.sizes]),
                        ("vae", [(f"vae_decode_{s}", s) for s in a.sizes])):
        if not works:
            continue
        module = load(kind)
        for work, size in works:
            measure(module, work, size)
        del module
        gc.collect()

    if engine == "torch":
        # ru_maxrss is in KiB on Linux; the same GiB as `diffuse bench` prints.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1048576
        append(a.out, {"engine": "torch", "work": "peak_memory_gb", "value": peak, **versions})
        note(f"[torch] peak resident memory {peak:.2f} GB")


def main():
    a = parse_args()
    if len(a.engines) == 1:
        run_engine(a, a.engines[0])
        return
    # Several engines: each in a fresh process (memory returned between them, a clean torch peak);
    # the torch process leaves its outputs for OpenVINO's rel_l2.
    status = 0
    with tempfile.TemporaryDirectory(prefix="bench-reference-") as refs:
        for engine in a.engines:
            cmd = [sys.executable, os.path.abspath(__file__), a.sd_dir, a.out, "--sizes", ",".join(map(str, a.sizes)),
                   "--repetitions", str(a.repetitions), "--engines", engine, "--reference-outputs", refs]
            code = subprocess.call(cmd)
            if code != 0:
                note(f"the {engine} run failed (exit {code})")
                status = 1
    sys.exit(status)


if __name__ == "__main__":
    main()
