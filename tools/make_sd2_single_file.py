"""Makes Tests/Fixtures/sd/sd2-single-file.safetensors: the tiny SD 2 fixture folder (sd/sd2, made by
make_sd_fixtures.py) as an original Stability single file — UNet and VAE under the CompVis/LDM names,
the text encoder as OpenCLIP's `cond_stage_model.model.*` (fused q/k/v `in_proj`, `resblocks`,
`ln_final`), plus what real SD 2 files carry and SD never uses: one more transformer block than the
text model has (SD 2 conditions on the penultimate layer), `text_projection` and `logit_scale`.

Checked against diffusers' own converter (`convert_open_clip_checkpoint`) and against
`StableDiffusionPipeline.from_single_file(..., config=sd2 folder)`, which must rebuild every tensor of
the folder exactly. Run with a Python that has torch + diffusers + safetensors (CI never needs it):
    python tools/make_sd2_single_file.py
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_sd_fixtures as fx  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "sd")
FOLDER = os.path.join(ROOT, "sd2")
OUT = os.path.join(ROOT, "sd2-single-file.safetensors")
P = "cond_stage_model.model."


def open_clip_text_tower(te_sd, cfg, generator):
    sd = {k.removeprefix("text_model."): v for k, v in te_sd.items()}
    out = {
        P + "token_embedding.weight": sd["embeddings.token_embedding.weight"],
        P + "positional_embedding": sd["embeddings.position_embedding.weight"],
        P + "ln_final.weight": sd["final_layer_norm.weight"],
        P + "ln_final.bias": sd["final_layer_norm.bias"],
    }
    layers = cfg["num_hidden_layers"]
    for i in range(layers):
        a, b = f"encoder.layers.{i}.", P + f"transformer.resblocks.{i}."
        out[b + "ln_1.weight"], out[b + "ln_1.bias"] = sd[a + "layer_norm1.weight"], sd[a + "layer_norm1.bias"]
        out[b + "ln_2.weight"], out[b + "ln_2.bias"] = sd[a + "layer_norm2.weight"], sd[a + "layer_norm2.bias"]
        out[b + "attn.in_proj_weight"] = torch.cat([sd[a + f"self_attn.{x}_proj.weight"] for x in "qkv"], 0)
        out[b + "attn.in_proj_bias"] = torch.cat([sd[a + f"self_attn.{x}_proj.bias"] for x in "qkv"], 0)
        out[b + "attn.out_proj.weight"], out[b + "attn.out_proj.bias"] = sd[a + "self_attn.out_proj.weight"], sd[a + "self_attn.out_proj.bias"]
        out[b + "mlp.c_fc.weight"], out[b + "mlp.c_fc.bias"] = sd[a + "mlp.fc1.weight"], sd[a + "mlp.fc1.bias"]
        out[b + "mlp.c_proj.weight"], out[b + "mlp.c_proj.bias"] = sd[a + "mlp.fc2.weight"], sd[a + "mlp.fc2.bias"]
    # What real SD 2 files also hold: the last block (unused), the contrastive head.
    extra = {}
    for k, v in list(out.items()):
        if k.startswith(P + "transformer.resblocks.0."):
            extra[k.replace("resblocks.0.", f"resblocks.{layers}.")] = torch.randn(v.shape, generator=generator).to(v.dtype)
    width = cfg["hidden_size"]
    extra[P + "text_projection"] = torch.randn(width, cfg.get("projection_dim", width), generator=generator).to(out[P + "ln_final.weight"].dtype)
    extra[P + "logit_scale"] = torch.tensor(4.6052, dtype=torch.float32)
    return out, extra


def main():
    from diffusers import StableDiffusionPipeline
    from diffusers.loaders.single_file_utils import convert_open_clip_checkpoint
    from transformers import CLIPTextModel

    te_cfg = json.load(open(os.path.join(FOLDER, "text_encoder", "config.json")))
    te_sd = load_file(os.path.join(FOLDER, "text_encoder", "model.safetensors"))
    ckpt = fx.unet_vae_to_ldm(FOLDER)
    text, extra = open_clip_text_tower(te_sd, te_cfg, torch.Generator().manual_seed(2))
    ckpt.update(text)
    ckpt.update(extra)
    ckpt.update(fx.ldm_schedule_buffers(json.load(open(os.path.join(FOLDER, "scheduler", "scheduler_config.json")))))
    save_file({k: v.contiguous() for k, v in sorted(ckpt.items())}, OUT)
    ckpt = load_file(OUT)

    # 1) diffusers' converter rebuilds the text encoder exactly (it skips SD 2's block 23 by name;
    #    the tiny model's extra block is left out here the same way).
    text_model = CLIPTextModel.from_pretrained(os.path.join(FOLDER, "text_encoder"))
    used = {k: v for k, v in ckpt.items() if k not in extra}
    converted = convert_open_clip_checkpoint(text_model, used)
    converted.pop("text_projection.weight", None)
    want = {("text_model." + k if not k.startswith("text_model.") else k): v for k, v in te_sd.items()}
    want.pop("text_model.embeddings.position_ids", None)
    n_text = fx.assert_same_tensors(converted, want, "text_encoder")
    # 2) the whole single-file loader (on the file without the extra block) gives the folder's pipeline.
    tmp = OUT + ".diffusers-check.safetensors"
    save_file({k: v.contiguous() for k, v in used.items()}, tmp)
    try:
        sf = StableDiffusionPipeline.from_single_file(tmp, config=FOLDER, dtype=torch.float32, safety_checker=None,
                                                      feature_extractor=None, requires_safety_checker=False,
                                                      local_files_only=True)
        pipe = StableDiffusionPipeline.from_pretrained(FOLDER, torch_dtype=torch.float32, safety_checker=None,
                                                       feature_extractor=None, requires_safety_checker=False)
        n = 0
        for name in ("unet", "vae", "text_encoder"):
            got, want_sd = getattr(sf, name).state_dict(), getattr(pipe, name).state_dict()
            assert set(got) == set(want_sd), (name, sorted(set(got) ^ set(want_sd))[:10])
            for k in want_sd:
                assert torch.equal(got[k].float(), want_sd[k].float()), f"from_single_file {name}.{k} differs"
                n += 1
        ids = sf.tokenizer(fx.PROMPT_A, padding="max_length", max_length=77, truncation=True, return_tensors="pt").input_ids
        with torch.no_grad():
            assert torch.equal(sf.text_encoder(ids)[0], pipe.text_encoder(ids)[0])
    finally:
        os.remove(tmp)
    print(f"wrote {OUT}: {len(ckpt)} tensors ({len(extra)} unused extras); text encoder tensors equal: {n_text}; "
          f"from_single_file tensors equal: {n}")


if __name__ == "__main__":
    main()
