#!/usr/bin/env python3
"""Writes the SDXL parity fixtures of the Swift tests into Tests/Fixtures/sdxl/.

Tiny random models built from configs (no model hub), and what Hugging Face diffusers produces
with them AS RELOADED FROM DISK, for fixed seeds:

  sdxl/base/        StableDiffusionXLPipeline folder: text_encoder/ + tokenizer/ and vae/ are links
                    to Tests/Fixtures/sd/sd1's (SDXL's first encoder is SD 1.x's CLIP ViT-L),
                    tokenizer_2/ links to sd/sd2's ("!" padding); text_encoder_2/ is a new
                    CLIPTextModelWithProjection (F16), unet/ a "text_time" UNet with per-level
                    transformer depth [1, 2] (F16); SDXL's Euler scheduler config
  sdxl/turbo/       the same components (links to base/) with SDXL-Turbo's scheduler config
                    (Euler a, "trailing" timesteps): guidance 0, 1 and 4 steps
  sdxl/inpaint/     StableDiffusionXLInpaintPipeline: a 9-channel text_time UNet, the rest linked
  sdxl/refiner/     StableDiffusionXLImg2ImgPipeline with requires_aesthetics_score: text_encoder_2 +
                    tokenizer_2 only (links to base/), a text_time UNet for 5 time ids, the base VAE;
                    reference: base (denoising_end) then refiner (denoising_start) runs
  sdxl/base-single-file.safetensors   base/ as an original Stability SDXL single file
                    (model.diffusion_model.* with label_emb, first_stage_model.*,
                    conditioner.embedders.0.transformer.* CLIP ViT-L, conditioner.embedders.1.model.*
                    OpenCLIP with fused in_proj and text_projection), checked with from_single_file
  sdxl/lora/        kohya.safetensors (lora_te1_, lora_te2_, LDM-named lora_unet_input_blocks_…) and
                    peft.safetensors (unet., text_encoder., text_encoder_2. with lora_A / lora_B and
                    the adapter metadata), and the images diffusers' load_lora_weights gives
  sdxl/<p>/reference/  pipelines.json + *.png (whole runs), components.safetensors + .json
                    (the two encoders and the UNet on fixed inputs), init and mask images

Run (after tools/make_sd_fixtures.py, whose folders the links point to):
    /tmp/torch-venv/bin/python tools/make_sdxl_fixtures.py [--out DIR]
Deterministic: rerunning rewrites identical files (same torch / diffusers / transformers versions).
"""

import argparse
import json
import os
import shutil
import sys
import time
import warnings

import torch
from PIL import Image, ImageDraw
from safetensors.torch import load_file, save_file

torch.set_num_threads(1)
warnings.filterwarnings("ignore")

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import (  # noqa: E402
    DDIMScheduler,
    DDPMScheduler,
    HeunDiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLInpaintPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
    UniPCMultistepScheduler,
)
from transformers import CLIPTextConfig, CLIPTextModelWithProjection  # noqa: E402

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_OUT = os.path.join(REPO, "Tests", "Fixtures", "sdxl")
SD = os.path.join(REPO, "Tests", "Fixtures", "sd")

# stabilityai/stable-diffusion-xl-base-1.0 scheduler/scheduler_config.json
SDXL_EULER = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, clip_sample=False,
                  interpolation_type="linear", num_train_timesteps=1000, prediction_type="epsilon",
                  sample_max_value=1.0, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1,
                  timestep_spacing="leading", trained_betas=None, use_karras_sigmas=False)
# stabilityai/sdxl-turbo scheduler/scheduler_config.json
TURBO_EULER_A = dict(beta_end=0.012, beta_schedule="scaled_linear", beta_start=0.00085, clip_sample=False,
                     interpolation_type="linear", num_train_timesteps=1000, prediction_type="epsilon",
                     sample_max_value=1.0, set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1,
                     timestep_spacing="trailing", trained_betas=None, use_karras_sigmas=False)

# SDXL's text_encoder_2 config shape (gelu, legacy eos_token_id 2), tiny
TEXT2 = dict(vocab_size=49408, hidden_size=8, intermediate_size=16, num_hidden_layers=3, num_attention_heads=2,
             max_position_embeddings=77, layer_norm_eps=1e-5, projection_dim=12, hidden_act="gelu",
             attention_dropout=0.0, initializer_factor=1.0, initializer_range=0.02, bos_token_id=0, eos_token_id=2,
             pad_token_id=1)
