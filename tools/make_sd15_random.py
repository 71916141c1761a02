#!/usr/bin/env python3
"""Builds a Stable Diffusion 1.5-shaped pipeline with RANDOM weights (no model hub) as a full diffusers
folder: model_index.json, unet/, vae/, text_encoder/, tokenizer/ (the real CLIP BPE vocabulary),
scheduler/ (SD 1.5's PNDM config). Real-scale companion of make_sd_fixtures.py, for loaders and
benchmarks at SD 1.5's shapes (~1.07 B parameters); NOT run by CI.

  python tools/make_sd15_random.py OUT_DIR [--dtype fp16|fp32|bf16] [--seed N]
                                           [--single-file PATH.safetensors] [--verify]

  --dtype        storage precision of unet/ and text_encoder/ (vae/ stays fp32, as on the hub); default fp16
  --single-file  also writes the same weights under the original CompVis/LDM key names
                 (model.diffusion_model.*, first_stage_model.*, cond_stage_model.transformer.text_model.*)
  --verify       maps the single file back with diffusers' converters and checks every tensor (needs ~8 GB RAM)

Needs: torch, diffusers, transformers, safetensors, open_clip_torch (for the BPE file). Takes a few
minutes on 2 cores; the folder is ~2.1 GB in fp16 (~4.3 GB in fp32).
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sd_fixtures as F  # noqa: E402  (configs helpers, tokenizer builder, LDM key tables)
import torch  # noqa: E402
from diffusers import AutoencoderKL, PNDMScheduler, StableDiffusionPipeline, UNet2DConditionModel  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer  # noqa: E402

torch.set_num_threads(os.cpu_count() or 1)

# stable-diffusion-v1-5/stable-diffusion-v1-5 unet/config.json
UNET_CFG = dict(sample_size=64, in_channels=4, out_channels=4, center_input_sample=False, flip_sin_to_cos=True,
                freq_shift=0,
                down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                  "DownBlock2D"),
                up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
                block_out_channels=(320, 640, 1280, 1280), layers_per_block=2, downsample_padding=1,
                mid_block_scale_factor=1, act_fn="silu", norm_num_groups=32, norm_eps=1e-5, cross_attention_dim=768,
                attention_head_dim=8)
# vae/config.json
VAE_CFG = dict(in_channels=3, out_channels=3, down_block_types=("DownEncoderBlock2D",) * 4,
               up_block_types=("UpDecoderBlock2D",) * 4, block_out_channels=(128, 256, 512, 512), layers_per_block=2,
               act_fn="silu", latent_channels=4, norm_num_groups=32, sample_size=512, scaling_factor=0.18215)
# text_encoder/config.json (openai/clip-vit-large-patch14's text tower)
TEXT_CFG = dict(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", layer_norm_eps=1e-5,
                projection_dim=768, attention_dropout=0.0, initializer_factor=1.0, initializer_range=0.02,
                bos_token_id=0, eos_token_id=2, pad_token_id=1)

DTYPES = {"fp16": torch.float16, "fp32": torch.float32, "bf16": torch.bfloat16}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("--dtype", choices=sorted(DTYPES), default="fp16")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--single-file", default=None)
    ap.add_argument("--verify", action="store_true")
    a = ap.parse_args()
    out = os.path.abspath(a.out)
    t0 = time.time()
    models = []
    for i, make in enumerate((lambda: CLIPTextModel(CLIPTextConfig(**TEXT_CFG)),
                              lambda: UNet2DConditionModel(**UNET_CFG), lambda: AutoencoderKL(**VAE_CFG))):
        torch.manual_seed(a.seed * 10 + i)
        m = make().eval()
        F.perturb(m, a.seed * 10 + i + 17)  # no inert norm weights / zero biases
        models.append(m)
    te, unet, vae = models
    for name, m in (("text_encoder", te), ("unet", unet), ("vae", vae)):
        print(f"{name}: {sum(p.numel() for p in m.parameters()):,} params")
    dt = DTYPES[a.dtype]
    te.to(dt)
    unet.to(dt)
    tok_dir = os.path.join(out, "tokenizer")
    F.write_clip_tokenizer(tok_dir, "<|endoftext|>")
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=te, tokenizer=CLIPTokenizer.from_pretrained(tok_dir),
                                   unet=unet, scheduler=PNDMScheduler.from_config(F.SD15_PNDM), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    pipe.save_pretrained(out, safe_serialization=True)
    import shutil

    shutil.rmtree(tok_dir)
    F.write_clip_tokenizer(tok_dir, "<|endoftext|>")  # hub layout: vocab.json + merges.txt + 2 json files
    te_file = os.path.join(out, "text_encoder", "model.safetensors")
    sd = load_file(te_file)  # transformers >= 5.6 drops "text_model."; the hub files have it
    if not any(k.startswith("text_model.") for k in sd):
        sd = {("text_model." + k if not k.startswith("text_projection") else k): v for k, v in sd.items()}
        save_file(sd, te_file, metadata={"format": "pt"})
    print(f"saved {out} in {time.time() - t0:.0f}s")
    if a.single_file:
        ckpt = F.diffusers_to_ldm(out)
        save_file({k: v.contiguous() for k, v in sorted(ckpt.items())}, a.single_file)
        print(f"single file {a.single_file}: {len(ckpt)} tensors")
        if a.verify:
            print("verified with diffusers' converters:", F.verify_with_diffusers_converters(out, load_file(a.single_file)))
    for dp, _, fns in sorted(os.walk(out)):
        for fn in sorted(fns):
            p = os.path.join(dp, fn)
            print(f"{os.path.getsize(p):>14,}  {os.path.relpath(p, out)}")


if __name__ == "__main__":
    main()
