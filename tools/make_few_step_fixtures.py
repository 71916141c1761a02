#!/usr/bin/env python3
"""Writes the few-step parity fixtures of the Swift tests into Tests/Fixtures/sd/{lcm,turbo}/,
beside (and without touching) the folders tools/make_sd_fixtures.py writes, with its builders:

  sd/lcm/     LatentConsistencyModelPipeline folder: sd1's text encoder and VAE (same seeds), a UNet
              with time_cond_proj_dim 32 (guidance as an embedding), LCM-Dreamshaper's LCMScheduler config
  sd/turbo/   StableDiffusionPipeline folder with sd1's weights (identical files) and an SD-Turbo-style scheduler
              config (EulerAncestralDiscreteScheduler, timestep_spacing "trailing")
  sd/<p>/reference/pipelines.json + *.png   what diffusers draws for each case

Cases: LCM 1/2/4 steps (guidance 8.5 and 1), a batch, img2img (LatentConsistencyModelImg2ImgPipeline);
on the turbo folder Euler a and Euler at 1, 2 and 4 trailing steps with guidance 0, and the LCM
and TCD samplers on an ordinary model (LCM-LoRA's way) at guidance 1 and 1.5.

  sd/turbo/reference/taesd.json + taesd_*.png   the turbo folder with its VAE replaced by
              Tests/Fixtures/taesd/diffusers (pipe.vae = AutoencoderTiny, as diffusers users swap in TAESD;
              run tools/make_taesd_fixtures.py first)

Run:  /tmp/torch-venv/bin/python tools/make_few_step_fixtures.py
"""

import json
import os
import shutil
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sd_fixtures as sdf  # noqa: E402
from diffusers import (  # noqa: E402
    AutoencoderTiny,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LatentConsistencyModelImg2ImgPipeline,
    LatentConsistencyModelPipeline,
    LCMScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    TCDScheduler,
)

# SimianLuo/LCM_Dreamshaper_v7's scheduler/scheduler_config.json
LCM_CONFIG = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                  original_inference_steps=50, prediction_type="epsilon", set_alpha_to_one=True, steps_offset=1,
                  timestep_scaling=10.0, timestep_spacing="leading", clip_sample=False, thresholding=False,
                  trained_betas=None, rescale_betas_zero_snr=False)
# stabilityai/sd-turbo's scheduler/scheduler_config.json
TURBO_CONFIG = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                    prediction_type="epsilon", steps_offset=1, timestep_spacing="trailing", trained_betas=None,
                    set_alpha_to_one=False, skip_prk_steps=True, clip_sample=False, interpolation_type="linear",
                    use_karras_sigmas=False)

# As sd1's (same seeds and dtypes: the text encoder, VAE and tokenizer files are sd1's, byte for byte).
COMMON = dict(text=dict(sdf.TEXT_COMMON, hidden_act="quick_gelu"), vae=sdf.VAE_CFG, pad_token="<|endoftext|>",
              unet_dtype=torch.float16, text_dtype=torch.float16, vae_dtype=torch.float32, text_model_prefix=True)
KINDS = {
    "lcm": dict(COMMON, seeds=(1000, 4001, 1002), cls=LatentConsistencyModelPipeline,
                unet=dict(sdf.SD1_UNET, time_cond_proj_dim=32), scheduler=(LCMScheduler, LCM_CONFIG)),
    "turbo": dict(COMMON, seeds=(1000, 1001, 1002), cls=StableDiffusionPipeline, unet=sdf.SD1_UNET,
                  scheduler=(EulerAncestralDiscreteScheduler, TURBO_CONFIG)),
}
SAMPLERS = {"lcm": LCMScheduler, "tcd": TCDScheduler, "euler_a": EulerAncestralDiscreteScheduler,
            "euler": EulerDiscreteScheduler}
P = sdf.PROMPT_A


def case(name, pipeline, sampler, prompt, **k):
    return sdf.case(name, pipeline, sampler, prompt, **k)


CASES = {
    "lcm": [
        case("lcm_1step", "txt2img", "lcm", P, steps=1, guidance=8.5, seed=400),
        case("lcm_2steps", "txt2img", "lcm", sdf.PROMPT_B, steps=2, guidance=8.5, seed=401),
        case("lcm_4steps", "txt2img", "lcm", sdf.PROMPT_C, steps=4, guidance=8.5, seed=402),
        case("lcm_4steps_guidance1_count2", "txt2img", "lcm", P, steps=4, guidance=1.0, seed=403, count=2),
        case("lcm_img2img_4steps", "img2img", "lcm", sdf.PROMPT_B, steps=4, guidance=8.5, seed=404,
             init_image=sdf.INIT_IMAGE, strength=0.6),
    ],
    "turbo": [
        case("euler_a_trailing_1step", "txt2img", "euler_a", P, steps=1, guidance=0.0, seed=500),
        case("euler_a_trailing_2steps", "txt2img", "euler_a", sdf.PROMPT_B, steps=2, guidance=0.0, seed=501),
        case("euler_a_trailing_4steps", "txt2img", "euler_a", sdf.PROMPT_C, steps=4, guidance=0.0, seed=502),
        case("euler_trailing_2steps", "txt2img", "euler", P, steps=2, guidance=0.0, seed=503),
        case("lcm_sampler_guidance1_4steps", "txt2img", "lcm", sdf.PROMPT_B, steps=4, guidance=1.0, seed=504),
        case("lcm_sampler_guidance15_2steps", "txt2img", "lcm", sdf.PROMPT_C, negative_prompt=sdf.NEG_A, steps=2,
             guidance=1.5, seed=505),
        case("lcm_sampler_8steps", "txt2img", "lcm", P, steps=8, guidance=1.0, seed=506),
        dict(case("tcd_sampler_4steps", "txt2img", "tcd", sdf.PROMPT_B, steps=4, guidance=1.0, seed=507), eta=0.3),
        case("lcm_sampler_img2img", "img2img", "lcm", P, steps=4, guidance=1.0, seed=508, init_image=sdf.INIT_IMAGE,
             strength=0.5),
    ],
}


