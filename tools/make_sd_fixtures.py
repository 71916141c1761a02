#!/usr/bin/env python3
"""Writes the Stable Diffusion parity fixtures of the Swift tests into Tests/Fixtures/sd/.

Everything is built from configs with random (perturbed) weights -- no model hub -- and every
reference output is what Hugging Face diffusers itself produces from the pipeline AS RELOADED
FROM DISK (after the fp16/bf16 round trip), with fixed seeds:

  sd/sd1/             SD 1.x-like diffusers folder (StableDiffusionPipeline, PNDM, UNet in F16)
  sd/sd2/             SD 2.x-like folder (gelu text encoder, "!" pad, linear proj, head list,
                      upcast_attention, DDIM v_prediction, UNet in BF16)
  sd/inpaint/         SD 1.x inpainting folder (StableDiffusionInpaintPipeline, UNet in_channels 9)
  sd/<p>/reference/   components.safetensors/.json  one call of each model
                      pipelines.json + *.png          whole pipeline runs (txt2img/img2img/inpaint)
                      cases.safetensors               per-case trace (latents after every step, ...)
                      tokens.json                     tokenizer outputs
  sd/sd1-single-file.safetensors   the sd1 weights under the original CompVis/LDM key names,
                      verified against diffusers' own single-file converter

Run:  /path/to/venv/bin/python tools/make_sd_fixtures.py [--out DIR]
Deterministic: rerunning rewrites identical files (given the same torch/diffusers versions).
"""

import argparse
import warnings
import gzip
import hashlib
import json
import math
import os
import shutil
import sys
import time

import numpy as np
import torch
from PIL import Image, ImageDraw
from safetensors import safe_open
from safetensors.torch import load_file, save_file

torch.set_num_threads(1)
warnings.filterwarnings("ignore", category=FutureWarning)

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import (  # noqa: E402
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    HeunDiscreteScheduler,
    LMSDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionInpaintPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
    UniPCMultistepScheduler,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
DEFAULT_OUT = os.path.join(REPO, "Tests", "Fixtures", "sd")
OTHER_CLIP_TOKENIZER = os.path.join(REPO, "Tests", "Fixtures", "tokenizers", "clip")


def _find_openclip_bpe():
    try:
        import open_clip  # noqa: F401

        path = os.path.join(os.path.dirname(open_clip.__file__), "bpe_simple_vocab_16e6.txt.gz")
        if os.path.exists(path):
            return path
    except Exception:  # pragma: no cover - open_clip missing or broken
        pass
    sys.exit("open_clip_torch is needed for its CLIP BPE file (bpe_simple_vocab_16e6.txt.gz)")


# =============================================================================================
# Configs
# =============================================================================================

# SD 1.5's scheduler/scheduler_config.json
SD15_PNDM = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                 set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, trained_betas=None, clip_sample=False)
# SD 2.1's scheduler/scheduler_config.json (+ its implicit default timestep_spacing "leading")
SD21_DDIM = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", num_train_timesteps=1000,
                 set_alpha_to_one=False, skip_prk_steps=True, steps_offset=1, trained_betas=None, clip_sample=False,
                 prediction_type="v_prediction", timestep_spacing="leading")

# the legacy token ids of SD's text_encoder/config.json (bos 0, eos 2, pad 1): only the pooled
# output (unused by SD) depends on eos_token_id
TEXT_COMMON = dict(vocab_size=49408, hidden_size=32, intermediate_size=37, num_hidden_layers=2, num_attention_heads=4,
                   max_position_embeddings=77, layer_norm_eps=1e-5, projection_dim=32, attention_dropout=0.0,
                   initializer_factor=1.0, initializer_range=0.02, bos_token_id=0, eos_token_id=2, pad_token_id=1)

VAE_CFG = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 2,
               up_block_types=("UpDecoderBlock2D",) * 2, block_out_channels=(16, 32), layers_per_block=2,
               act_fn="silu", latent_channels=4, norm_num_groups=8, sample_size=16, scaling_factor=0.18215)

SD1_UNET = dict(sample_size=8, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True,
                freq_shift=0, down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(32, 64), layers_per_block=2,
                downsample_padding=1, mid_block_scale_factor=1, act_fn="silu", norm_num_groups=8, norm_eps=1e-5,
                cross_attention_dim=32, attention_head_dim=8)

SD2_UNET = dict(sample_size=8, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True,
                freq_shift=0, down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                block_out_channels=(32, 32, 64), layers_per_block=1, downsample_padding=1, mid_block_scale_factor=1,
                act_fn="silu", norm_num_groups=8, norm_eps=1e-5, cross_attention_dim=32,
                attention_head_dim=[2, 4, 4], use_linear_projection=True, upcast_attention=True)

INPAINT_UNET = dict(SD1_UNET, in_channels=9, layers_per_block=1, block_out_channels=(16, 32), attention_head_dim=4)

PIPELINES = {
    # seeds: (text encoder, unet, vae); the inpaint folder shares sd1's text encoder and VAE, as
    # SD 1.5-inpainting does (identical files)
    "sd1": dict(seeds=(1000, 1001, 1002), cls=StableDiffusionPipeline, text=dict(TEXT_COMMON, hidden_act="quick_gelu"),
                unet=SD1_UNET, vae=VAE_CFG, scheduler=(PNDMScheduler, SD15_PNDM), pad_token="<|endoftext|>",
                unet_dtype=torch.float16, text_dtype=torch.float16, vae_dtype=torch.float32,
                text_model_prefix=True),
    "sd2": dict(seeds=(2000, 2001, 2002), cls=StableDiffusionPipeline, text=dict(TEXT_COMMON, hidden_act="gelu"),
                unet=SD2_UNET, vae=VAE_CFG, scheduler=(DDIMScheduler, SD21_DDIM), pad_token="!",
                unet_dtype=torch.bfloat16, text_dtype=torch.float16, vae_dtype=torch.float32,
                text_model_prefix=False),
    "inpaint": dict(seeds=(1000, 3001, 1002), cls=StableDiffusionInpaintPipeline, text=dict(TEXT_COMMON, hidden_act="quick_gelu"),
                    unet=INPAINT_UNET, vae=VAE_CFG, scheduler=(PNDMScheduler, SD15_PNDM), pad_token="<|endoftext|>",
                    unet_dtype=torch.float32, text_dtype=torch.float16, vae_dtype=torch.float32,
                    text_model_prefix=True),
}

