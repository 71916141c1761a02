#!/usr/bin/env python3
"""Writes the DiffuseSchedulers parity fixtures into Tests/Fixtures/schedulers/.

Run with a Python that has torch, diffusers and scipy, on an x86-64 machine with AVX2 (the versions
used are recorded in the files):

    /tmp/torch-venv/bin/python tools/make_scheduler_fixtures.py [--schedulers-only] [--keep-existing]

--keep-existing copies the cases already in schedulers.json unchanged and computes only the new
ones. Float32 rounding of some torch kernels differs between machines with the same torch version
(on one 2-core AVX-512 host, torch.sqrt(16777215.0) gives 4096.0 where the correctly rounded value
is 4095.9998), which moves earlier cases by up to a few 1e-5 on a full rerun.

Files:
  torch_random.json         torch.randn / torch.rand streams (float32 bit patterns) for several
                            seeds, sizes and call sequences, from PyTorch's AVX2 kernel.
  torch_random_scalar.json  the same for PyTorch's non-AVX2 kernel (ATEN_CPU_CAPABILITY=default),
                            made in a subprocess.
  schedulers.json           for each sampler and config: timesteps, init_noise_sigma, a full
                            text-to-image loop, an img2img loop and add_noise, with a fake model.
                            The few-step samplers (LCM, TCD) run img2img as
                            LatentConsistencyModelImg2ImgPipeline does (set_timesteps(steps,
                            strength=…), no begin index); the others as StableDiffusionImg2ImgPipeline.
                            LCM and TCD cases also hold img2img_truncated: the same run as
                            StableDiffusionImg2ImgPipeline does it (get_timesteps, begin index).

The fake model is `0.3 * scale_model_input(x, t) + c(t)` with `c(t) = float32(0.1 * sin(t / 100))`
evaluated in double precision, so the Swift tests can evaluate it identically.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "Tests" / "Fixtures" / "schedulers"

# ---------------------------------------------------------------------------------------------
# Random streams
# ---------------------------------------------------------------------------------------------

SEEDS = [0, 42, 2**32 + 7, 2**63 - 1, 0x5DEECE66D1234567]
SIZES = [1, 3, 15, 16, 17, 31, 64, 1000, 4 * 64 * 64, 4 * 128 * 128, 100_003]
# Long enough to cross the MT19937 624-word refill several times, mixing both algorithms and the
# cached second Box-Muller value between calls.
SEQUENCES = [
    [("randn", [3]), ("randn", [64]), ("randn", [1]), ("randn", [17]), ("randn", [2]), ("randn", [16]),
     ("randn", [5]), ("randn", [1000]), ("randn", [1]), ("randn", [1]), ("randn", [15]), ("randn", [31])],
    [("randn", [1, 4, 3, 5]), ("rand", [5]), ("randn", [1]), ("rand", [20]), ("randn", [1]), ("randn", [1]),
     ("randn", [1, 4, 8, 8]), ("randn", [7]), ("rand", [1])],
]
FULL_LIMIT = 64  # store every value up to this size; above it store head, tail and an FNV-1a hash


def fnv1a(bits):
    """64-bit FNV-1a over the little-endian bytes of the uint32 bit patterns."""
    h = 0xCBF29CE484222325
    for b in np.asarray(bits, dtype="<u4").tobytes():
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def encode(t):
    bits = t.contiguous().view(-1).numpy().view(np.uint32).tolist()
    if len(bits) <= FULL_LIMIT:
        return {"bits": bits}
    return {"count": len(bits), "head": bits[:32], "tail": bits[-32:], "fnv1a": fnv1a(bits)}


def draw(g, op, shape):
    if op == "randn":
        return torch.randn(shape, generator=g, dtype=torch.float32)
    return torch.rand(shape, generator=g, dtype=torch.float32)


def random_cases(seeds, sizes, sequences):
    cases = []
    for seed in seeds:
        for n in sizes:
            g = torch.Generator().manual_seed(seed)
            calls = [("randn", [n])]
            cases.append({"seed": str(seed), "calls": [{"op": o, "shape": s} for o, s in calls],
                          "results": [encode(draw(g, o, s)) for o, s in calls]})
        for seq in sequences:
            g = torch.Generator().manual_seed(seed)
            cases.append({"seed": str(seed), "calls": [{"op": o, "shape": s} for o, s in seq],
                          "results": [encode(draw(g, o, s)) for o, s in seq]})
    return cases


def write_random(kernel):
    if kernel == "scalar":
        seeds, sizes = [0, 42], [16, 17, 31, 64, 1000, 4 * 64 * 64]
    else:
        seeds, sizes = SEEDS, SIZES
    doc = {
        "generator": "torch.Generator().manual_seed(seed); torch.randn/torch.rand(shape, generator=g)",
        "torch": torch.__version__,
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "kernel": kernel,
        "cases": random_cases(seeds, sizes, SEQUENCES if kernel == "avx2" else SEQUENCES[:1]),
    }
    name = "torch_random.json" if kernel == "avx2" else "torch_random_scalar.json"
    (OUT / name).write_text(json.dumps(doc, separators=(",", ":")) + "\n")


def main_random():
    cap = torch.backends.cpu.get_cpu_capability()
    if cap not in ("AVX2", "AVX512"):
        sys.exit(f"need an AVX2 machine for the AVX2 kernel fixtures (capability {cap})")
    write_random("avx2")
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default")
    subprocess.run([sys.executable, __file__, "--scalar-random"], check=True, env=env)


# ---------------------------------------------------------------------------------------------
# Schedulers
# ---------------------------------------------------------------------------------------------

SD15 = {"_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0", "beta_start": 0.00085, "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None, "clip_sample": False}
# stabilityai/stable-diffusion-2-1, with the "leading" spacing written out.
SD2V = {"_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0", "beta_start": 0.00085, "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "clip_sample": False, "num_train_timesteps": 1000,
        "prediction_type": "v_prediction", "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1,
        "timestep_spacing": "leading", "trained_betas": None}
# A zero-terminal-SNR v-prediction config (Lin et al. 2023) with trailing spacing.
ZSNR = {"_class_name": "EulerDiscreteScheduler", "beta_start": 0.00085, "beta_end": 0.012,
        "beta_schedule": "scaled_linear", "num_train_timesteps": 1000, "prediction_type": "v_prediction",
        "rescale_betas_zero_snr": True, "timestep_spacing": "trailing", "steps_offset": 1, "set_alpha_to_one": False,
        "clip_sample": False}
CONFIGS = {"sd15": SD15, "sd2v": SD2V, "zsnr": ZSNR}

SAMPLERS = ["pndm", "ddim", "ddpm", "euler", "euler_a", "heun", "lms", "dpmpp_2m", "dpmpp_2m_karras", "unipc"]
STEP_COUNTS = [4, 10, 25]
# Extra option coverage: (sampler, config, overrides, steps, step kwargs).
EXTRAS = [
    ("pndm", "sd15", {"skip_prk_steps": False}, 10, {}),
    ("pndm", "sd15", {"timestep_spacing": "linspace"}, 10, {}),
    ("ddim", "sd15", {"timestep_spacing": "trailing"}, 10, {"eta": 1.0}),
    ("ddim", "sd15", {"clip_sample": True, "set_alpha_to_one": True, "timestep_spacing": "linspace"}, 10, {}),
    ("ddim", "sd15", {"prediction_type": "sample"}, 10, {}),
    ("ddpm", "sd15", {"variance_type": "fixed_small_log"}, 10, {}),
    ("ddpm", "sd15", {"variance_type": "fixed_large", "beta_schedule": "squaredcos_cap_v2"}, 10, {}),
    ("euler", "sd15", {"use_karras_sigmas": True}, 10, {}),
    ("euler", "sd15", {"use_exponential_sigmas": True, "final_sigmas_type": "sigma_min"}, 10, {}),
    ("euler", "sd15", {"use_karras_sigmas": True, "sigma_min": 0.1, "sigma_max": 10.0}, 10, {}),
    ("euler", "sd15", {"interpolation_type": "log_linear"}, 10, {}),
    ("euler", "sd15", {"timestep_spacing": "trailing", "_use_default_values": ["timestep_spacing"]}, 10, {}),
    ("euler", "sd15", {"beta_schedule": "linear", "beta_start": 0.0001, "beta_end": 0.02}, 10, {}),
    ("euler_a", "sd15", {"timestep_spacing": "trailing"}, 7, {}),
    ("heun", "sd15", {"use_karras_sigmas": True}, 10, {}),
    ("heun", "sd2v", {"use_karras_sigmas": True, "sigma_min": 0.05}, 10, {}),
    ("lms", "sd15", {"use_karras_sigmas": True}, 10, {}),
    ("lms", "sd15", {"timestep_spacing": "leading"}, 10, {}),
    ("dpmpp_2m", "sd15", {"solver_order": 3}, 10, {}),
    ("dpmpp_2m", "sd15", {"solver_order": 3}, 25, {}),
    ("dpmpp_2m", "sd15", {"algorithm_type": "sde-dpmsolver++", "use_karras_sigmas": True}, 10, {}),
    ("dpmpp_2m", "sd15", {"algorithm_type": "sde-dpmsolver++", "solver_order": 3, "solver_type": "heun"}, 20, {}),
    ("dpmpp_2m", "sd15", {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min", "solver_type": "heun"}, 10, {}),
    ("dpmpp_2m", "sd15", {"algorithm_type": "sde-dpmsolver", "final_sigmas_type": "sigma_min"}, 10, {}),
    ("dpmpp_2m", "sd15", {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min", "solver_order": 3}, 20, {}),
    ("dpmpp_2m", "sd15", {"euler_at_final": True, "lambda_min_clipped": -5.1, "timestep_spacing": "trailing"}, 10, {}),
    ("dpmpp_2m", "sd15", {"use_exponential_sigmas": True, "solver_type": "bh2"}, 10, {}),
    ("dpmpp_2m_karras", "sd15", {"sigma_min": 0.1, "lower_order_final": False}, 10, {}),
    ("dpmpp_2m_karras", "sd2v", {"final_sigmas_type": "sigma_min"}, 30, {}),
    ("unipc", "sd15", {"solver_type": "bh1", "solver_order": 3, "final_sigmas_type": "sigma_min"}, 10, {}),
    ("unipc", "sd15", {"predict_x0": False, "use_karras_sigmas": True, "final_sigmas_type": "sigma_min"}, 10, {}),
    ("unipc", "sd15", {"disable_corrector": [0, 2], "final_sigmas_type": "sigma_min", "solver_order": 3}, 25, {}),
    ("unipc", "sd2v", {"use_karras_sigmas": True, "final_sigmas_type": "sigma_min", "lower_order_final": False}, 10, {}),
]

# Combinations diffusers itself cannot run: with zero terminal SNR, σ_max is 4096 and the first two
# Karras timesteps both round to 999, so index_for_timestep's "second occurrence" rule starts the
# loop at index 1 and the last step reads past the end of the sigmas (IndexError in diffusers).
SKIPPED = {("dpmpp_2m_karras", "zsnr", 25)}

# The few-step samplers, after the others so that the earlier cases keep their place:
# (sampler, config, overrides, steps, step kwargs, img2img strength).
FEW_STEP = [("lcm", config_name, {}, steps, {}, strength)
            for config_name in ("sd15", "sd2v") for steps in (1, 2, 4, 8) for strength in (0.5, 0.75)]
FEW_STEP += [
    ("lcm", "zsnr", {}, 4, {}, 0.5),
    ("lcm", "sd15", {"clip_sample": True, "clip_sample_range": 0.5}, 4, {}, 0.75),
    ("lcm", "sd15", {"prediction_type": "sample"}, 4, {}, 0.75),
    ("lcm", "sd15", {"original_inference_steps": 25, "timestep_scaling": 5.0}, 3, {}, 0.5),
    # A small timestep_scaling, so that c_skip and c_out are far from 0 and 1 at every step.
    ("lcm", "sd2v", {"timestep_scaling": 0.005}, 8, {}, 0.5),
]
FEW_STEP += [("tcd", config_name, {}, steps, {"eta": eta}, 0.75)
             for config_name in ("sd15", "sd2v") for steps in (2, 4) for eta in (0.0, 0.3, 1.0)]
FEW_STEP += [
    ("tcd", "sd15", {"prediction_type": "sample"}, 4, {"eta": 0.3}, 0.5),
    ("tcd", "zsnr", {}, 4, {"eta": 0.3}, 0.5),
    ("tcd", "sd15", {}, 8, {}, 0.5),  # eta not passed: diffusers' step default (0.3)
]
CONSISTENCY = {"lcm", "tcd"}

SHAPE = [1, 4, 3, 5]
SEED = 1234
STRENGTH = 0.6


def scheduler_class(sampler, config):
    from diffusers import (DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                           EulerDiscreteScheduler, HeunDiscreteScheduler, LCMScheduler, LMSDiscreteScheduler,
                           PNDMScheduler, TCDScheduler, UniPCMultistepScheduler)
    table = {"pndm": (PNDMScheduler, {}), "ddim": (DDIMScheduler, {}), "ddpm": (DDPMScheduler, {}),
             "euler": (EulerDiscreteScheduler, {}), "euler_a": (EulerAncestralDiscreteScheduler, {}),
             "heun": (HeunDiscreteScheduler, {}), "lms": (LMSDiscreteScheduler, {}),
             "dpmpp_2m": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2}),
             "dpmpp_2m_karras": (DPMSolverMultistepScheduler, {"algorithm_type": "dpmsolver++", "solver_order": 2,
                                                               "use_karras_sigmas": True}),
             "unipc": (UniPCMultistepScheduler, {}), "lcm": (LCMScheduler, {}), "tcd": (TCDScheduler, {})}
    cls, fixed = table[sampler]
    return cls, fixed


def make_scheduler(sampler, config, overrides):
    cls, fixed = scheduler_class(sampler, config)
    merged = dict(config)
    merged.update(overrides)
    kwargs = {k: v for k, v in fixed.items() if k not in overrides}
    return cls.from_config(merged, **kwargs)


def model(x_in, t):
    """The fake denoiser: 0.3·x + c(t), c(t) = float32(0.1·sin(t/100)) computed in double."""
    c = float(np.float32(0.1 * math.sin(float(t) / 100.0)))
    return x_in * 0.3 + c


def pattern(kind):
    i = np.arange(int(np.prod(SHAPE)), dtype=np.float64)
    values = 0.8 * np.sin(0.37 * i) if kind == "image" else np.cos(0.23 * i)
    return torch.from_numpy(values.astype(np.float32)).reshape(SHAPE)


def step_kwargs_for(sched, g, extra):
    import inspect
    params = inspect.signature(sched.step).parameters
    kwargs = dict(extra)
    if "generator" in params:
        kwargs["generator"] = g
    return kwargs


class F32(float):
    """A float32 value that JSON-encodes as its shortest round-trip decimal form."""

    def __repr__(self):
        return np.format_float_positional(np.float32(self), unique=True, trim="-") if abs(self) >= 1e-4 or self == 0 \
            else np.format_float_scientific(np.float32(self), unique=True, trim="-")


def floats(t):
    return [F32(v) for v in t.reshape(-1).float().tolist()]


def dumps(doc):
    """json.dumps that writes F32 values in their short form."""
    def encode(value):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("non-finite value in a fixture")
        if isinstance(value, F32):
            return repr(value)
        if isinstance(value, float):
            return json.dumps(value)
        if isinstance(value, dict):
            return "{" + ",".join(json.dumps(k) + ":" + encode(v) for k, v in value.items()) + "}"
        if isinstance(value, (list, tuple)):
            return "[" + ",".join(encode(v) for v in value) + "]"
        return json.dumps(value)
    return encode(doc)


def run_case(sampler, config_name, overrides, steps, extra, strength=STRENGTH):
    config = CONFIGS[config_name]
    sched = make_scheduler(sampler, config, overrides)
    sched.set_timesteps(steps)
    timesteps = [F32(t) for t in sched.timesteps.float().tolist()]
    init_sigma = F32(float(sched.init_noise_sigma))

    # Text to image, as StableDiffusionPipeline runs it.
    g = torch.Generator().manual_seed(SEED)
    latents = torch.randn(SHAPE, generator=g, dtype=torch.float32) * sched.init_noise_sigma
    for t in sched.timesteps:
        x_in = sched.scale_model_input(latents, t)
        latents = sched.step(model(x_in, t), t, latents, **step_kwargs_for(sched, g, extra), return_dict=False)[0]
    txt2img = floats(latents)

    sched = make_scheduler(sampler, config, overrides)
    begin = None
    if sampler in CONSISTENCY:
        # Image to image, as LatentConsistencyModelImg2ImgPipeline runs it: the strength shortens
        # the origin schedule; no begin index.
        sched.set_timesteps(steps, strength=strength)
        i2i_timesteps = sched.timesteps
    else:
        # Image to image, as StableDiffusionImg2ImgPipeline runs it.
        sched.set_timesteps(steps)
        init_timestep = min(int(steps * strength), steps)
        t_start = max(steps - init_timestep, 0)
        i2i_timesteps = sched.timesteps[t_start * sched.order:]
        if hasattr(sched, "set_begin_index"):
            begin = t_start * sched.order
            sched.set_begin_index(begin)
    g = torch.Generator().manual_seed(SEED)
    noise = torch.randn(SHAPE, generator=g, dtype=torch.float32)
    latents = sched.add_noise(pattern("image"), noise, i2i_timesteps[:1])
    for t in i2i_timesteps:
        x_in = sched.scale_model_input(latents, t)
        latents = sched.step(model(x_in, t), t, latents, **step_kwargs_for(sched, g, extra), return_dict=False)[0]
    img2img = {"strength": strength, "timesteps": [F32(t) for t in i2i_timesteps.float().tolist()], "begin_index": begin,
               "latent": floats(latents)}

    # LCM and TCD in StableDiffusionImg2ImgPipeline (diffusers' documented LCM-LoRA img2img:
    # AutoPipelineForImage2Image on an SD 1.5 checkpoint with the scheduler swapped): get_timesteps
    # truncation with a begin index. Null when the strength leaves no step.
    truncated = None
    if sampler in CONSISTENCY:
        sched = make_scheduler(sampler, config, overrides)
        sched.set_timesteps(steps)
        init_timestep = min(int(steps * strength), steps)
        t_start = max(steps - init_timestep, 0)
        kept = sched.timesteps[t_start * sched.order:]
        if len(kept) > 0:
            sched.set_begin_index(t_start * sched.order)
            g = torch.Generator().manual_seed(SEED)
            noise = torch.randn(SHAPE, generator=g, dtype=torch.float32)
            latents = sched.add_noise(pattern("image"), noise, kept[:1])
            for t in kept:
                x_in = sched.scale_model_input(latents, t)
                latents = sched.step(model(x_in, t), t, latents, **step_kwargs_for(sched, g, extra), return_dict=False)[0]
            truncated = {"strength": strength, "timesteps": [F32(t) for t in kept.float().tolist()],
                         "begin_index": t_start * sched.order, "latent": floats(latents)}

    # add_noise on a fresh schedule (no begin index: index_for_timestep).
    sched = make_scheduler(sampler, config, overrides)
    sched.set_timesteps(steps)
    position = min(3, len(sched.timesteps) - 1)
    t = sched.timesteps[position: position + 1]
    added = floats(sched.add_noise(pattern("image"), pattern("noise"), t))

    return {"sampler": sampler, "config": config_name, "overrides": overrides, "steps": steps,
            "step_kwargs": extra, "class": type(sched).__name__, "timesteps": timesteps,
            "init_noise_sigma": init_sigma, "txt2img": txt2img, "img2img": img2img,
            "add_noise": {"timestep": F32(float(t.item())), "result": added},
            **({"img2img_truncated": truncated} if sampler in CONSISTENCY else {})}


def case_key(sampler, config_name, overrides, steps, extra, strength):
    return (sampler, config_name, json.dumps(overrides, sort_keys=True), steps, json.dumps(extra, sort_keys=True),
            strength)


def main_schedulers(keep_existing):
    import diffusers
    existing = {}
    if keep_existing and (OUT / "schedulers.json").exists():
        for case in json.loads((OUT / "schedulers.json").read_text())["cases"]:
            existing[case_key(case["sampler"], case["config"], case["overrides"], case["steps"], case["step_kwargs"],
                              case["img2img"]["strength"])] = case
    plan = [(sampler, config_name, {}, steps, {}, STRENGTH)
            for config_name in CONFIGS for sampler in SAMPLERS for steps in STEP_COUNTS
            if (sampler, config_name, steps) not in SKIPPED]
    plan += [(sampler, config_name, overrides, steps, extra, STRENGTH)
             for sampler, config_name, overrides, steps, extra in EXTRAS]
    plan += FEW_STEP
    cases = []
    for entry in plan:
        case = existing.get(case_key(*entry))
        cases.append(case if case is not None else run_case(*entry))
    doc = {"torch": torch.__version__, "diffusers": diffusers.__version__, "shape": SHAPE, "seed": SEED,
           "model": "model_output = 0.3 * scale_model_input(x, t) + float32(0.1 * sin(t / 100))",
           "image_pattern": "float32(0.8 * sin(0.37 * i))", "noise_pattern": "float32(cos(0.23 * i))",
           "configs": CONFIGS, "cases": cases}
    text = dumps(doc)
    (OUT / "schedulers.json").write_text(text + "\n")
    print(f"schedulers.json: {len(cases)} cases, {len(text) // 1024} KiB")


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    if "--schedulers-only" not in sys.argv:
        main_random()
    main_schedulers("--keep-existing" in sys.argv)


if __name__ == "__main__":
    if "--scalar-random" in sys.argv:
        # The child process of main_random(), started with ATEN_CPU_CAPABILITY=default.
        if torch.backends.cpu.get_cpu_capability() != "DEFAULT":
            sys.exit("expected ATEN_CPU_CAPABILITY=default")
        write_random("scalar")
    else:
        main()