def pipeline_class(kind, which):
    if kind == "lcm":
        return LatentConsistencyModelPipeline if which == "txt2img" else LatentConsistencyModelImg2ImgPipeline
    return StableDiffusionPipeline if which == "txt2img" else StableDiffusionImg2ImgPipeline


def call_arguments(kind, c, init_im):
    """The pipeline call for case `c` (the LCM pipelines take no negative prompt)."""
    kwargs = dict(prompt=c["prompt"], num_inference_steps=c["steps"], guidance_scale=c["guidance"],
                  num_images_per_prompt=c["count"], generator=torch.Generator().manual_seed(c["seed"]),
                  output_type="pil")
    if kind != "lcm":
        kwargs["negative_prompt"] = c["negative_prompt"]
    if "eta" in c:  # StableDiffusionPipeline passes its eta (default 0) to samplers whose step takes one
        kwargs["eta"] = c["eta"]
    if c["pipeline"] == "txt2img":
        kwargs.update(width=c["width"], height=c["height"])
    else:
        kwargs.update(image=init_im, strength=c["strength"])
    return kwargs


def run(kind, pipe, ref):
    sdf.make_init_image().save(os.path.join(ref, sdf.INIT_IMAGE))
    init_im = Image.open(os.path.join(ref, sdf.INIT_IMAGE)).convert("RGB")
    results = []
    for c in CASES[kind]:
        comps = dict(pipe.components)
        comps["scheduler"] = SAMPLERS[c["sampler"]].from_config(pipe.scheduler.config)
        p = pipeline_class(kind, c["pipeline"])(**comps, requires_safety_checker=False)
        p.set_progress_bar_config(disable=True)
        kwargs = call_arguments(kind, c, init_im)
        with torch.no_grad():
            images = p(**kwargs).images
        outputs = []
        for i, im in enumerate(images):
            fn = f"{c['name']}_{i}.png"
            im.save(os.path.join(ref, fn))
            outputs.append(fn)
        px = np.stack([np.asarray(im) for im in images]).astype(np.float64)
        assert px.std() > 10.0, f"{kind}/{c['name']}: output too flat (std {px.std():.2f})"
        entry = dict(c, outputs=outputs, scheduler_class=type(p.scheduler).__name__,
                     scheduler_timesteps=[float(x) for x in p.scheduler.timesteps])
        results.append(entry)
        print(f"  {c['name']:34s} timesteps {entry['scheduler_timesteps']}  pixel std {px.std():6.2f}")
    sdf.write_json(os.path.join(ref, "pipelines.json"), {
        "pipeline_folder": "..", "diffusers_version": sdf.diffusers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "samplers": {k: f"{v.__name__}.from_config(pipe.scheduler.config)" for k, v in SAMPLERS.items()},
        "cases": results})


TAESD_CASES = [
    case("taesd_euler_a_trailing_2steps", "txt2img", "euler_a", P, steps=2, guidance=0.0, seed=600),
    case("taesd_lcm_sampler_4steps_guidance15", "txt2img", "lcm", sdf.PROMPT_B, steps=4, guidance=1.5, seed=601),
    case("taesd_img2img_euler_a", "img2img", "euler_a", sdf.PROMPT_C, steps=4, guidance=0.0, seed=602,
         init_image=sdf.INIT_IMAGE, strength=0.6),
]


def run_taesd(pipe, ref):
    """The turbo folder's pipeline with TAESD in place of its VAE."""
    taesd = AutoencoderTiny.from_pretrained(os.path.join(sdf.REPO, "Tests", "Fixtures", "taesd", "diffusers")).eval()
    comps = dict(pipe.components, vae=taesd)
    results = []
    init_im = Image.open(os.path.join(ref, sdf.INIT_IMAGE)).convert("RGB")
    for c in TAESD_CASES:
        comps["scheduler"] = SAMPLERS[c["sampler"]].from_config(pipe.scheduler.config)
        p = pipeline_class("turbo", c["pipeline"])(**comps, requires_safety_checker=False)
        p.set_progress_bar_config(disable=True)
        kwargs = call_arguments("turbo", c, init_im)
        with torch.no_grad():
            images = p(**kwargs).images
        fn = f"{c['name']}_0.png"
        images[0].save(os.path.join(ref, fn))
        px = np.asarray(images[0]).astype(np.float64)
        assert px.std() > 5.0, f"{c['name']}: output too flat (std {px.std():.2f})"
        results.append(dict(c, outputs=[fn]))
        print(f"  {c['name']:34s} pixel std {px.std():6.2f}")
    sdf.write_json(os.path.join(ref, "taesd.json"), {"vae": "Tests/Fixtures/taesd/diffusers", "cases": results})


def main():
    for kind, spec in KINDS.items():
        print(f"== {kind}")
        sdf.PIPELINES[kind] = spec
        folder = os.path.join(sdf.DEFAULT_OUT, kind)
        if os.path.exists(folder):
            shutil.rmtree(folder)
        folder, originals, tok = sdf.build_and_save(kind, sdf.DEFAULT_OUT)
        pipe = sdf.reload(kind, folder, originals, tok)
        ref = os.path.join(folder, "reference")
        os.makedirs(ref)
        run(kind, pipe, ref)
        if kind == "turbo":
            run_taesd(pipe, ref)


if __name__ == "__main__":
    main()