TEXT1_WIDTH = 32  # sd/sd1/text_encoder's hidden_size
TIME_WIDTH = 8

UNET = dict(sample_size=8, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True,
            freq_shift=0, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), block_out_channels=(16, 32), layers_per_block=1,
            transformer_layers_per_block=(1, 2), attention_head_dim=(2, 4), use_linear_projection=True,
            cross_attention_dim=TEXT1_WIDTH + TEXT2["hidden_size"], addition_embed_type="text_time",
            addition_time_embed_dim=TIME_WIDTH,
            projection_class_embeddings_input_dim=TEXT2["projection_dim"] + 6 * TIME_WIDTH,
            act_fn="silu", norm_num_groups=8, norm_eps=1e-5, downsample_padding=1, mid_block_scale_factor=1)
INPAINT_UNET = dict(UNET, in_channels=9)
REFINER_UNET = dict(UNET, cross_attention_dim=TEXT2["hidden_size"], attention_head_dim=(2, 2),
                    projection_class_embeddings_input_dim=TEXT2["projection_dim"] + 5 * TIME_WIDTH)

SAMPLERS = {
    "pndm": (PNDMScheduler, {}),
    "ddim": (DDIMScheduler, {}),
    "ddpm": (DDPMScheduler, {}),
    "heun": (HeunDiscreteScheduler, {}),
    "lms": (LMSDiscreteScheduler, {}),
    "euler": (EulerDiscreteScheduler, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "dpmpp_2m": (DPMSolverMultistepScheduler, {}),
    "dpmpp_2m_karras": (DPMSolverMultistepScheduler, {"use_karras_sigmas": True}),
    "unipc": (UniPCMultistepScheduler, {}),
}

PROMPT_A = "a photograph of an astronaut riding a horse"
PROMPT_B = "A red cube on a blue sphere, studio lighting, 4k"
PROMPT_C = "an oil painting of a lighthouse at dusk"
NEG_A = "blurry, low quality, watermark"
NEG_B = "ugly, deformed"
INIT_IMAGE = "init_48x32.png"
MASK_IMAGE = "mask_48x32.png"


def case(name, pipeline, sampler, prompt, *, negative_prompt=None, steps=5, guidance=5.0, seed=0, width=48,
         height=32, count=1, strength=None, original_size=None, crop=None, target_size=None):
    """original_size / target_size as (width, height), crop as (top, left): the Swift request's order."""
    return dict(name=name, pipeline=pipeline, prompt=prompt, negative_prompt=negative_prompt, sampler=sampler,
                steps=steps, guidance=guidance, seed=seed, width=width, height=height, count=count,
                init_image=INIT_IMAGE if pipeline != "txt2img" else None, strength=strength,
                mask=MASK_IMAGE if pipeline == "inpaint" else None, original_size=original_size, crop=crop,
                target_size=target_size)


CASES = {
    "base": [
        case("txt2img_euler", "txt2img", "euler", PROMPT_A, negative_prompt=NEG_A, seed=100),
        case("txt2img_dpmpp_2m_zero_negative", "txt2img", "dpmpp_2m", PROMPT_B, seed=101, guidance=7.5),
        case("txt2img_euler_a_count2", "txt2img", "euler_a", PROMPT_C, negative_prompt=NEG_B, seed=102, count=2),
        case("txt2img_dpmpp_2m_karras_32x56_micro", "txt2img", "dpmpp_2m_karras", PROMPT_A, negative_prompt=NEG_B,
             seed=103, width=32, height=56, original_size=(96, 64), crop=(8, 4), target_size=(40, 72)),
        case("txt2img_unipc_noguidance", "txt2img", "unipc", PROMPT_B, seed=104, guidance=1.0),
        case("txt2img_ddim", "txt2img", "ddim", PROMPT_C, negative_prompt=NEG_A, seed=105),
        case("txt2img_pndm", "txt2img", "pndm", PROMPT_A, seed=106),
        case("txt2img_ddpm", "txt2img", "ddpm", PROMPT_B, negative_prompt=NEG_B, seed=107),
        case("txt2img_heun", "txt2img", "heun", PROMPT_C, seed=108, steps=4),
        case("txt2img_lms", "txt2img", "lms", PROMPT_A, negative_prompt=NEG_A, seed=109),
        case("img2img_euler", "img2img", "euler", PROMPT_A, negative_prompt=NEG_B, seed=110, strength=0.6),
        case("img2img_dpmpp_2m_count2", "img2img", "dpmpp_2m", PROMPT_C, seed=111, strength=0.75, count=2),
        case("inpaint4_euler_a", "inpaint", "euler_a", PROMPT_B, negative_prompt=NEG_A, seed=120, strength=1.0),
        case("inpaint4_euler_strength07", "inpaint", "euler", PROMPT_A, seed=121, strength=0.7),
    ],
    "turbo": [
        case("turbo_1step", "txt2img", None, PROMPT_A, steps=1, guidance=0.0, seed=130),
        case("turbo_4steps_count2_32x48", "txt2img", None, PROMPT_C, steps=4, guidance=0.0, seed=131, count=2,
             width=32, height=48),
    ],
    "inpaint": [
        case("inpaint9_euler", "inpaint", "euler", PROMPT_C, negative_prompt=NEG_B, seed=140, strength=1.0),
        case("inpaint9_dpmpp_2m_strength075", "inpaint", "dpmpp_2m", PROMPT_A, seed=141, strength=0.75),
    ],
}


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def perturb(model, seed):
    """Every parameter moves away from its init so none is inert (norm weights 1, biases 0, ...)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            s = p.std().item() if p.numel() > 1 else 0.0
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.1 * (s if s > 0 else 1.0))


def link(folder, name, target):
    """folder/name -> target, a relative symbolic link (git keeps it)."""
    os.symlink(os.path.relpath(target, folder), os.path.join(folder, name))


def model_index(folder, cls, components):
    index = {"_class_name": cls.__name__, "_diffusers_version": diffusers.__version__,
             "force_zeros_for_empty_prompt": True}
    index.update(components)
    write_json(os.path.join(folder, "model_index.json"), dict(sorted(index.items())))


def scheduler_folder(folder, cls, config):
    s = cls.from_config(config)
    s.save_pretrained(os.path.join(folder, "scheduler"))
    path = os.path.join(folder, "scheduler", "scheduler_config.json")
    saved = json.load(open(path))
    for k, v in config.items():
        saved.setdefault(k, v)
    write_json(path, dict(sorted(saved.items())))


def new_unet(config, seed, path):
    torch.manual_seed(seed)
    unet = UNet2DConditionModel(**config).eval()
    perturb(unet, seed + 17)
    unet.to(torch.float16).save_pretrained(path, safe_serialization=True)


COMPONENTS = {"text_encoder": ["transformers", "CLIPTextModel"], "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
              "tokenizer": ["transformers", "CLIPTokenizer"], "tokenizer_2": ["transformers", "CLIPTokenizer"],
              "unet": ["diffusers", "UNet2DConditionModel"], "vae": ["diffusers", "AutoencoderKL"],
              "image_encoder": [None, None], "feature_extractor": [None, None]}


def build(root):
    base = os.path.join(root, "base")
    os.makedirs(base)
    link(base, "text_encoder", os.path.join(SD, "sd1", "text_encoder"))
    link(base, "tokenizer", os.path.join(SD, "sd1", "tokenizer"))
    link(base, "tokenizer_2", os.path.join(SD, "sd2", "tokenizer"))
    link(base, "vae", os.path.join(SD, "sd1", "vae"))
    torch.manual_seed(5000)
    te2 = CLIPTextModelWithProjection(CLIPTextConfig(**TEXT2)).eval()
    perturb(te2, 5017)
    te2.to(torch.float16).save_pretrained(os.path.join(base, "text_encoder_2"), safe_serialization=True)
    te2_file = os.path.join(base, "text_encoder_2", "model.safetensors")
    sd = load_file(te2_file)
    if not any(k.startswith("text_model.") for k in sd):  # the hub's key names
        sd = {(k if k.startswith("text_projection") else "text_model." + k): v for k, v in sd.items()}
    save_file(sd, te2_file, metadata={"format": "pt"})
    new_unet(UNET, 5001, os.path.join(base, "unet"))
    scheduler_folder(base, EulerDiscreteScheduler, SDXL_EULER)
    model_index(base, StableDiffusionXLPipeline, dict(COMPONENTS, scheduler=["diffusers", "EulerDiscreteScheduler"]))

    turbo = os.path.join(root, "turbo")
    os.makedirs(turbo)
    for name in ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "unet", "vae"):
        link(turbo, name, os.path.join(base, name))
    scheduler_folder(turbo, EulerAncestralDiscreteScheduler, TURBO_EULER_A)
    model_index(turbo, StableDiffusionXLPipeline, dict(COMPONENTS, scheduler=["diffusers", "EulerAncestralDiscreteScheduler"]))

    inpaint = os.path.join(root, "inpaint")
    os.makedirs(inpaint)
    for name in ("text_encoder", "text_encoder_2", "tokenizer", "tokenizer_2", "vae"):
        link(inpaint, name, os.path.join(base, name))
    new_unet(INPAINT_UNET, 5002, os.path.join(inpaint, "unet"))
    scheduler_folder(inpaint, EulerDiscreteScheduler, SDXL_EULER)
    model_index(inpaint, StableDiffusionXLInpaintPipeline, dict(COMPONENTS, scheduler=["diffusers", "EulerDiscreteScheduler"]))


def build_refiner(root):
    base = os.path.join(root, "base")
    refiner = os.path.join(root, "refiner")
    os.makedirs(refiner)
    for name in ("text_encoder_2", "tokenizer_2", "vae"):
        link(refiner, name, os.path.join(base, name))
    new_unet(REFINER_UNET, 5003, os.path.join(refiner, "unet"))
    scheduler_folder(refiner, EulerDiscreteScheduler, SDXL_EULER)
    components = {k: v for k, v in COMPONENTS.items() if k not in ("text_encoder", "tokenizer")}
    index = {"_class_name": "StableDiffusionXLImg2ImgPipeline", "_diffusers_version": diffusers.__version__,
             "force_zeros_for_empty_prompt": False, "requires_aesthetics_score": True,
             "text_encoder": [None, None], "tokenizer": [None, None], "scheduler": ["diffusers", "EulerDiscreteScheduler"]}
    index.update(components)
    write_json(os.path.join(refiner, "model_index.json"), dict(sorted(index.items())))


REFINER_CASES = [
    dict(case("refine_euler_08", "txt2img", "euler", PROMPT_A, negative_prompt=NEG_A, seed=160, steps=5), refiner_start=0.8),
    dict(case("refine_euler_a_07_count2", "txt2img", "euler_a", PROMPT_C, seed=161, steps=6, count=2, width=32, height=48),
         refiner_start=0.7),
    dict(case("refine_heun_075", "txt2img", "heun", PROMPT_B, negative_prompt=NEG_B, seed=162, steps=4), refiner_start=0.75),
]


def refiner_cases(root, base_pipe):
    from diffusers import StableDiffusionXLImg2ImgPipeline as Img2Img
    refiner = quiet(Img2Img.from_pretrained(os.path.join(root, "refiner"), torch_dtype=torch.float32, add_watermarker=False))
    assert refiner.text_encoder is None and refiner.config.requires_aesthetics_score
    ref = os.path.join(root, "refiner", "reference")
    os.makedirs(ref)
    results = []
    for c in REFINER_CASES:
        cls, overrides = SAMPLERS[c["sampler"]]
        base = quiet(pipeline_for(base_pipe, "txt2img", cls.from_config(base_pipe.scheduler.config, **overrides)))
        refiner.scheduler = cls.from_config(refiner.scheduler.config, **overrides)
        generator = torch.Generator().manual_seed(c["seed"])
        common = dict(prompt=c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                      guidance_scale=c["guidance"], num_images_per_prompt=c["count"], generator=generator)
        with torch.no_grad():
            latents = base(**common, width=c["width"], height=c["height"], denoising_end=c["refiner_start"],
                           output_type="latent").images
            images = refiner(**common, image=latents,
                             denoising_start=c["refiner_start"]).images
        outputs = []
        for i, im in enumerate(images):
            name = f"{c['name']}_{i}.png"
            im.save(os.path.join(ref, name))
            outputs.append(name)
        results.append(dict(c, outputs=outputs))
        print(f"  {c['name']}: {len(images)} image(s)")
    write_json(os.path.join(ref, "pipelines.json"), {
        "notes": "base: StableDiffusionXLPipeline(denoising_end=refiner_start, output_type='latent'); refiner: "
                 "StableDiffusionXLImg2ImgPipeline(image=those latents, denoising_start=refiner_start); one generator for both",
        "cases": results})


def load(folder):
    cls = StableDiffusionXLInpaintPipeline if folder.endswith("inpaint") else StableDiffusionXLPipeline
    return cls.from_pretrained(folder, torch_dtype=torch.float32, add_watermarker=False)


def pipeline_for(pipe, kind, scheduler):
    parts = dict(pipe.components, scheduler=scheduler)
    if kind == "inpaint":
        return StableDiffusionXLInpaintPipeline(**parts, add_watermarker=False)
    if isinstance(pipe, StableDiffusionXLInpaintPipeline):
        raise ValueError("the inpainting folder runs inpainting only")
    cls = StableDiffusionXLImg2ImgPipeline if kind == "img2img" else StableDiffusionXLPipeline
    return cls(**parts, add_watermarker=False)


def quiet(p):
    p.set_progress_bar_config(disable=True)
    return p


def component_references(pipe, ref):
    """The two encoders on two prompts' ids and the UNet on fixed random inputs."""
    prompts = [PROMPT_A, ""]
    ids1 = pipe.tokenizer(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    ids2 = pipe.tokenizer_2(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    g = torch.Generator().manual_seed(77)
    with torch.no_grad():
        out1 = pipe.text_encoder(ids1, output_hidden_states=True)
        out2 = pipe.text_encoder_2(ids2, output_hidden_states=True)
        sample = torch.randn(2, pipe.unet.config.in_channels, 5, 7, generator=g)
        context = torch.randn(2, 77, pipe.unet.config.cross_attention_dim, generator=g)
        text_embeds = torch.randn(2, TEXT2["projection_dim"], generator=g)
        time_ids = torch.tensor([[64.0, 48.0, 0.0, 0.0, 64.0, 48.0], [1024.0, 768.0, 16.0, 8.0, 512.0, 384.0]])
        timesteps = torch.tensor([999.0, 37.0])
        unet_out = pipe.unet(sample, timesteps, encoder_hidden_states=context,
                             added_cond_kwargs={"text_embeds": text_embeds, "time_ids": time_ids}).sample
    tensors = {"te1.penultimate": out1.hidden_states[-2], "te2.penultimate": out2.hidden_states[-2],
               "te2.text_embeds": out2.text_embeds, "unet.sample": sample, "unet.timesteps": timesteps,
               "unet.encoder_hidden_states": context, "unet.text_embeds": text_embeds, "unet.time_ids": time_ids,
               "unet.output": unet_out}
    save_file({k: v.contiguous().float() for k, v in tensors.items()}, os.path.join(ref, "components.safetensors"))
    write_json(os.path.join(ref, "components.json"), {
        "prompts": prompts, "ids1": ids1.tolist(), "ids2": ids2.tolist(),
        "shapes": {k: list(v.shape) for k, v in tensors.items()},
        "meaning": "te1/te2.penultimate: hidden_states[-2] of text_encoder / text_encoder_2 for ids1 / ids2; "
                   "te2.text_embeds: text_encoder_2's text_embeds; unet.output: unet(sample, timesteps, "
                   "encoder_hidden_states, added_cond_kwargs={text_embeds, time_ids}).sample"})


def make_init_image():
    im = Image.new("RGB", (48, 32), (40, 90, 160))
    d = ImageDraw.Draw(im)
    d.rectangle([6, 4, 26, 24], fill=(220, 60, 40))
    d.ellipse([24, 10, 44, 30], fill=(250, 220, 60))
    for x in range(0, 48, 4):
        d.line([x, 31, x + 3, 28], fill=(10, 160, 70))
    return im


def make_mask():
    m = Image.new("L", (48, 32), 0)
    ImageDraw.Draw(m).rectangle([16, 8, 39, 27], fill=255)
    return m


def run_cases(kind, pipe, ref):
    make_init_image().save(os.path.join(ref, INIT_IMAGE))
    make_mask().save(os.path.join(ref, MASK_IMAGE))
    init_im = Image.open(os.path.join(ref, INIT_IMAGE)).convert("RGB")
    mask_im = Image.open(os.path.join(ref, MASK_IMAGE))
    results = []
    for c in CASES[kind]:
        t0 = time.time()
        if c["sampler"] is None:
            scheduler = pipe.scheduler.__class__.from_config(pipe.scheduler.config)
        else:
            cls, overrides = SAMPLERS[c["sampler"]]
            scheduler = cls.from_config(pipe.scheduler.config, **overrides)
        p = quiet(pipeline_for(pipe, c["pipeline"], scheduler))
        kwargs = dict(prompt=c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                      guidance_scale=c["guidance"], num_images_per_prompt=c["count"],
                      generator=torch.Generator().manual_seed(c["seed"]), output_type="pil")
        if c["pipeline"] != "img2img":
            kwargs.update(width=c["width"], height=c["height"])
        if c["pipeline"] != "txt2img":
            kwargs.update(image=init_im, strength=c["strength"])
        if c["pipeline"] == "inpaint":
            kwargs.update(mask_image=mask_im)
        if c["original_size"]:
            kwargs["original_size"] = (c["original_size"][1], c["original_size"][0])
        if c["crop"]:
            kwargs["crops_coords_top_left"] = tuple(c["crop"])
        if c["target_size"]:
            kwargs["target_size"] = (c["target_size"][1], c["target_size"][0])
        with torch.no_grad():
            images = p(**kwargs).images
        outputs = []
        for i, im in enumerate(images):
            name = f"{c['name']}_{i}.png"
            im.save(os.path.join(ref, name))
            outputs.append(name)
        std = float(torch.tensor([list(im.getdata()) for im in images], dtype=torch.float32).std())
        assert std > 5, f"{c['name']}: flat image (pixel std {std:.2f})"
        results.append(dict(c, outputs=outputs, scheduler=type(scheduler).__name__))
        print(f"  {c['name']:40s} pixel std {std:6.2f}  {time.time() - t0:5.2f}s")
    write_json(os.path.join(ref, "pipelines.json"), {
        "diffusers": diffusers.__version__, "transformers": transformers.__version__, "torch": torch.__version__,
        "notes": "negative_prompt null = not given (force_zeros_for_empty_prompt zeroes the negative embeddings); "
                 "original_size / target_size are [width, height], crop [top, left] (diffusers takes (h, w) and (top, left)); "
                 "sampler null = the folder's own scheduler",
        "cases": results})


def single_file(base, path, pipe):
    """base/ under the original SDXL key names; diffusers' from_single_file must rebuild every tensor."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import make_sd_fixtures as sd
    from make_sd2_single_file import open_clip_text_tower

    unet_cfg = json.load(open(os.path.join(base, "unet", "config.json")))
    vae_cfg = json.load(open(os.path.join(base, "vae", "config.json")))
    table = sd.unet_ldm_table(unet_cfg) + [("add_embedding.linear_1", "label_emb.0.0", []),
                                           ("add_embedding.linear_2", "label_emb.0.2", [])]
    ckpt = sd.map_by_table(load_file(os.path.join(base, "unet", "diffusion_pytorch_model.safetensors")), table,
                           "model.diffusion_model.")
    vae = sd.map_by_table(load_file(os.path.join(base, "vae", "diffusion_pytorch_model.safetensors")),
                          sd.vae_ldm_table(vae_cfg), "first_stage_model.")
    for k, v in vae.items():
        if k.split(".")[-2] in sd.VAE_CONV_1X1 and k.endswith(".weight") and v.ndim == 2:
            vae[k] = v[:, :, None, None]
    ckpt.update(vae)
    for k, v in load_file(os.path.join(base, "text_encoder", "model.safetensors")).items():
        ckpt["conditioner.embedders.0.transformer.text_model." + k.removeprefix("text_model.")] = v
    ckpt["conditioner.embedders.0.transformer.text_model.embeddings.position_ids"] = torch.arange(77, dtype=torch.int64)[None]
    te2 = load_file(os.path.join(base, "text_encoder_2", "model.safetensors"))
    tower, _ = open_clip_text_tower({k: v for k, v in te2.items() if not k.startswith("text_projection")}, TEXT2, None)
    prefix = "conditioner.embedders.1.model."
    for k, v in tower.items():
        ckpt[prefix + k.removeprefix("cond_stage_model.model.")] = v
    ckpt[prefix + "text_projection"] = te2["text_projection.weight"].T.contiguous()
    ckpt[prefix + "logit_scale"] = torch.tensor(4.6052, dtype=torch.float32)
    save_file({k: v.contiguous() for k, v in sorted(ckpt.items())}, path)
    sf = StableDiffusionXLPipeline.from_single_file(path, config=base, torch_dtype=torch.float32,
                                                    local_files_only=True, add_watermarker=False)
    n = 0
    for name in ("unet", "vae", "text_encoder", "text_encoder_2"):
        got, want = getattr(sf, name).state_dict(), getattr(pipe, name).state_dict()
        assert set(got) == set(want), (name, sorted(set(got) ^ set(want))[:10])
        for k in want:
            assert torch.equal(got[k], want[k]), f"from_single_file {name}.{k} differs"
            n += 1
    print(f"  single file: {len(ckpt)} tensors; from_single_file rebuilds all {n} tensors exactly")


LORA_TE = ["text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.mlp.fc1"]
LORA_TE2 = ["text_model.encoder.layers.0.self_attn.v_proj", "text_model.encoder.layers.1.mlp.fc2",
            "text_model.encoder.layers.2.self_attn.out_proj"]  # layer 2 reaches only the pooled text embeds
# (diffusers module, LDM module) of the tiny UNet (layers_per_block 1: input_blocks 1 + 2·block + layer)
LORA_UNET = [("down_blocks.1.attentions.0.transformer_blocks.1.attn2.to_v", "input_blocks.3.1.transformer_blocks.1.attn2.to_v"),
             ("down_blocks.1.attentions.0.proj_in", "input_blocks.3.1.proj_in"),
             ("mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj", "middle_block.1.transformer_blocks.0.ff.net.0.proj"),
             ("up_blocks.0.attentions.1.transformer_blocks.0.attn1.to_q", "output_blocks.1.1.transformer_blocks.0.attn1.to_q")]
LORA_CASE = case("lora", "txt2img", "euler", PROMPT_A, negative_prompt=NEG_A, seed=150, steps=4)


def stable(config):
    """A PEFT config that serialises the same on every run: sets as sorted lists, no local path."""
    return {k: sorted(v) if isinstance(v, set) else (None if k == "base_model_name_or_path" else v) for k, v in config.items()}


def lora_fixtures(root, pipe):
    """Random kohya and PEFT LoRAs for base/ and diffusers' images with them (load_lora_weights)."""
    out = os.path.join(root, "lora")
    os.makedirs(os.path.join(out, "reference"))
    g = torch.Generator().manual_seed(6000)
    rank, alpha = 2, 1.0

    def factors(model, module):
        w = dict(model.named_parameters())[module + ".weight"]
        scale = 2.0 * float(w.std()) / (alpha / rank)
        return (torch.randn(rank, w.shape[1], generator=g) * 0.5, torch.randn(w.shape[0], rank, generator=g) * scale * 0.5)

    kohya = {}
    for prefix, model, modules in (("lora_te1_", pipe.text_encoder, LORA_TE), ("lora_te2_", pipe.text_encoder_2, LORA_TE2)):
        names = {k.removeprefix("text_model."): k for k, _ in model.named_parameters()}
        for module in modules:
            torch_module = module if module + ".weight" in dict(model.named_parameters()) else module.removeprefix("text_model.")
            down, up = factors(model, torch_module)
            name = prefix + module.replace(".", "_")
            kohya[name + ".lora_down.weight"], kohya[name + ".lora_up.weight"] = down, up
            kohya[name + ".alpha"] = torch.tensor(alpha)
    for module, ldm in LORA_UNET:
        down, up = factors(pipe.unet, module)
        name = "lora_unet_" + ldm.replace(".", "_")
        kohya[name + ".lora_down.weight"], kohya[name + ".lora_up.weight"] = down, up
        kohya[name + ".alpha"] = torch.tensor(alpha)
    save_file(kohya, os.path.join(out, "kohya.safetensors"))

    from peft import LoraConfig
    from diffusers.utils import convert_state_dict_to_diffusers  # noqa: F401
    from peft.utils import get_peft_model_state_dict

    peft_pipe = load(os.path.join(root, "base"))
    torch.manual_seed(6001)  # PEFT's gaussian lora_A init draws from the global generator
    te_targets = ["q_proj", "fc1"]
    peft_pipe.unet.add_adapter(LoraConfig(r=rank, lora_alpha=alpha * 3, target_modules=["to_k", "proj_out"], init_lora_weights="gaussian"))
    peft_pipe.text_encoder.add_adapter(LoraConfig(r=rank, lora_alpha=alpha * 3, target_modules=te_targets, init_lora_weights="gaussian"))
    peft_pipe.text_encoder_2.add_adapter(LoraConfig(r=rank, lora_alpha=alpha * 3, target_modules=["k_proj", "fc2"], init_lora_weights="gaussian"))
    with torch.no_grad():
        for model in (peft_pipe.unet, peft_pipe.text_encoder, peft_pipe.text_encoder_2):
            for n, p in sorted(model.named_parameters()):
                if "lora_B" in n:
                    p.copy_(torch.randn(p.shape, generator=g) * 0.3)
    StableDiffusionXLPipeline.save_lora_weights(
        os.path.join(out, "peft"), unet_lora_layers=get_peft_model_state_dict(peft_pipe.unet),
        text_encoder_lora_layers=get_peft_model_state_dict(peft_pipe.text_encoder),
        text_encoder_2_lora_layers=get_peft_model_state_dict(peft_pipe.text_encoder_2),
        unet_lora_adapter_metadata=stable(peft_pipe.unet.peft_config["default"].to_dict()),
        text_encoder_lora_adapter_metadata=stable(peft_pipe.text_encoder.peft_config["default"].to_dict()),
        text_encoder_2_lora_adapter_metadata=stable(peft_pipe.text_encoder_2.peft_config["default"].to_dict()),
        safe_serialization=True)
    shutil.move(os.path.join(out, "peft", "pytorch_lora_weights.safetensors"), os.path.join(out, "peft.safetensors"))
    shutil.rmtree(os.path.join(out, "peft"))

    results = []
    for name, scale in (("kohya", 1.0), ("peft", 0.8)):
        p = load(os.path.join(root, "base"))
        quiet(p)
        p.load_lora_weights(os.path.join(out, f"{name}.safetensors"), adapter_name=name)
        p.set_adapters([name], [scale])
        c = dict(LORA_CASE, name=f"lora_{name}")
        p.scheduler = EulerDiscreteScheduler.from_config(p.scheduler.config)
        with torch.no_grad():
            image = p(prompt=c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                      guidance_scale=c["guidance"], width=c["width"], height=c["height"],
                      generator=torch.Generator().manual_seed(c["seed"])).images[0]
        image.save(os.path.join(out, "reference", f"{c['name']}_0.png"))
        plain = pipe(prompt=c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                     guidance_scale=c["guidance"], width=c["width"], height=c["height"],
                     generator=torch.Generator().manual_seed(c["seed"])).images[0]
        import numpy as np
        changed = int(np.abs(np.asarray(image, dtype=np.int16) - np.asarray(plain, dtype=np.int16)).max())
        assert changed > 8, f"{name}: the LoRA barely changes the image ({changed})"
        results.append(dict(c, file=f"{name}.safetensors", multiplier=scale, outputs=[f"{c['name']}_0.png"],
                            max_change_from_no_lora=changed))
        print(f"  lora {name}: image differs from the plain one by up to {changed}/255")
    write_json(os.path.join(out, "reference", "pipelines.json"), {"cases": results})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    args = ap.parse_args()
    root = os.path.abspath(args.out)
    if not os.path.isdir(os.path.join(SD, "sd1")) or not os.path.isdir(os.path.join(SD, "sd2")):
        sys.exit("run tools/make_sd_fixtures.py first: the SDXL folders link to its sd1 and sd2 components")
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    print(f"diffusers {diffusers.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")
    build(root)
    for kind in CASES:
        print(f"== {kind}")
        pipe = load(os.path.join(root, kind))
        ref = os.path.join(root, kind, "reference")
        os.makedirs(ref)
        if kind == "base":
            component_references(pipe, ref)
            single_file(os.path.join(root, kind), os.path.join(root, "base-single-file.safetensors"), pipe)
        run_cases(kind, pipe, ref)
    print("== refiner")
    build_refiner(root)
    refiner_cases(root, quiet(load(os.path.join(root, "base"))))
    print("== lora")
    lora_fixtures(root, quiet(load(os.path.join(root, "base"))))
    total = 0
    for dp, _, fns in os.walk(root):
        for fn in fns:
            total += os.path.getsize(os.path.join(dp, fn))
    print(f"total {total / 1e3:.0f} KB (links not followed)")


if __name__ == "__main__":
    main()
