#!/usr/bin/env python3
"""Whole few-step images (prompt to PNG) in diffusers (PyTorch) and OpenVINO: the reference side of
`make bench-few-step`, which runs `diffuse generate` on the same folders right before.

  python tools/bench_few_step.py --engine torch|openvino --case lcm|lcm-taesd|turbo-taesd \\
      --model SD_DIR [--turbo-model DIR] [--taesd DIR] [--size 512] OUT.jsonl

Cases (issue 23, item 7), all 512², fp32, 2 threads, seed 1, prompt "a red apple on a wooden table":
  lcm          LCMScheduler (from the folder's scheduler config), 4 steps, guidance 1, the folder's VAE
  lcm-taesd    the same with the AutoencoderTiny folder --taesd as decoder
  turbo-taesd  Euler ancestral with trailing spacing (--turbo-model, a folder whose scheduler config
               says so), 1 step, guidance 0, the AutoencoderTiny decoder
Guidance ≤ 1 means no unconditional batch, as in diffusers.

torch: StableDiffusionPipeline.from_pretrained (memory-mapped safetensors) with the case's scheduler
and decoder, one call, the PIL image saved as PNG. openvino: the text encoder, the UNet (batch 1)
and the decoder converted from the torch modules with static shapes and compiled for CPU
(INFERENCE_NUM_THREADS 2, INFERENCE_PRECISION_HINT f32, as ../shared/baselines/bench_openvino.py),
driven by the same diffusers scheduler; converting and compiling are its load time (with --ir-cache
DIR, converted models are saved there and read back by later runs, which then only compile).

One process per engine and case. Appends one JSON line:
  {"engine", "case", "load_s", "image_s", "peak_rss_kb"}
load_s: from_pretrained (+ conversion and compilation for OpenVINO); image_s: the first image, prompt
to PNG file, right after loading (as a user's first image is); peak_rss_kb: the process's peak.
"""

import argparse
import json
import os
import resource
import time

PROMPT = "a red apple on a wooden table"


def build_torch(args):
    import torch
    from diffusers import (AutoencoderTiny, EulerAncestralDiscreteScheduler, LCMScheduler,
                           StableDiffusionPipeline)
    folder = args.turbo_model if args.case == "turbo-taesd" else args.model
    pipe = StableDiffusionPipeline.from_pretrained(folder, torch_dtype=torch.float32, safety_checker=None,
                                                   requires_safety_checker=False)
    if args.case == "turbo-taesd":
        pipe.scheduler = EulerAncestralDiscreteScheduler.from_config(pipe.scheduler.config)
    else:
        pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)
    if args.case.endswith("taesd"):
        pipe.vae = AutoencoderTiny.from_pretrained(args.taesd, torch_dtype=torch.float32)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def case_settings(case):
    return (1, 0.0) if case == "turbo-taesd" else (4, 1.0)


def run_torch(args, out_png):
    import torch
    torch.set_num_threads(2)
    start = time.perf_counter()
    pipe = build_torch(args)
    load_s = time.perf_counter() - start
    steps, guidance = case_settings(args.case)
    start = time.perf_counter()
    with torch.inference_mode():
        image = pipe(PROMPT, num_inference_steps=steps, guidance_scale=guidance, height=args.size, width=args.size,
                     generator=torch.Generator().manual_seed(1)).images[0]
    image.save(out_png)
    return load_s, time.perf_counter() - start


def run_openvino(args, out_png):
    import numpy as np
    import openvino as ov
    import torch
    torch.set_num_threads(2)
    start = time.perf_counter()
    pipe = build_torch(args)
    latent = args.size // pipe.vae_scale_factor
    core = ov.Core()
    config = {"INFERENCE_NUM_THREADS": 2, "INFERENCE_PRECISION_HINT": "f32"}

    class Text(torch.nn.Module):
        def __init__(self, m): super().__init__(); self.m = m
        def forward(self, ids): return self.m(ids, return_dict=False)[0]

    class UNet(torch.nn.Module):
        def __init__(self, m): super().__init__(); self.m = m
        def forward(self, x, t, c): return self.m(x, t, c, return_dict=False)[0]

    class Decoder(torch.nn.Module):
        def __init__(self, m): super().__init__(); self.m = m
        def forward(self, z): return self.m.decode(z, return_dict=False)[0]

    def compiled(name, module, example):
        # The converted model (OpenVINO IR) is kept in --ir-cache when given: the UNet and text
        # encoder are the same in every case, and converting the UNet takes minutes.
        path = os.path.join(args.ir_cache, f"{name}.xml") if args.ir_cache else None
        if path and os.path.exists(path):
            model = core.read_model(path)
        else:
            model = ov.convert_model(module, example_input=example)
            if path:
                os.makedirs(args.ir_cache, exist_ok=True)
                ov.save_model(model, path)
        return core.compile_model(model, "CPU", config)

    with torch.inference_mode():
        text = compiled("text_encoder", Text(pipe.text_encoder), (torch.zeros(1, 77, dtype=torch.long),))
        unet = compiled(f"unet_{latent}", UNet(pipe.unet), (torch.zeros(1, 4, latent, latent), torch.tensor([999.0]),
                                                            torch.zeros(1, 77, 768)))
        decoder = compiled(f"{type(pipe.vae).__name__}_{latent}", Decoder(pipe.vae), (torch.zeros(1, 4, latent, latent),))
    load_s = time.perf_counter() - start

    steps, _ = case_settings(args.case)
    start = time.perf_counter()
    ids = pipe.tokenizer(PROMPT, padding="max_length", max_length=77, truncation=True, return_tensors="np").input_ids
    context = text([ids.astype(np.int64)])[0]
    scheduler = pipe.scheduler
    scheduler.set_timesteps(steps)
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(1, 4, latent, latent, generator=generator) * scheduler.init_noise_sigma
    for t in scheduler.timesteps:
        model_input = scheduler.scale_model_input(x, t)
        eps = torch.from_numpy(unet([model_input.numpy(), np.array([float(t)], dtype=np.float32), context])[0])
        x = scheduler.step(eps, t, x, generator=generator, return_dict=False)[0]
    scale = pipe.vae.config.scaling_factor
    shift = getattr(pipe.vae.config, "shift_factor", None) or 0.0
    pixels = decoder([(x / scale + shift).numpy()])[0]
    image = pipe.image_processor.postprocess(torch.from_numpy(pixels), output_type="pil")[0]
    image.save(out_png)
    return load_s, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", choices=["torch", "openvino"], required=True)
    parser.add_argument("--case", choices=["lcm", "lcm-taesd", "turbo-taesd"], required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--turbo-model")
    parser.add_argument("--taesd")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--png", default="/tmp/bench-few-step.png")
    parser.add_argument("--ir-cache", help="folder keeping OpenVINO's converted models between runs (load_s then excludes conversion)")
    parser.add_argument("out")
    args = parser.parse_args()
    if args.case.endswith("taesd") and not args.taesd:
        parser.error(f"--case {args.case} needs --taesd")
    if args.case == "turbo-taesd" and not args.turbo_model:
        parser.error("--case turbo-taesd needs --turbo-model")
    load_s, image_s = (run_torch if args.engine == "torch" else run_openvino)(args, args.png)
    record = {"engine": args.engine, "case": args.case, "size": args.size, "load_s": round(load_s, 3),
              "image_s": round(image_s, 3), "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}
    print(json.dumps(record))
    with open(args.out, "a") as f:
        f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
