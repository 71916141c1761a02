#!/usr/bin/env python3
"""The training step of `diffuse bench --only train`, measured in PyTorch.

  python tools/bench_train_reference.py CONFIG.json OUT.jsonl [--batch 32] [--repetitions N]

CONFIG.json is a diffusers UNet2DModel config (e.g. configs/bench-small-unet.json, the 14.7 M
UNet of issue 4). One step, as `diffuse bench --only train` times it: random images in [-1, 1]
at the config's sample_size, DDPM noise (linear betas 1e-4 … 0.02, 1000 steps) at uniform random
timesteps, the ε target, MSE, backward, AdamW (lr 1e-4, weight decay 1e-2), zeroed gradients.
fp32 on 2 threads (torch.set_num_threads(2)); two warm-up steps (PyTorch's first two are slower:
its optimizer state and kernels are set up), then the median of N timed steps (default 3). Appends to OUT.jsonl, in the format tools/bench_compare.py reads:
  {"engine": "torch", "work": "train_step_b<B>_<S>", "seconds": MEDIAN, "runs": [...], ...}

Needs torch and diffusers.
"""

import argparse
import importlib.util
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_reference import append, timed  # noqa: E402  (the SD works' timing and JSON lines)

PROG = "bench_train_reference.py"
THREADS = 2


def fail(message):
    print(f"{PROG}: {message}", file=sys.stderr)
    sys.exit(2)


def main():
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n")[0])
    p.add_argument("config", metavar="CONFIG.json", help="a diffusers UNet2DModel config")
    p.add_argument("out", metavar="OUT.jsonl", help="results file (a line is appended)")
    p.add_argument("--batch", type=int, default=32, help="images per step (default 32)")
    p.add_argument("--repetitions", type=int, default=3, help="timed steps after one warm-up (default 3)")
    a = p.parse_args()
    if a.batch < 1 or a.repetitions < 1:
        fail("--batch and --repetitions must be at least 1")
    try:
        with open(a.config) as f:
            config = json.load(f)
    except OSError as e:
        fail(f"cannot read {a.config}: {e.strerror}")
    except json.JSONDecodeError as e:
        fail(f"{a.config} is not JSON: {e}")
    if config.get("_class_name", "UNet2DModel") != "UNet2DModel":
        fail(f"{a.config} is a {config.get('_class_name')}, not a UNet2DModel config")
    for pkg in ("torch", "diffusers"):
        if importlib.util.find_spec(pkg) is None:
            fail(f"{sys.executable} has no {pkg} module (needs torch and diffusers)")

    import torch
    import diffusers
    from diffusers import UNet2DModel

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    diffusers.utils.logging.set_verbosity_error()
    model = UNet2DModel.from_config({k: v for k, v in config.items() if not k.startswith("_")})
    model.train()
    size = config.get("sample_size", 32)
    channels = config.get("in_channels", 3)
    clean = torch.rand(a.batch, channels, size, size) * 2 - 1
    betas = torch.linspace(1e-4, 0.02, 1000)
    alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=1e-2)

    def step():
        t = torch.randint(0, 1000, (a.batch,))
        noise = torch.randn_like(clean)
        abar = alphas_cumprod[t].view(-1, 1, 1, 1)
        noisy = abar.sqrt() * clean + (1 - abar).sqrt() * noise
        loss = torch.nn.functional.mse_loss(model(noisy, t).sample, noise)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()  # the first of two warm-up steps; `timed` runs the second
    median, runs = timed(step, a.repetitions)
    params = sum(p.numel() for p in model.parameters())
    print(f"{PROG}: [torch] train step UNet2DModel ({params:,} params), batch {a.batch} at {size}²  "
          f"{median:.3f} s  (runs: {', '.join(f'{r:.2f}' for r in runs)}) = {a.batch / median:.1f} images/s",
          file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    append(a.out, {"engine": "torch", "work": f"train_step_b{a.batch}_{size}", "seconds": median,
                   "runs": runs, "threads": THREADS, "params": params, "torch": torch.__version__})


if __name__ == "__main__":
    main()