# our sampler names -> (diffusers class, from_config overrides)
SAMPLERS = {
    "pndm": (PNDMScheduler, {}),
    "ddim": (DDIMScheduler, {}),
    "ddpm": (DDPMScheduler, {}),
    "euler": (EulerDiscreteScheduler, {}),
    "euler_a": (EulerAncestralDiscreteScheduler, {}),
    "heun": (HeunDiscreteScheduler, {}),
    "lms": (LMSDiscreteScheduler, {}),
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


def case(name, pipeline, sampler, prompt, *, negative_prompt=None, steps=5, guidance=7.5, seed=0, width=48,
         height=32, count=1, init_image=None, strength=None, mask=None):
    return dict(name=name, pipeline=pipeline, prompt=prompt, negative_prompt=negative_prompt, sampler=sampler,
                steps=steps, guidance=guidance, seed=seed, width=width, height=height, count=count,
                init_image=init_image, strength=strength, mask=mask)


def cases_for(kind):
    if kind == "sd1":
        out = []
        negs = {"ddim": NEG_A, "euler": NEG_B, "dpmpp_2m_karras": NEG_A, "unipc": NEG_B}
        for i, s in enumerate(SAMPLERS):
            out.append(case(f"txt2img_{s}", "txt2img", s, PROMPT_A, negative_prompt=negs.get(s), seed=100 + i))
        out += [
            case("txt2img_ddim_count2", "txt2img", "ddim", PROMPT_B, negative_prompt=NEG_B, seed=7, count=2),
            case("txt2img_euler_a_count2", "txt2img", "euler_a", PROMPT_C, seed=8, count=2),
            case("txt2img_dpmpp_2m_32x56", "txt2img", "dpmpp_2m", PROMPT_B, seed=9, width=32, height=56),
            case("txt2img_euler_nocfg", "txt2img", "euler", PROMPT_C, guidance=1.0, seed=10),
            case("img2img_pndm", "img2img", "pndm", PROMPT_C, seed=20, init_image=INIT_IMAGE, strength=0.6),
            case("img2img_euler_a", "img2img", "euler_a", PROMPT_A, negative_prompt=NEG_A, seed=21,
                 init_image=INIT_IMAGE, strength=0.6),
            case("img2img_ddim_count2", "img2img", "ddim", PROMPT_B, seed=22, count=2, init_image=INIT_IMAGE,
                 strength=0.6),
            case("inpaint4_ddim", "inpaint", "ddim", PROMPT_A, seed=30, init_image=INIT_IMAGE, mask=MASK_IMAGE),
            case("inpaint4_euler_a", "inpaint", "euler_a", PROMPT_C, negative_prompt=NEG_B, seed=31,
                 init_image=INIT_IMAGE, mask=MASK_IMAGE),
            case("inpaint4_dpmpp_2m_strength075", "inpaint", "dpmpp_2m", PROMPT_B, seed=32, init_image=INIT_IMAGE,
                 mask=MASK_IMAGE, strength=0.75),
        ]
        return out
    if kind == "sd2":
        return [
            case("txt2img_ddim", "txt2img", "ddim", PROMPT_A, seed=200),
            case("txt2img_euler", "txt2img", "euler", PROMPT_B, negative_prompt=NEG_A, seed=201),
            case("txt2img_dpmpp_2m_karras", "txt2img", "dpmpp_2m_karras", PROMPT_C, seed=202),
            case("txt2img_euler_a_count2", "txt2img", "euler_a", PROMPT_A, negative_prompt=NEG_B, seed=203, count=2),
        ]
    if kind == "inpaint":
        return [
            case("inpaint_pndm", "inpaint", "pndm", PROMPT_A, seed=300, init_image=INIT_IMAGE, mask=MASK_IMAGE),
            case("inpaint_dpmpp_2m", "inpaint", "dpmpp_2m", PROMPT_C, negative_prompt=NEG_A, seed=301,
                 init_image=INIT_IMAGE, mask=MASK_IMAGE),
            case("inpaint_euler_a_strength06_count2", "inpaint", "euler_a", PROMPT_B, seed=302, count=2,
                 init_image=INIT_IMAGE, mask=MASK_IMAGE, strength=0.6),
        ]
    raise KeyError(kind)


TOKEN_PROMPTS = [
    "",
    PROMPT_A,
    "A   Photograph of an ASTRONAUT,riding a horse!!",
    "don't stop believin' \u2014 it's 3.14159 o'clock",
    "caf\u00e9 nai\u0308ve r\u00e9sum\u00e9 Cafe\u0301",
    "\uff26\uff35\uff2c\uff2c\uff37\uff29\uff24\uff34\uff28 \u6771\u4eac \U0001f680 emoji",
    "a red cube\non a blue\tsphere  ",
    "(masterpiece:1.2), best quality, [[ugly]]",
    "<|startoftext|>literal special tokens<|endoftext|> here",
    " ".join(["lorem ipsum dolor sit amet"] * 20),
]

# =============================================================================================
# Small helpers
# =============================================================================================


def json_safe(obj):
    """Strict JSON has no NaN or infinities: write them as the strings "NaN", "Infinity", "-Infinity"."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "NaN" if math.isnan(obj) else ("Infinity" if obj > 0 else "-Infinity")
    if isinstance(obj, dict):
        return {k: json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    return obj


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(json_safe(obj), f, indent=1, ensure_ascii=False, allow_nan=False)
        f.write("\n")


def st_dtype(t):
    return {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.int64: "I64",
            torch.int32: "I32"}[t.dtype]


def save_tensors(path, tensors, describe):
    """save_file + a JSON description {key: {dtype, shape, ...}} (describe: key -> extra dict)."""
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    save_file(tensors, path, metadata={"format": "pt"})
    return {k: dict(dtype=st_dtype(v), shape=list(v.shape), **describe.get(k, {})) for k, v in tensors.items()}


def stats(t):
    t = t.detach().double()
    return dict(min=round(t.min().item(), 5), max=round(t.max().item(), 5), mean=round(t.mean().item(), 5),
                std=round(t.std().item(), 5) if t.numel() > 1 else 0.0)


def perturb(model, seed):
    """Every parameter moves away from its init so none is inert (norm weights 1, biases 0, ...)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _, p in sorted(model.named_parameters()):
            s = p.std().item() if p.numel() > 1 else 0.0
            scale = 0.1 * (s if s > 0 else 1.0)
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


def to_rel(path, root):
    return os.path.relpath(path, root)


# =============================================================================================
# CLIP tokenizer folder (same layout as openai/clip-vit-large-patch14)
# =============================================================================================


def bytes_to_unicode():
    bs = (list(range(ord("!"), ord("~") + 1)) + list(range(ord("\u00a1"), ord("\u00ac") + 1))
          + list(range(ord("\u00ae"), ord("\u00ff") + 1)))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clip_vocab_and_merges():
    lines = gzip.open(_find_openclip_bpe()).read().decode("utf-8").split("\n")
    merges = lines[1:49152 - 256 - 2 + 1]
    merges = [tuple(m.split()) for m in merges]
    vocab = list(bytes_to_unicode().values())
    vocab = vocab + [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges]
    vocab += ["<|startoftext|>", "<|endoftext|>"]
    assert len(vocab) == 49408 and len(set(vocab)) == 49408 and len(merges) == 48894
    return {t: i for i, t in enumerate(vocab)}, merges


def added_token(content):
    return {"__type": "AddedToken", "content": content, "lstrip": False, "normalized": True, "rstrip": False,
            "single_word": False}


def write_clip_tokenizer(folder, pad_token):
    """vocab.json, merges.txt, tokenizer_config.json, special_tokens_map.json (no tokenizer.json)."""
    vocab, merges = clip_vocab_and_merges()
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")
    pad = pad_token if pad_token == "<|endoftext|>" else added_token(pad_token)
    write_json(os.path.join(folder, "tokenizer_config.json"), {
        "add_prefix_space": False,
        "bos_token": added_token("<|startoftext|>"),
        "clean_up_tokenization_spaces": True,
        "do_lower_case": True,
        "eos_token": added_token("<|endoftext|>"),
        "errors": "replace",
        "model_max_length": 77,
        "pad_token": pad,
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": added_token("<|endoftext|>"),
    })
    stm = {k: {kk: vv for kk, vv in added_token(v).items() if kk != "__type"} for k, v in
           (("bos_token", "<|startoftext|>"), ("eos_token", "<|endoftext|>"), ("unk_token", "<|endoftext|>"))}
    stm["pad_token"] = pad_token if pad_token == "<|endoftext|>" else \
        {kk: vv for kk, vv in added_token(pad_token).items() if kk != "__type"}
    write_json(os.path.join(folder, "special_tokens_map.json"), stm)
    # the other engineer's copy (Tests/Fixtures/tokenizers/clip) must hold the same vocabulary
    for name in ("vocab.json", "merges.txt"):
        other = os.path.join(OTHER_CLIP_TOKENIZER, name)
        if os.path.exists(other):
            with open(other, encoding="utf-8") as f1, open(os.path.join(folder, name), encoding="utf-8") as f2:
                a, b = f1.read(), f2.read()
            same = (json.loads(a) == json.loads(b)) if name.endswith(".json") else \
                (a.strip().split("\n") == b.strip().split("\n"))
            print(f"  tokenizer {name}: {'same as' if same else 'DIFFERS FROM'} {to_rel(other, REPO)}")
            assert same, f"{name} differs from {other}"


def check_tokenizer_against_openclip(tok, prompts):
    """Sanity: BOS..EOS ids equal open_clip's SimpleTokenizer (which uses ftfy + its own regex)."""
    from open_clip.tokenizer import SimpleTokenizer

    st = SimpleTokenizer()
    diffs = []
    for p in prompts:
        ours = tok(p, truncation=True, max_length=77).input_ids
        theirs = [49406] + st.encode(p)[:75] + [49407]
        if ours != theirs:
            diffs.append(p)
    return diffs


# =============================================================================================
# Building, saving and reloading a pipeline
# =============================================================================================


def build_and_save(kind, root):
    spec = PIPELINES[kind]
    folder = os.path.join(root, kind)
    models = []
    for seed, make in zip(spec["seeds"], (lambda: CLIPTextModel(CLIPTextConfig(**spec["text"])),
                                          lambda: UNet2DConditionModel(**spec["unet"]),
                                          lambda: AutoencoderKL(**spec["vae"]))):
        torch.manual_seed(seed)
        m = make().eval()
        perturb(m, seed + 17)
        models.append(m)
    text_encoder, unet, vae = models
    tok_dir = os.path.join(folder, "tokenizer")
    write_clip_tokenizer(tok_dir, spec["pad_token"])
    tokenizer = CLIPTokenizer.from_pretrained(tok_dir)
    sched_cls, sched_cfg = spec["scheduler"]
    scheduler = sched_cls.from_config(sched_cfg)  # from_config: ignores keys the class lacks (clip_sample)
    text_encoder.to(spec["text_dtype"])
    unet.to(spec["unet_dtype"])
    vae.to(spec["vae_dtype"])
    pipe = spec["cls"](vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
                       safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(folder, safe_serialization=True)
    # keep every key of the hub's scheduler_config.json (PNDM ignores clip_sample, as on the hub)
    sc_path = os.path.join(folder, "scheduler", "scheduler_config.json")
    sc = json.load(open(sc_path))
    for k, v in sched_cfg.items():
        sc.setdefault(k, v)
    write_json(sc_path, dict(sorted(sc.items())))
    # the tokenizer folder as on the hub (save_pretrained may add tokenizer.json etc.)
    shutil.rmtree(tok_dir)
    write_clip_tokenizer(tok_dir, spec["pad_token"])
    te_file = os.path.join(folder, "text_encoder", "model.safetensors")
    if spec["text_model_prefix"]:
        # transformers >= 5.6 writes CLIPTextModel keys without "text_model."; hub checkpoints have it
        sd = load_file(te_file)
        if not any(k.startswith("text_model.") for k in sd):
            sd = {("text_model." + k if not k.startswith("text_projection") else k): v for k, v in sd.items()}
        save_file(sd, te_file, metadata={"format": "pt"})
    originals = {"text_encoder": text_encoder, "unet": unet, "vae": vae}
    return folder, originals, tokenizer


def reload(kind, folder, originals, tokenizer_mem):
    cls = PIPELINES[kind]["cls"]
    pipe = cls.from_pretrained(folder, dtype=torch.float32, safety_checker=None, feature_extractor=None,
                               requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    # every weight must come back exactly (stored precision, widened to float32)
    for name, orig in originals.items():
        got = getattr(pipe, name).state_dict()
        want = orig.state_dict()
        assert set(got) == set(want), (name, set(got) ^ set(want))
        for k, v in want.items():
            assert got[k].dtype == torch.float32 or k.endswith("position_ids"), (name, k, got[k].dtype)
            assert torch.equal(got[k].float(), v.float()), f"{kind}/{name}: {k} did not reload exactly"
    for p in TOKEN_PROMPTS:
        assert pipe.tokenizer(p, padding="max_length", max_length=77, truncation=True).input_ids == \
            tokenizer_mem(p, padding="max_length", max_length=77, truncation=True).input_ids
    return pipe


# =============================================================================================
# Reference images (procedural)
# =============================================================================================


def make_init_image(w=48, h=32):
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 40 + 180 * x / (w - 1)
    g = 30 + 190 * y / (h - 1)
    b = 128 + 100 * np.sin(x / 5.0 + y / 7.0)
    img = np.stack([r, g, b], -1)
    im = Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8), "RGB")
    d = ImageDraw.Draw(im)
    d.ellipse([5, 4, 21, 20], fill=(240, 220, 30))
    d.rectangle([27, 15, 43, 28], fill=(20, 40, 160))
    d.line([0, 31, 47, 0], fill=(250, 250, 250), width=2)
    return im


def make_mask(w=48, h=32):
    """L-mode mask, white (>= 128 after /255 >= 0.5) = repaint. Edges on odd coordinates and a few
    values next to the 0.5 threshold (127 stays, 128 repaints)."""
    m = np.zeros((h, w), np.uint8)
    m[7:22, 13:30] = 255          # rectangle starting at odd row/column
    m[25:29, 3:9] = 128           # exactly at threshold -> repaint
    m[25:29, 11:17] = 127         # just below -> keep
    m[2:5, 37:46] = 200
    return Image.fromarray(m, "L")


def vae_test_image(h=24, w=40):
    y, x = torch.meshgrid(torch.arange(h, dtype=torch.float64), torch.arange(w, dtype=torch.float64), indexing="ij")
    r = torch.sin(x / 4.0) * 0.8
    g = torch.cos(y / 3.0 + x / 9.0) * 0.9
    b = ((x - w / 2) ** 2 + (y - h / 2) ** 2).sqrt() / 12.0 - 1.0
    return torch.stack([r, g, b]).clamp(-1, 1).float()[None]


# =============================================================================================
# Component references
# =============================================================================================


def component_references(kind, pipe, ref):
    te, unet, vae, tok = pipe.text_encoder, pipe.unet, pipe.vae, pipe.tokenizer
    T, D = {}, {}
    prompts = [PROMPT_A, ""]
    ids = tok(prompts, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        out = te(ids, output_hidden_states=True)
        T["text_encoder.input_ids"] = ids
        T["text_encoder.last_hidden_state"] = out.last_hidden_state
        # clip_skip=1 in diffusers: final_layer_norm(hidden_states[-2])
        T["text_encoder.clip_skip1"] = te.final_layer_norm(out.hidden_states[-2]) if hasattr(te, "final_layer_norm") \
            else te.text_model.final_layer_norm(out.hidden_states[-2])
        D["text_encoder.input_ids"] = dict(prompts=prompts)
        D["text_encoder.last_hidden_state"] = dict(note="text_encoder(input_ids)[0] (after final_layer_norm), no "
                                                        "attention_mask (causal mask only)")
        D["text_encoder.clip_skip1"] = dict(note="final_layer_norm(hidden_states[-2]), what clip_skip=1 gives")
        ehs = out.last_hidden_state
        T["unet.encoder_hidden_states"] = ehs.clone()
        D["unet.encoder_hidden_states"] = dict(note="= text_encoder.last_hidden_state; used by every unet.* call")
        C = unet.config.in_channels
        g = torch.Generator().manual_seed(4242)
        calls = [("unet.t999", 999.0, (12, 8)), ("unet.t37", 37.0, (12, 8)), ("unet.odd", 500.5, (7, 9))]
        for key, t, (h, w) in calls:
            sample = torch.randn((2, C, h, w), generator=g)
            timestep = torch.tensor([t], dtype=torch.float32)
            o = unet(sample, timestep[0], encoder_hidden_states=ehs, return_dict=False)[0]
            T[f"{key}.sample"] = sample
            T[f"{key}.timestep"] = timestep
            T[f"{key}.output"] = o
            D[f"{key}.timestep"] = dict(value=t, note="shape [1]; passed to unet as the 0-d tensor timestep[0] "
                                                      "(broadcast to the batch)")
            D[f"{key}.output"] = dict(note="unet(sample, timestep, encoder_hidden_states).sample")
        D["unet.odd.sample"] = dict(note="latent size not divisible by the UNet's down factor: diffusers passes "
                                         "upsample_size so each Upsample2D interpolates (nearest) to the skip size")
        img = vae_test_image()
        post = vae.encode(img).latent_dist
        T["vae.encode.image"] = img
        T["vae.encode.mean"] = post.mean
        T["vae.encode.logvar"] = post.logvar
        T["vae.encode.std"] = post.std
        gs = torch.Generator().manual_seed(77)
        T["vae.encode.sample_seed77"] = post.sample(generator=gs)
        D["vae.encode.image"] = dict(note="[1,3,H,W] in [-1,1]")
        D["vae.encode.logvar"] = dict(note="clamped to [-30, 20] (DiagonalGaussianDistribution)")
        D["vae.encode.std"] = dict(note="exp(0.5*logvar)")
        D["vae.encode.sample_seed77"] = dict(note="latent_dist.sample(torch.Generator().manual_seed(77)) = "
                                                  "mean + std * torch.randn(mean.shape, generator)")
        z = torch.randn((1, vae.config.latent_channels, 7, 11), generator=torch.Generator().manual_seed(555))
        T["vae.decode.latents"] = z
        T["vae.decode.output"] = vae.decode(z, return_dict=False)[0]
        D["vae.decode.latents"] = dict(note="fed to vae.decode AS IS (pipelines feed latents / scaling_factor)")
        D["vae.decode.output"] = dict(note="vae.decode(latents).sample, unclamped, ~[-1,1]")
    desc = save_tensors(os.path.join(ref, "components.safetensors"), T, D)
    for k in desc:
        desc[k]["stats"] = stats(T[k].float())
    write_json(os.path.join(ref, "components.json"), {
        "pipeline_folder": "..",
        "dtype_note": "all F32 except text_encoder.input_ids (I64); computed in float32 from the weights as "
                      "reloaded from disk",
        "vae_scaling_factor": vae.config.scaling_factor,
        "vae_scale_factor": 2 ** (len(vae.config.block_out_channels) - 1),
        "tensors": desc,
    })
    return {k: stats(T[k].float()) for k in ("text_encoder.last_hidden_state", "unet.t999.output",
                                             "vae.encode.mean", "vae.decode.output")}


# =============================================================================================
# Whole-pipeline references
# =============================================================================================


PIPELINE_CLASSES = {"txt2img": StableDiffusionPipeline, "img2img": StableDiffusionImg2ImgPipeline,
                    "inpaint": StableDiffusionInpaintPipeline}


def pipeline_for(base, which, scheduler):
    """A fresh pipeline of the wanted kind on the SAME model objects, with its own scheduler (the base
    pipeline and its scheduler config are never changed)."""
    comps = dict(base.components)
    comps["scheduler"] = scheduler
    p = PIPELINE_CLASSES[which](**comps, requires_safety_checker=False)
    p.set_progress_bar_config(disable=True)
    return p


def rng_order(c, unet_in_channels):
    p = c["pipeline"]
    anc = c["sampler"] in ("euler_a", "ddpm")
    seq = []
    if p == "txt2img":
        seq.append("initial latents: randn([count,4,h,w]) * init_noise_sigma")
    elif p == "img2img":
        seq += ["VAE encode of the init image: latent_dist.sample = mean + std*randn([1,4,h,w]), then "
                "* scaling_factor (repeated to count)",
                "noise: randn([count,4,h,w]); latents = scheduler.add_noise(image_latents, noise, first timestep)"]
    else:
        strength_max = (c["strength"] if c["strength"] is not None else 1.0) == 1.0
        if unet_in_channels == 4 or not strength_max:
            seq.append("VAE encode of the init image (sample, * scaling_factor)")
        seq.append("noise: randn([count,4,h,w]); latents = noise*init_noise_sigma if strength == 1 else "
                   "add_noise(image_latents, noise, first timestep)")
        seq.append("VAE encode of the masked image (sample, * scaling_factor) -- drawn even for a 4-channel UNet "
                   "that never uses it")
    if anc:
        seq.append("one randn(latents.shape) per scheduler step, after the UNet call of that step (Euler a: "
                   "every step, the last included; DDPM: every step with t > 0)")
    return seq


def run_cases(kind, pipe, ref):
    init_im = make_init_image()
    init_im.save(os.path.join(ref, INIT_IMAGE))
    make_mask().save(os.path.join(ref, MASK_IMAGE))
    init_im = Image.open(os.path.join(ref, INIT_IMAGE)).convert("RGB")
    mask_im = Image.open(os.path.join(ref, MASK_IMAGE))
    trace = {}
    results = []
    summary = []
    base_config = pipe.scheduler.config  # the folder's scheduler; every case starts from it
    for c in cases_for(kind):
        t0 = time.time()
        cls, overrides = SAMPLERS[c["sampler"]]
        p = pipeline_for(pipe, c["pipeline"], cls.from_config(base_config, **overrides))
        name = c["name"]
        rec = {}
        unet_calls = []

        def hook(module, args, kwargs, output, rec=rec, unet_calls=unet_calls):
            t = args[1] if len(args) > 1 else kwargs["timestep"]
            unet_calls.append(float(t))
            if "unet0.sample" not in rec:
                rec["unet0.sample"] = args[0].clone()
                rec["unet0.timestep"] = torch.tensor([float(t)], dtype=torch.float32)
                rec["unet0.encoder_hidden_states"] = kwargs["encoder_hidden_states"].clone()
                rec["unet0.output"] = output[0].clone()

        h = p.unet.register_forward_hook(hook, with_kwargs=True)
        orig_prepare = p.prepare_latents
        orig_decode = p.vae.decode

        def prepare(*a, **k):
            out = orig_prepare(*a, **k)
            rec["latents_initial"] = (out[0] if isinstance(out, tuple) else out).clone()
            if isinstance(out, tuple) and len(out) > 2:
                rec["image_latents"] = out[2].clone()
            return out

        def decode(z, *a, **k):
            out = orig_decode(z, *a, **k)
            rec["vae_decode_input"] = z.clone()
            rec["decoded"] = (out[0] if isinstance(out, tuple) else out.sample).clone()
            return out

        p.prepare_latents = prepare
        p.vae.decode = decode
        if c["pipeline"] == "inpaint":
            orig_pm = p.prepare_mask_latents

            def prep_mask(*a, **k):
                m, mil = orig_pm(*a, **k)
                rec["mask_latent"] = m.clone()
                rec["masked_image_latents"] = mil.clone()
                return m, mil

            p.prepare_mask_latents = prep_mask
        steps_t = []

        def on_step(pp, i, t, kw):
            steps_t.append(float(t))
            rec[f"step{i:02d}.latents"] = kw["latents"].clone()
            return kw

        kwargs = dict(prompt=c["prompt"], negative_prompt=c["negative_prompt"], num_inference_steps=c["steps"],
                      guidance_scale=c["guidance"], num_images_per_prompt=c["count"],
                      generator=torch.Generator().manual_seed(c["seed"]), output_type="pil",
                      callback_on_step_end=on_step, callback_on_step_end_tensor_inputs=["latents"])
        if c["pipeline"] == "txt2img":
            kwargs.update(width=c["width"], height=c["height"])
        elif c["pipeline"] == "img2img":
            kwargs.update(image=init_im, strength=c["strength"])
        else:
            kwargs.update(image=init_im, mask_image=mask_im, width=c["width"], height=c["height"])
            if c["strength"] is not None:
                kwargs["strength"] = c["strength"]
        with torch.no_grad():
            images = p(**kwargs).images
        h.remove()
        del p.prepare_latents
        del p.vae.decode
        if c["pipeline"] == "inpaint":
            del p.prepare_mask_latents
        outputs = []
        for i, im in enumerate(images):
            fn = f"{name}_{i}.png"
            im.save(os.path.join(ref, fn))
            outputs.append(fn)
        px = np.stack([np.asarray(im) for im in images]).astype(np.float64)
        sat = float(np.mean((px == 0) | (px == 255)))
        pstd = float(px.std())
        assert pstd > 10.0, f"{kind}/{name}: output too flat (std {pstd:.2f})"
        assert sat < 0.5, f"{kind}/{name}: output saturated ({sat:.2%})"
        sched = p.scheduler
        entry = dict(c)
        entry["outputs"] = outputs
        entry["scheduler_class"] = type(sched).__name__
        entry["scheduler_config"] = {k: v for k, v in dict(sched.config).items() if not k.startswith("_")}
        entry["scheduler_timesteps"] = [float(x) for x in sched.timesteps]
        if getattr(sched, "sigmas", None) is not None:
            entry["scheduler_sigmas"] = [float(x) for x in sched.sigmas]
        entry["init_noise_sigma"] = float(sched.init_noise_sigma)
        entry["timesteps_run"] = steps_t
        entry["unet_call_timesteps"] = unet_calls
        entry["do_classifier_free_guidance"] = c["guidance"] > 1.0
        entry["uncond_prompt_used"] = (c["negative_prompt"] if c["negative_prompt"] is not None else "") \
            if c["guidance"] > 1.0 else None
        entry["generator"] = f"torch.Generator('cpu').manual_seed({c['seed']}), one generator for the whole batch"
        entry["rng_consumption_order"] = rng_order(c, pipe.unet.config.in_channels)
        entry["trace_prefix"] = f"{name}/"
        entry["stats"] = dict(pixels_mean=round(float(px.mean()), 3), pixels_std=round(pstd, 3),
                              saturated_fraction=round(sat, 4), decoded=stats(rec["decoded"]),
                              final_latents=stats(rec["vae_decode_input"]))
        if c["pipeline"] == "inpaint":
            entry["strength_used"] = c["strength"] if c["strength"] is not None else 1.0
        results.append(entry)
        for k, v in rec.items():
            trace[f"{name}/{k}"] = v.float()
        summary.append((name, len(unet_calls), pstd, sat, time.time() - t0))
    save_file({k: v.contiguous() for k, v in trace.items()}, os.path.join(ref, "cases.safetensors"),
              metadata={"format": "pt"})
    write_json(os.path.join(ref, "pipelines.json"), {
        "pipeline_folder": "..",
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__.split("+")[0],
        "samplers": {k: dict(cls=v[0].__name__, from_config_overrides=v[1],
                             how=f"{v[0].__name__}.from_config(pipe.scheduler.config"
                                 + "".join(f", {a}={b}" for a, b in v[1].items()) + ")")
                     for k, v in SAMPLERS.items()},
        "defaults_relied_on": {
            "eta": 0.0,
            "guidance_rescale": 0.0,
            "clip_skip": None,
            "output_type": "pil (postprocess: (x/2+0.5).clamp(0,1), *255, round half-to-even (numpy), uint8)",
            "txt2img": "width/height passed explicitly (must be multiples of 8)",
            "img2img": "width/height come from the init image (already a multiple of vae_scale_factor, so no "
                       "resize); image normalized as pixel/255*2-1",
            "inpaint_strength_default": 1.0,
            "inpaint_padding_mask_crop": None,
            "inpaint_mask_blur": "none (mask_processor: do_normalize=False, do_binarize=True, "
                                 "do_convert_grayscale=True, do_blur unset)",
            "inpaint_mask_binarize": "L = grayscale; m = L/255; m < 0.5 -> 0 else 1 (127 keeps, 128 repaints)",
            "inpaint_masked_image": "init_image * (mask < 0.5) in [-1,1] space: repainted pixels become 0",
            "inpaint_mask_latent": "F.interpolate(mask, size=(H/f, W/f)) mode nearest: picks pixel (f*i, f*j)",
            "negative_prompt_none": "\"\" is encoded as the unconditional prompt when guidance > 1",
            "cfg": "UNet batch = cat([uncond, cond]); pred = uncond + guidance*(cond - uncond)",
            "num_images_per_prompt": "embeddings repeated per image; a single randn call for the whole batch",
            "attention_mask": "not passed to the text encoder (config has no use_attention_mask)",
            "vae_decode": "vae.decode(latents / scaling_factor)",
        },
        "trace_file": "cases.safetensors",
        "trace_keys": {
            "latents_initial": "what prepare_latents returned (before the first scale_model_input)",
            "image_latents": "inpaint with a 4-channel UNet: scaling_factor * VAE sample of the init image",
            "mask_latent": "inpaint: the mask fed to the UNet / blend (already duplicated for CFG)",
            "masked_image_latents": "inpaint: scaling_factor * VAE sample of the masked image (dup. for CFG)",
            "unet0.*": "inputs/outputs of the first UNet call (sample after scale_model_input and, for 9-ch, "
                       "concatenation with mask and masked_image_latents)",
            "stepNN.latents": "latents after scheduler step NN (for inpaint-4ch after the blend)",
            "vae_decode_input": "latents / scaling_factor as passed to vae.decode",
            "decoded": "vae.decode output (float, before postprocess)",
        },
        "cases": results,
    })
    return summary


def token_references(kind, pipe, ref):
    prompts = list(TOKEN_PROMPTS)
    for c in cases_for(kind):
        for p in (c["prompt"], c["negative_prompt"]):
            if p is not None and p not in prompts:
                prompts.append(p)
    tok = pipe.tokenizer
    entries = []
    for p in prompts:
        ids = tok(p, padding="max_length", max_length=77, truncation=True).input_ids
        raw = tok(p).input_ids
        entries.append(dict(prompt=p, input_ids=ids, untruncated_ids=raw))
    diffs = check_tokenizer_against_openclip(tok, prompts)
    write_json(os.path.join(ref, "tokens.json"), {
        "tokenizer_folder": "../tokenizer",
        "call": "tokenizer(prompt, padding='max_length', max_length=77, truncation=True).input_ids",
        "pad_token": tok.pad_token, "pad_token_id": tok.pad_token_id,
        "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
        "normalization": "transformers CLIPTokenizer (tokenizers backend): NFC, \\s+ -> ' ', lowercase; no ftfy; "
                         "'<|startoftext|>'/'<|endoftext|>' in the text are matched as special tokens",
        "untruncated_ids_note": "tokenizer(prompt).input_ids: BOS + tokens + EOS, no padding or truncation",
        "differs_from_open_clip_simpletokenizer": diffs,
        "cases": entries,
    })
    return len(entries), diffs


# =============================================================================================
# Single-file (original CompVis / LDM key names) checkpoint
# =============================================================================================

UNET_RESNET_LEAVES = [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
                      ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]
VAE_RESNET_LEAVES = [("conv_shortcut", "nin_shortcut")]  # norm1/conv1/norm2/conv2 keep their names
VAE_ATTN_LEAVES = [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]
VAE_CONV_1X1 = ("q", "k", "v", "proj_out")  # LDM stores these as 1x1 conv weights [C, C, 1, 1]


def unet_ldm_table(cfg):
    """(diffusers module, LDM module under model.diffusion_model., leaf renames) for UNet2DConditionModel."""
    L = cfg["layers_per_block"]
    down, up = cfg["down_block_types"], cfg["up_block_types"]
    rows = [("time_embedding.linear_1", "time_embed.0", []), ("time_embedding.linear_2", "time_embed.2", []),
            ("conv_in", "input_blocks.0.0", []), ("conv_norm_out", "out.0", []), ("conv_out", "out.2", [])]
    for b, kind in enumerate(down):
        for j in range(L):
            n = 1 + b * (L + 1) + j
            rows.append((f"down_blocks.{b}.resnets.{j}", f"input_blocks.{n}.0", UNET_RESNET_LEAVES))
            if kind.startswith("CrossAttn"):
                rows.append((f"down_blocks.{b}.attentions.{j}", f"input_blocks.{n}.1", []))
        if b < len(down) - 1:
            rows.append((f"down_blocks.{b}.downsamplers.0.conv", f"input_blocks.{1 + b * (L + 1) + L}.0.op", []))
    rows += [("mid_block.resnets.0", "middle_block.0", UNET_RESNET_LEAVES),
             ("mid_block.attentions.0", "middle_block.1", []),
             ("mid_block.resnets.1", "middle_block.2", UNET_RESNET_LEAVES)]
    for b, kind in enumerate(up):
        attn = kind.startswith("CrossAttn")
        for j in range(L + 1):
            n = b * (L + 1) + j
            rows.append((f"up_blocks.{b}.resnets.{j}", f"output_blocks.{n}.0", UNET_RESNET_LEAVES))
            if attn:
                rows.append((f"up_blocks.{b}.attentions.{j}", f"output_blocks.{n}.1", []))
        if b < len(up) - 1:
            rows.append((f"up_blocks.{b}.upsamplers.0.conv",
                         f"output_blocks.{b * (L + 1) + L}.{2 if attn else 1}.conv", []))
    return rows


def vae_ldm_table(cfg):
    """(diffusers module, LDM module under first_stage_model., leaf renames) for AutoencoderKL."""
    L, n = cfg["layers_per_block"], len(cfg["block_out_channels"])
    rows = [("encoder.conv_in", "encoder.conv_in", []), ("encoder.conv_norm_out", "encoder.norm_out", []),
            ("encoder.conv_out", "encoder.conv_out", []), ("decoder.conv_in", "decoder.conv_in", []),
            ("decoder.conv_norm_out", "decoder.norm_out", []), ("decoder.conv_out", "decoder.conv_out", []),
            ("quant_conv", "quant_conv", []), ("post_quant_conv", "post_quant_conv", [])]
    for i in range(n):
        for j in range(L):
            rows.append((f"encoder.down_blocks.{i}.resnets.{j}", f"encoder.down.{i}.block.{j}", VAE_RESNET_LEAVES))
        if i < n - 1:
            rows.append((f"encoder.down_blocks.{i}.downsamplers.0.conv", f"encoder.down.{i}.downsample.conv", []))
    for i in range(n):  # decoder.up is numbered from the bottom (the reverse of up_blocks)
        for j in range(L + 1):
            rows.append((f"decoder.up_blocks.{i}.resnets.{j}", f"decoder.up.{n - 1 - i}.block.{j}", VAE_RESNET_LEAVES))
        if i < n - 1:
            rows.append((f"decoder.up_blocks.{i}.upsamplers.0.conv", f"decoder.up.{n - 1 - i}.upsample.conv", []))
    for part in ("encoder", "decoder"):
        rows += [(f"{part}.mid_block.resnets.0", f"{part}.mid.block_1", VAE_RESNET_LEAVES),
                 (f"{part}.mid_block.attentions.0", f"{part}.mid.attn_1", VAE_ATTN_LEAVES),
                 (f"{part}.mid_block.resnets.1", f"{part}.mid.block_2", VAE_RESNET_LEAVES)]
    return rows


def map_by_table(state_dict, table, prefix):
    """Renames every key through the table (longest matching module prefix); fails on any key left over."""
    by_module = {d: (l, leaves) for d, l, leaves in table}
    out = {}
    for key, t in state_dict.items():
        parts = key.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            mod = ".".join(parts[:cut])
            if mod in by_module:
                ldm_mod, leaves = by_module[mod]
                rest = ".".join(parts[cut:])
                for src, dst in leaves:
                    if rest.startswith(src + "."):
                        rest = dst + rest[len(src):]
                        break
                break
        else:
            raise KeyError(f"no mapping for {key}")
        out[prefix + ldm_mod + "." + rest] = t
    assert len(out) == len(state_dict)
    return out


def ldm_schedule_buffers(cfg):
    """The DDPM buffers that original LDM checkpoints carry (LatentDiffusion.register_schedule)."""
    n, s, e = cfg["num_train_timesteps"], cfg["beta_start"], cfg["beta_end"]
    betas = np.linspace(s ** 0.5, e ** 0.5, n, dtype=np.float64) ** 2
    alphas = 1.0 - betas
    ac = np.cumprod(alphas)
    ac_prev = np.append(1.0, ac[:-1])
    post_var = betas * (1.0 - ac_prev) / (1.0 - ac)
    bufs = dict(betas=betas, alphas_cumprod=ac, alphas_cumprod_prev=ac_prev, sqrt_alphas_cumprod=np.sqrt(ac),
                sqrt_one_minus_alphas_cumprod=np.sqrt(1.0 - ac), log_one_minus_alphas_cumprod=np.log(1.0 - ac),
                sqrt_recip_alphas_cumprod=np.sqrt(1.0 / ac), sqrt_recipm1_alphas_cumprod=np.sqrt(1.0 / ac - 1),
                posterior_variance=post_var, posterior_log_variance_clipped=np.log(np.maximum(post_var, 1e-20)),
                posterior_mean_coef1=betas * np.sqrt(ac_prev) / (1.0 - ac),
                posterior_mean_coef2=(1.0 - ac_prev) * np.sqrt(alphas) / (1.0 - ac))
    return {k: torch.tensor(v, dtype=torch.float32) for k, v in bufs.items()}


def unet_vae_to_ldm(folder):
    """The UNet and VAE of a diffusers folder under the LDM single-file names, in their stored dtypes."""
    unet_cfg = json.load(open(os.path.join(folder, "unet", "config.json")))
    vae_cfg = json.load(open(os.path.join(folder, "vae", "config.json")))
    unet_sd = load_file(os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
    vae_sd = load_file(os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    ckpt = {}
    ckpt.update(map_by_table(unet_sd, unet_ldm_table(unet_cfg), "model.diffusion_model."))
    vae_ldm = map_by_table(vae_sd, vae_ldm_table(vae_cfg), "first_stage_model.")
    for k, v in vae_ldm.items():
        if k.split(".")[-2] in VAE_CONV_1X1 and k.endswith(".weight") and v.ndim == 2:
            vae_ldm[k] = v[:, :, None, None]  # Linear [C, C] -> 1x1 conv [C, C, 1, 1]
    ckpt.update(vae_ldm)
    return ckpt


def diffusers_to_ldm(folder):
    """The single-file checkpoint of a diffusers SD 1.x folder, tensors in their stored dtypes."""
    te_sd = load_file(os.path.join(folder, "text_encoder", "model.safetensors"))
    ckpt = unet_vae_to_ldm(folder)
    for k, v in te_sd.items():
        ckpt["cond_stage_model.transformer.text_model." + k.removeprefix("text_model.")] = v
    n = json.load(open(os.path.join(folder, "text_encoder", "config.json")))["max_position_embeddings"]
    ckpt["cond_stage_model.transformer.text_model.embeddings.position_ids"] = torch.arange(n, dtype=torch.int64)[None]
    sched_cfg = json.load(open(os.path.join(folder, "scheduler", "scheduler_config.json")))
    ckpt.update(ldm_schedule_buffers(sched_cfg))
    return ckpt


def assert_same_tensors(got, want, what):
    assert set(got) == set(want), f"{what}: key sets differ: {sorted(set(got) ^ set(want))[:10]}"
    for k in want:
        a, b = got[k], want[k]
        assert a.dtype == b.dtype and a.shape == b.shape and torch.equal(a, b), f"{what}: {k} differs"
    return len(want)


def verify_with_diffusers_converters(folder, ckpt):
    """diffusers' own LDM -> diffusers converters must give back every tensor of the folder, bit for bit and
    dtype for dtype. Returns {component: tensors compared}."""
    from diffusers.loaders.single_file_utils import (
        convert_ldm_clip_checkpoint,
        convert_ldm_unet_checkpoint,
        convert_ldm_vae_checkpoint,
    )

    report = {}
    unet_cfg = dict(UNet2DConditionModel.load_config(os.path.join(folder, "unet")))
    vae_cfg = dict(AutoencoderKL.load_config(os.path.join(folder, "vae")))
    unet_want = load_file(os.path.join(folder, "unet", "diffusion_pytorch_model.safetensors"))
    vae_want = load_file(os.path.join(folder, "vae", "diffusion_pytorch_model.safetensors"))
    te_want = load_file(os.path.join(folder, "text_encoder", "model.safetensors"))
    report["unet"] = assert_same_tensors(convert_ldm_unet_checkpoint(ckpt, unet_cfg), unet_want, "unet")
    report["vae"] = assert_same_tensors(convert_ldm_vae_checkpoint(ckpt, vae_cfg), vae_want, "vae")
    clip = convert_ldm_clip_checkpoint(ckpt)
    pos = clip.pop("text_model.embeddings.position_ids")
    assert torch.equal(pos, torch.arange(pos.shape[-1])[None])
    te_want = {("text_model." + k if not k.startswith("text_model.") else k): v for k, v in te_want.items()}
    report["text_encoder"] = assert_same_tensors(clip, te_want, "text_encoder")
    used = report["unet"] + report["vae"] + report["text_encoder"] + 1
    extra = sorted(k for k in ckpt if "." not in k)  # the DDPM schedule buffers
    assert used + len(extra) == len(ckpt), "the checkpoint holds tensors no converter used"
    return report


def make_single_file(folder, path, reloaded_pipe):
    ckpt = diffusers_to_ldm(folder)
    save_file({k: v.contiguous() for k, v in sorted(ckpt.items())}, path)
    ckpt = load_file(path)
    # 1) diffusers' converters map every tensor back, bit for bit and dtype for dtype
    report = verify_with_diffusers_converters(folder, ckpt)
    # 2) the whole single-file loader gives the same pipeline as the folder
    sf = StableDiffusionPipeline.from_single_file(path, config=folder, dtype=torch.float32,
                                                  safety_checker=None, feature_extractor=None,
                                                  requires_safety_checker=False, local_files_only=True)
    n = 0
    for name in ("unet", "vae", "text_encoder"):
        got, want = getattr(sf, name).state_dict(), getattr(reloaded_pipe, name).state_dict()
        assert set(got) == set(want), (name, sorted(set(got) ^ set(want))[:10])
        for k in want:
            assert torch.equal(got[k], want[k]), f"from_single_file {name}.{k} differs"
            n += 1
    report["from_single_file_tensors_equal"] = n
    assert sf.vae.config.scaling_factor == reloaded_pipe.vae.config.scaling_factor
    ids = sf.tokenizer(PROMPT_A, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        assert torch.equal(sf.text_encoder(ids)[0], reloaded_pipe.text_encoder(ids)[0])
    return report, ckpt


def write_ldm_key_table(path, folder):
    """Human-readable module table next to the checkpoint (what the Swift mapping must do)."""
    unet_cfg = json.load(open(os.path.join(folder, "unet", "config.json")))
    vae_cfg = json.load(open(os.path.join(folder, "vae", "config.json")))
    write_json(path, {
        "checkpoint": os.path.basename(path).replace(".keys.json", ".safetensors"),
        "dtypes": "tensors keep the dtypes of the sd1 folder: UNet F16, VAE F32, text encoder F16, position_ids I64, "
                  "DDPM schedule buffers F32",
        "unet": {"prefix": "model.diffusion_model.",
                 "modules": [[d, l] for d, l, _ in unet_ldm_table(unet_cfg)],
                 "resnet_leaves": UNET_RESNET_LEAVES},
        "vae": {"prefix": "first_stage_model.",
                "modules": [[d, l] for d, l, _ in vae_ldm_table(vae_cfg)],
                "resnet_leaves": VAE_RESNET_LEAVES, "attention_leaves": VAE_ATTN_LEAVES,
                "conv_1x1_weights": "q, k, v, proj_out weights are [C, C, 1, 1] in LDM, Linear [C, C] in diffusers"},
        "text_encoder": {"prefix": "cond_stage_model.transformer.text_model.",
                         "rule": "diffusers key without 'text_model.' appended to the prefix",
                         "extra": "embeddings.position_ids (I64 [1,77]) present as in SD 1.x checkpoints"},
        "ignored": "betas, alphas_cumprod, ... (LDM's DDPM buffers) at top level",
    })


# =============================================================================================
# torch RNG streams
# =============================================================================================


def dir_tree(root):
    lines, total = [], 0
    for dp, dns, fns in os.walk(root):
        dns.sort()
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            s = os.path.getsize(p)
            total += s
            lines.append((os.path.relpath(p, root), s))
    return lines, total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT, help="output folder (default Tests/Fixtures/sd)")
    args = ap.parse_args()
    root = os.path.abspath(args.out)
    t_start = time.time()
    if os.path.exists(root):
        shutil.rmtree(root)
    os.makedirs(root)
    print(f"diffusers {diffusers.__version__}, transformers {transformers.__version__}, torch {torch.__version__}")
    report = {}
    for kind in PIPELINES:
        t0 = time.time()
        print(f"== {kind}")
        folder, originals, tok = build_and_save(kind, root)
        pipe = reload(kind, folder, originals, tok)
        for name in ("text_encoder", "unet", "vae"):
            m = getattr(pipe, name)
            stored = PIPELINES[kind][{"text_encoder": "text_dtype", "unet": "unet_dtype", "vae": "vae_dtype"}[name]]
            print(f"  {name}: {sum(p.numel() for p in m.parameters()):,} params, stored as {stored}")
        ref = os.path.join(folder, "reference")
        os.makedirs(ref)
        comp = component_references(kind, pipe, ref)
        for k, v in comp.items():
            print(f"  {k}: {v}")
        ntok, diffs = token_references(kind, pipe, ref)
        print(f"  tokens.json: {ntok} prompts; differ from open_clip SimpleTokenizer on: {diffs}")
        summary = run_cases(kind, pipe, ref)
        for name, calls, pstd, sat, dt in summary:
            print(f"  {name:36s} unet calls {calls:3d}  pixel std {pstd:6.2f}  saturated {sat:6.2%}  {dt:5.2f}s")
        if kind == "sd1":
            path = os.path.join(root, "sd1-single-file.safetensors")
            rep, ckpt = make_single_file(folder, path, pipe)
            write_ldm_key_table(os.path.join(root, "sd1-single-file.keys.json"), folder)
            print(f"  single file: {len(ckpt)} tensors; diffusers converters give back exactly: {rep}")
        report[kind] = time.time() - t0
        print(f"  {kind} done in {report[kind]:.1f}s")
    lines, total = dir_tree(root)
    print("== files")
    for rel, s in lines:
        if not rel.endswith(".png"):
            print(f"  {s:>10,}  {rel}")
    print(f"  ({sum(1 for r, _ in lines if r.endswith('.png'))} PNGs)")
    print(f"total {total / 1e6:.2f} MB in {len(lines)} files; {time.time() - t_start:.1f}s")


if __name__ == "__main__":
    main()
