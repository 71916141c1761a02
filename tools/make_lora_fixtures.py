#!/usr/bin/env python3
"""Writes the LoRA parity fixtures of the Swift tests into Tests/Fixtures/lora/.

Tiny random LoRA files for the sd1 fixture (Tests/Fixtures/sd/sd1, made by make_sd_fixtures.py)
and the images diffusers makes with them:

  kohya.safetensors      kohya/A1111 names (lora_unet_<diffusers module>, lora_te_…), .alpha tensors,
                         attention, proj_in/out (1×1 conv), feed-forward, a 3×3 resnet conv (LoCon)
                         and time_emb_proj, text-encoder attention and MLP
  peft.safetensors       diffusers/PEFT (unet.…lora_A.weight, text_encoder.…), written by diffusers'
                         save_lora_weights with the adapter metadata (lora_alpha 6, r 4 + an alpha_pattern)
  ldm.safetensors        kohya with the original LDM names (input_blocks_1_1_…, middle_block_…,
                         output_blocks_2_1_conv, in_layers_2, emb_layers_1, skip_connection, op)
  locon.safetensors      LoCon on 3×3 and 1×1 convolutions (conv1/conv2/conv_shortcut/conv_in/down- and upsamplers)
  loha.safetensors       LyCORIS LoHa (hada_w1_a/b, hada_w2_a/b, alpha) on linear layers and a 3×3 conv
  lokr.safetensors       LyCORIS LoKr (lokr_w1 whole, lokr_w2_a/b factored; and both whole) with alpha
  loconcp.safetensors    LoCon with a CP core (lora_down [r, in, 1, 1], lora_mid [r, r, 3, 3], lora_up [out, r, 1, 1])
  attnproc.safetensors   diffusers' older attention-processor names (…attn1.processor.to_q_lora.down.weight,
                         text_encoder…self_attn.to_out_lora…, mlp.fc1.lora_linear_layer…)

Images (reference/<case>.png): diffusers' StableDiffusionPipeline with DDIM, 4 steps, 32×32, seed 7:
  base                   no LoRA
  kohya, peft            load_lora_weights + set_adapters([name], [scale])
  kohya_peft             both at once, set_adapters(["kohya", "peft"], [0.7, 1.3])
  ldm, locon, loha, lokr, attnproc, loconcp
                         the weights merged by this script (W + scale·ΔW in float64), then the pipeline;
                         for kohya, peft and ldm the script checks that diffusers' fuse_lora gives the
                         same merged weights as its own merge (max difference printed).
reference/<case>.weights.safetensors: every weight the case changes, merged (keys unet/<key>,
text_encoder/<key>); reference/cases.json: the cases (files, scales, request, max differences).

Run:  /tmp/torch-venv/bin/python tools/make_lora_fixtures.py [--out DIR]
Deterministic for the same torch / diffusers versions.

For benchmarks (not CI): --benchmark-lora MODEL_DIR OUT.safetensors [--rank R] writes a random kohya LoRA
for an SD 1.x folder (e.g. tools/make_sd15_random.py's) over what kohya's sd-scripts train by default:
every linear layer and 1×1 convolution of the UNet's Transformer2DModel blocks (proj_in/out, attn1/attn2
to_q/k/v/out.0, ff.net.0.proj, ff.net.2) and of the text encoder's attention and MLP, fp16, alpha = rank / 2.
"""

import argparse
import copy
import json
import os
import shutil
import warnings

import numpy as np
import torch
from safetensors.torch import load_file, save_file

torch.set_num_threads(1)
warnings.filterwarnings("ignore")

import diffusers  # noqa: E402
import transformers  # noqa: E402
from diffusers import DDIMScheduler, StableDiffusionPipeline  # noqa: E402

diffusers.utils.logging.set_verbosity_error()
diffusers.utils.logging.disable_progress_bar()
transformers.utils.logging.set_verbosity_error()

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SD1 = os.path.join(REPO, "Tests", "Fixtures", "sd", "sd1")
DEFAULT_OUT = os.path.join(REPO, "Tests", "Fixtures", "lora")
REQUEST = dict(prompt="a photograph of an astronaut riding a horse", negative_prompt="blurry", sampler="ddim",
               steps=4, guidance=7.5, seed=7, width=32, height=32)


def load_pipe():
    pipe = StableDiffusionPipeline.from_pretrained(SD1, dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run(pipe):
    r = REQUEST
    with torch.no_grad():
        return pipe(prompt=r["prompt"], negative_prompt=r["negative_prompt"], num_inference_steps=r["steps"],
                    guidance_scale=r["guidance"], width=r["width"], height=r["height"],
                    generator=torch.Generator().manual_seed(r["seed"]), output_type="pil").images[0]


class Maker:
    """Random factors whose scaled change is about 30% of the weight's standard deviation."""

    def __init__(self, pipe, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.params = {"unet": dict(pipe.unet.named_parameters()), "text_encoder": dict(pipe.text_encoder.named_parameters())}

    def randn(self, *shape):
        return torch.randn(*shape, generator=self.g)

    def weight(self, comp, module):
        return self.params[comp][torch_name(comp, module) + ".weight"].detach()

    def fit(self, delta_fn, tensors, comp, module, scale, scaled_key):
        """Rescales tensors[scaled_key] so that scale·ΔW has std 0.3·std(W)."""
        w = self.weight(comp, module)
        d = delta_fn(tensors, w.shape).double() * scale
        tensors[scaled_key] = tensors[scaled_key] * float(0.3 * w.double().std() / d.std())
        return tensors


# ----- ΔW as kohya / A1111 / LyCORIS compute them (float64) -----

def torch_name(comp, module):
    """transformers >= 5 names CLIP text-model parameters without the `text_model.` that files (and Diffuse) use."""
    return module[len("text_model."):] if comp == "text_encoder" and module.startswith("text_model.") else module


def delta_lora(t, shape):
    down, up = t["down"].double(), t["up"].double()
    return (up.reshape(up.shape[0], -1) @ down.reshape(down.shape[0], -1)).reshape(shape)


def delta_cp(t, shape):
    """LoCon with a CP core: ΔW[i, j, k, l] = Σ_n,m mid[n, m, k, l] · up[i, n] · down[m, j]."""
    up = t["up"].double().reshape(t["up"].shape[0], -1)
    down = t["down"].double().reshape(t["down"].shape[0], -1)
    return torch.einsum("nmkl,in,mj->ijkl", t["mid"].double(), up, down).reshape(shape)


def delta_loha(t, shape):
    w1 = t["w1a"].double() @ t["w1b"].double().reshape(t["w1b"].shape[0], -1)
    w2 = t["w2a"].double() @ t["w2b"].double().reshape(t["w2b"].shape[0], -1)
    return (w1 * w2).reshape(shape)


def delta_lokr(t, shape):
    w1 = t["w1"].double() if "w1" in t else t["w1a"].double() @ t["w1b"].double()
    w2 = t["w2"].double() if "w2" in t else t["w2a"].double() @ t["w2b"].double().reshape(t["w2b"].shape[0], -1)
    if w2.dim() == 4:
        return torch.kron(w1[:, :, None, None], w2).reshape(shape)
    return torch.kron(w1, w2.reshape(w2.shape[0], -1)).reshape(shape)


def lora_factors(m, comp, module, rank, alpha):
    w = m.weight(comp, module)
    out, rest = w.shape[0], w.shape[1:]
    if w.dim() == 4:
        t = {"down": m.randn(rank, *rest), "up": m.randn(out, rank, 1, 1)}
    else:
        t = {"down": m.randn(rank, rest[0]), "up": m.randn(out, rank)}
    return m.fit(delta_lora, t, comp, module, alpha / rank, "up")


UNET_LINEAR = [
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_k",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_v",
    "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
    "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_k",
    "down_blocks.0.attentions.1.transformer_blocks.0.attn2.to_v",
    "mid_block.attentions.0.transformer_blocks.0.attn1.to_q",
    "mid_block.attentions.0.transformer_blocks.0.attn2.to_out.0",
    "mid_block.attentions.0.transformer_blocks.0.ff.net.0.proj",
    "mid_block.attentions.0.transformer_blocks.0.ff.net.2",
    "up_blocks.1.attentions.2.transformer_blocks.0.attn1.to_v",
    "up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_q",
]
UNET_PROJ = ["down_blocks.0.attentions.0.proj_in", "up_blocks.1.attentions.1.proj_out"]   # 1×1 convolutions here
TE_LINEAR = [
    "text_model.encoder.layers.0.self_attn.q_proj", "text_model.encoder.layers.0.self_attn.v_proj",
    "text_model.encoder.layers.1.self_attn.k_proj", "text_model.encoder.layers.1.self_attn.out_proj",
    "text_model.encoder.layers.0.mlp.fc1", "text_model.encoder.layers.1.mlp.fc2",
]


def stable(config):
    """A PEFT config dict that serialises the same on every run: sets as sorted lists, no local path."""
    return {k: sorted(v) if isinstance(v, set) else (None if k == "base_model_name_or_path" else v) for k, v in config.items()}


def add_lora(m, tensors, layers, comp, module, name, rank, alpha):
    """Random kohya factors for one layer: `name`.lora_down / .lora_up / .alpha into `tensors`,
    (comp, module, alpha/rank·ΔW) into `layers`."""
    t = lora_factors(m, comp, module, rank, alpha)
    tensors[name + ".lora_down.weight"], tensors[name + ".lora_up.weight"] = t["down"], t["up"]
    tensors[name + ".alpha"] = torch.tensor(alpha)
    layers.append((comp, module, delta_lora(t, m.weight(comp, module).shape) * (alpha / rank)))


def kohya_name(comp, module):
    return ("lora_unet_" if comp == "unet" else "lora_te_") + module.replace(".", "_")


def ldm_unet_name(module):
    """The LDM name of an sd1-fixture UNet module (layers_per_block 2; up_blocks.0 has no attentions)."""
    p = module.split(".")
    res = {"conv1": "in_layers.2", "conv2": "out_layers.3", "time_emb_proj": "emb_layers.1", "conv_shortcut": "skip_connection"}
    if p[0] in ("down_blocks", "up_blocks"):
        b, kind, l = int(p[1]), p[2], int(p[3])
        if kind == "downsamplers":
            return f"input_blocks.{(b + 1) * 3}.0.op"
        if kind == "upsamplers":
            return f"output_blocks.{b * 3 + 2}.{1 if b == 0 else 2}.conv"
        idx = 1 + b * 3 + l if p[0] == "down_blocks" else b * 3 + l
        blocks = "input_blocks" if p[0] == "down_blocks" else "output_blocks"
        rest = ".".join(p[4:])
        return f"{blocks}.{idx}.{0 if kind == 'resnets' else 1}." + (res.get(rest, rest) if kind == "resnets" else rest)
    if p[0] == "mid_block":
        kind, l, rest = p[1], int(p[2]), ".".join(p[3:])
        if kind == "attentions":
            return "middle_block.1." + rest
        return f"middle_block.{0 if l == 0 else 2}." + res.get(rest, rest)
    return {"conv_in": "input_blocks.0.0", "conv_out": "out.2", "time_embedding.linear_1": "time_embed.0"}[module]


def merged_weights(pipe, layers, multiplier=1.0):
    """layers: [(comp, module, ΔW·scale float64)] → {comp/key: merged float32} and the merged pipeline."""
    merged = copy.deepcopy(pipe)
    out = {}
    for comp, module, delta in layers:
        model = merged.unet if comp == "unet" else merged.text_encoder
        p = dict(model.named_parameters())[torch_name(comp, module) + ".weight"]
        with torch.no_grad():
            new = (p.double() + multiplier * delta).float()
            p.copy_(new)
        out[f"{comp}/{module}.weight"] = new.clone().contiguous()
    return out, merged


def fused_weights(pipe, keys):
    out = {}
    for key in keys:
        comp, name = key.split("/", 1)
        model = pipe.unet if comp == "unet" else pipe.text_encoder
        params, name = dict(model.named_parameters()), torch_name(comp, name)
        if name not in params:   # still wrapped by PEFT after fuse_lora
            name = name[:-len(".weight")] + ".base_layer.weight"
        out[key] = params[name].detach().float().clone()
    return out


def max_diff(a, b):
    return max(float((a[k].double() - b[k].double()).abs().max()) for k in a)


def image_diff(a, b):
    return int(np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16)).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--benchmark-lora", nargs=2, metavar=("MODEL_DIR", "OUT"))
    ap.add_argument("--rank", type=int, default=32)
    args = ap.parse_args()
    if args.benchmark_lora:
        return benchmark_lora(*args.benchmark_lora, args.rank)
    out = args.out
    ref = os.path.join(out, "reference")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(ref)
    pipe = load_pipe()
    m = Maker(pipe, 1234)
    cases = []

    base = run(pipe)
    base.save(os.path.join(ref, "base.png"))

    def record(name, files, scales, image, weights, how, checks=None):
        image.save(os.path.join(ref, f"{name}.png"))
        save_file(weights, os.path.join(ref, f"{name}.weights.safetensors"))
        cases.append(dict(name=name, files=files, scales=scales, image=f"{name}.png", weights=f"{name}.weights.safetensors",
                          how=how, changed_layers=len(weights), max_channel_difference_from_base=image_diff(image, base),
                          **(checks or {})))
        print(f"{name}: {len(weights)} layers, image differs from base by {image_diff(image, base)}/255", checks or "")

    # ---- kohya (diffusers module names) ----
    kohya, kohya_layers = {}, []
    rank, alpha = 4, 2.0
    for comp, modules in [("unet", UNET_LINEAR + UNET_PROJ + ["down_blocks.0.resnets.0.conv1", "down_blocks.1.resnets.0.time_emb_proj"]),
                          ("text_encoder", TE_LINEAR)]:
        for module in modules:
            add_lora(m, kohya, kohya_layers, comp, module, kohya_name(comp, module), rank, alpha)
    save_file({k: v.contiguous() for k, v in kohya.items()}, os.path.join(out, "kohya.safetensors"),
              metadata={"ss_network_module": "networks.lora", "ss_network_dim": "4", "ss_network_alpha": "2.0"})

    # ---- PEFT via diffusers' own save_lora_weights ----
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict
    peft_pipe = load_pipe()
    unet_cfg = LoraConfig(r=4, lora_alpha=6, init_lora_weights=False,
                          target_modules=["to_q", "to_k", "to_v", "to_out.0"],
                          alpha_pattern={"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q": 2})
    te_cfg = LoraConfig(r=4, lora_alpha=6, init_lora_weights=False, target_modules=["q_proj", "k_proj", "v_proj", "out_proj"])
    torch.manual_seed(99)
    peft_pipe.unet.add_adapter(unet_cfg)
    peft_pipe.text_encoder.add_adapter(te_cfg)
    with torch.no_grad():   # rescale each B so that the scaled change is about 30% of the weight's std, as above
        for model in (peft_pipe.unet, peft_pipe.text_encoder):
            for name, module in model.named_modules():
                if hasattr(module, "lora_B") and "default" in getattr(module, "lora_B", {}):
                    a, b = module.lora_A["default"].weight, module.lora_B["default"].weight
                    w = module.base_layer.weight
                    d = (b.reshape(b.shape[0], -1).double() @ a.reshape(a.shape[0], -1).double()) * module.scaling["default"]
                    b.mul_(float(0.3 * w.double().std() / d.std()))
    unet_sd, te_sd = get_peft_model_state_dict(peft_pipe.unet), get_peft_model_state_dict(peft_pipe.text_encoder)
    tmp = os.path.join(out, "_peft")
    StableDiffusionPipeline.save_lora_weights(tmp, unet_lora_layers=unet_sd, text_encoder_lora_layers=te_sd,
                                              unet_lora_adapter_metadata=stable(unet_cfg.to_dict()),
                                              text_encoder_lora_adapter_metadata=stable(te_cfg.to_dict()))
    shutil.move(os.path.join(tmp, "pytorch_lora_weights.safetensors"), os.path.join(out, "peft.safetensors"))
    shutil.rmtree(tmp)
    peft_file = load_file(os.path.join(out, "peft.safetensors"))
    peft_layers = []
    for key in sorted(peft_file):
        if ".lora_A." not in key:
            continue
        comp, module = key.split(".", 1)[0], key.split(".", 1)[1].split(".lora_A.")[0]
        if comp == "text_encoder" and not module.startswith("text_model."):
            module = "text_model." + module
        a_pat = unet_cfg.alpha_pattern if comp == "unet" else {}
        alpha_m = a_pat.get(module, 6)
        t = {"down": peft_file[key], "up": peft_file[key.replace("lora_A", "lora_B")]}
        peft_layers.append((comp, module, delta_lora(t, m.weight(comp, module).shape) * (alpha_m / 4)))

    # ---- diffusers: kohya, peft, both ----
    def diffusers_case(name, files, scales, own_layers):
        p = load_pipe()
        for f in files:
            p.load_lora_weights(out, weight_name=f"{f}.safetensors", adapter_name=f)
        p.set_adapters(files, scales)
        image = run(p)
        own = {}
        for f, s in zip(files, scales):
            for comp, module, d in own_layers[f]:
                key = f"{comp}/{module}.weight"
                own[key] = own.get(key, 0) + s * d
        reference, merged = merged_weights(pipe, [(k.split("/")[0], k.split("/", 1)[1][:-7], d) for k, d in own.items()])
        p.fuse_lora(adapter_names=files, lora_scale=1.0)
        fused = fused_weights(p, reference.keys())
        fuse_vs_own = max_diff(fused, reference)
        assert fuse_vs_own < 1e-5, f"{name}: diffusers' fused weights differ from this script's merge by {fuse_vs_own}"
        own_image = run(merged)
        record(name, files, scales, image, reference,
               "diffusers load_lora_weights + set_adapters (unfused); weights: this script's merge, checked against fuse_lora",
               {"fuse_lora_vs_own_merge_max_abs": fuse_vs_own, "own_merge_image_vs_diffusers": image_diff(own_image, image)})

    layers_by_file = {"kohya": kohya_layers, "peft": peft_layers}
    diffusers_case("kohya", ["kohya"], [0.8], layers_by_file)
    diffusers_case("peft", ["peft"], [1.0], layers_by_file)
    diffusers_case("kohya_peft", ["kohya", "peft"], [0.7, 1.3], layers_by_file)

    # ---- LDM-named kohya ----
    ldm, ldm_layers = {}, []
    ldm_modules = ["down_blocks.0.attentions.1.transformer_blocks.0.attn1.to_k", "down_blocks.0.attentions.0.proj_in",
                   "mid_block.attentions.0.transformer_blocks.0.attn2.to_v", "up_blocks.1.attentions.2.transformer_blocks.0.ff.net.2",
                   "down_blocks.0.resnets.1.conv1", "down_blocks.1.resnets.0.time_emb_proj", "down_blocks.1.resnets.0.conv_shortcut",
                   "down_blocks.0.downsamplers.0.conv", "mid_block.resnets.1.conv2", "up_blocks.0.resnets.2.conv_shortcut",
                   "up_blocks.0.upsamplers.0.conv", "up_blocks.1.resnets.0.conv1", "conv_in", "time_embedding.linear_1"]
    for module in ldm_modules:
        add_lora(m, ldm, ldm_layers, "unet", module, "lora_unet_" + ldm_unet_name(module).replace(".", "_"), 4, 8.0)
    for module in TE_LINEAR[:2]:
        add_lora(m, ldm, ldm_layers, "text_encoder", module, kohya_name("text_encoder", module), 4, 8.0)
    save_file({k: v.contiguous() for k, v in ldm.items()}, os.path.join(out, "ldm.safetensors"))
    weights, merged = merged_weights(pipe, ldm_layers, 0.9)
    checks = {}
    try:   # diffusers reads LDM-named kohya files too (_maybe_map_sgm_blocks_to_diffusers)
        p = load_pipe()
        p.load_lora_weights(out, weight_name="ldm.safetensors", adapter_name="ldm")
        p.set_adapters(["ldm"], [0.9])
        p.fuse_lora(adapter_names=["ldm"], lora_scale=1.0)
        checks["diffusers_fuse_lora_vs_own_merge_max_abs"] = max_diff(fused_weights(p, weights.keys()), weights)
    except Exception as e:  # noqa: BLE001
        checks["diffusers_load_lora_weights"] = f"failed: {type(e).__name__}: {str(e)[:200]}"
    record("ldm", ["ldm"], [0.9], run(merged), weights, "this script's merge (W + 0.9·alpha/rank·up·down)", checks)

    # ---- LoCon on convolutions (kohya layout) ----
    locon, locon_layers = {}, []
    for module in ["down_blocks.0.resnets.0.conv2", "up_blocks.1.resnets.1.conv1", "up_blocks.0.resnets.0.conv_shortcut",
                   "up_blocks.0.upsamplers.0.conv", "conv_out", "conv_in"]:
        add_lora(m, locon, locon_layers, "unet", module, kohya_name("unet", module), 2, 1.0)
    save_file({k: v.contiguous() for k, v in locon.items()}, os.path.join(out, "locon.safetensors"))
    weights, merged = merged_weights(pipe, locon_layers, 1.0)
    record("locon", ["locon"], [1.0], run(merged), weights, "this script's merge")

    # ---- LoHa ----
    loha, loha_layers = {}, []
    for comp, module in [("unet", UNET_LINEAR[0]), ("unet", UNET_LINEAR[9]), ("unet", "down_blocks.0.resnets.1.conv2"),
                         ("unet", UNET_PROJ[1]), ("text_encoder", TE_LINEAR[4])]:
        w = m.weight(comp, module)
        r = 3
        t = {"w1a": m.randn(w.shape[0], r), "w1b": m.randn(r, *w.shape[1:]), "w2a": m.randn(w.shape[0], r), "w2b": m.randn(r, *w.shape[1:])}
        t = m.fit(delta_loha, t, comp, module, 4.0 / r, "w1a")
        n = kohya_name(comp, module)
        for k, key in [("w1a", "hada_w1_a"), ("w1b", "hada_w1_b"), ("w2a", "hada_w2_a"), ("w2b", "hada_w2_b")]:
            loha[f"{n}.{key}"] = t[k]
        loha[n + ".alpha"] = torch.tensor(4.0)
        loha_layers.append((comp, module, delta_loha(t, w.shape) * (4.0 / r)))
    save_file({k: v.contiguous() for k, v in loha.items()}, os.path.join(out, "loha.safetensors"))
    weights, merged = merged_weights(pipe, loha_layers, 1.0)
    record("loha", ["loha"], [1.0], run(merged), weights, "this script's merge (w1a·w1b ⊙ w2a·w2b · alpha/rank)")

    # ---- LoKr ----
    lokr, lokr_layers = {}, []
    specs = [("unet", UNET_LINEAR[1], "factored"), ("unet", UNET_LINEAR[8], "whole"), ("unet", "up_blocks.1.resnets.2.conv2", "conv"),
             ("text_encoder", TE_LINEAR[2], "factored")]
    for comp, module, kind in specs:
        w = m.weight(comp, module)
        out_f, in_f = w.shape[0], w.shape[1]
        a, b = 2, 2   # w1 [2, 2]; w2 [out/2, in/2(, kh, kw)]
        c, d = out_f // a, in_f // b
        t = {"w1": m.randn(a, b)}
        if kind == "whole":
            t["w2"] = m.randn(c, d)
            dim = None
        elif kind == "conv":
            t["w2"] = m.randn(c, d, *w.shape[2:])
            dim = None
        else:
            t["w2a"], t["w2b"] = m.randn(c, 2), m.randn(2, d)
            dim = 2
        scale = 3.0 / dim if dim else 1.0
        t = m.fit(delta_lokr, t, comp, module, scale, "w1")
        n = kohya_name(comp, module)
        for k, key in [("w1", "lokr_w1"), ("w2", "lokr_w2"), ("w2a", "lokr_w2_a"), ("w2b", "lokr_w2_b")]:
            if k in t:
                lokr[f"{n}.{key}"] = t[k]
        lokr[n + ".alpha"] = torch.tensor(3.0)
        lokr_layers.append((comp, module, delta_lokr(t, w.shape) * scale))
    save_file({k: v.contiguous() for k, v in lokr.items()}, os.path.join(out, "lokr.safetensors"))
    weights, merged = merged_weights(pipe, lokr_layers, 1.0)
    record("lokr", ["lokr"], [1.0], run(merged), weights,
           "this script's merge (w1 ⊗ w2 · alpha/rank of the factored side; scale 1 when neither side is factored)")

    # ---- older diffusers attention-processor names ----
    attn, attn_layers = {}, []
    old_names = [("unet", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_q", "down_blocks.0.attentions.0.transformer_blocks.0.attn2.processor.to_q_lora"),
                 ("unet", "mid_block.attentions.0.transformer_blocks.0.attn1.to_out.0", "mid_block.attentions.0.transformer_blocks.0.attn1.processor.to_out_lora"),
                 ("text_encoder", "text_model.encoder.layers.1.self_attn.out_proj", "text_model.encoder.layers.1.self_attn.to_out_lora"),
                 ("text_encoder", "text_model.encoder.layers.0.mlp.fc1", "text_model.encoder.layers.0.mlp.fc1.lora_linear_layer")]
    for comp, module, old in old_names:
        t = lora_factors(m, comp, module, 4, 4.0)
        prefix = "unet." if comp == "unet" else "text_encoder."
        attn[prefix + old + ".down.weight"], attn[prefix + old + ".up.weight"] = t["down"], t["up"]
        attn_layers.append((comp, module, delta_lora(t, m.weight(comp, module).shape)))
    save_file({k: v.contiguous() for k, v in attn.items()}, os.path.join(out, "attnproc.safetensors"))
    weights, merged = merged_weights(pipe, attn_layers, 1.0)
    record("attnproc", ["attnproc"], [1.0], run(merged), weights, "this script's merge (no alpha: scale 1)")

    # ---- LoCon with a CP core (lora_mid), as LyCORIS writes with use_tucker / use_cp ----
    cp, cp_layers = {}, []
    for module, rank in [("down_blocks.0.resnets.1.conv1", 3), ("up_blocks.1.resnets.0.conv2", 2), ("up_blocks.0.upsamplers.0.conv", 2),
                         ("conv_out", 2)]:
        w = m.weight("unet", module)
        t = {"down": m.randn(rank, w.shape[1], 1, 1), "mid": m.randn(rank, rank, *w.shape[2:]), "up": m.randn(w.shape[0], rank, 1, 1)}
        t = m.fit(delta_cp, t, "unet", module, 1.5 / rank, "up")
        n = kohya_name("unet", module)
        cp[n + ".lora_down.weight"], cp[n + ".lora_mid.weight"], cp[n + ".lora_up.weight"] = t["down"], t["mid"], t["up"]
        cp[n + ".alpha"] = torch.tensor(1.5)
        cp_layers.append(("unet", module, delta_cp(t, w.shape) * (1.5 / rank)))
    save_file({k: v.contiguous() for k, v in cp.items()}, os.path.join(out, "loconcp.safetensors"))
    weights, merged = merged_weights(pipe, cp_layers, 1.25)
    record("loconcp", ["loconcp"], [1.25], run(merged), weights,
           "this script's merge (ΔW[i,j,k,l] = Σ mid[n,m,k,l]·up[i,n]·down[m,j], alpha / rank, multiplier 1.25)")

    with open(os.path.join(ref, "cases.json"), "w") as f:
        json.dump(dict(request=REQUEST, model="../sd/sd1", base="base.png", cases=cases,
                       versions=dict(torch=torch.__version__, diffusers=diffusers.__version__,
                                     transformers=transformers.__version__)), f, indent=2)
        f.write("\n")


def benchmark_lora(model_dir, path, rank):
    from safetensors import safe_open
    g = torch.Generator().manual_seed(5)
    tensors = {}
    for comp, prefix in [("unet", "lora_unet_"), ("text_encoder", "lora_te_")]:
        folder = os.path.join(model_dir, comp)
        files = [f for f in os.listdir(folder) if f.endswith(".safetensors")]
        for file in files:
            with safe_open(os.path.join(folder, file), "pt") as f:
                for key in f.keys():
                    shape = f.get_slice(key).get_shape()
                    module = key[:-len(".weight")] if key.endswith(".weight") else None
                    if module is None or len(shape) not in (2, 4) or (len(shape) == 4 and shape[2:] != [1, 1]):
                        continue
                    if comp == "unet" and ".attentions." not in module:
                        continue
                    if comp == "text_encoder" and not (".self_attn." in module or ".mlp." in module):
                        continue
                    if comp == "text_encoder" and not module.startswith("text_model."):
                        module = "text_model." + module
                    name = prefix + module.replace(".", "_")
                    extra = [1, 1] if len(shape) == 4 else []
                    tensors[name + ".lora_down.weight"] = (torch.randn(rank, shape[1], *extra, generator=g) * 0.01).half()
                    tensors[name + ".lora_up.weight"] = (torch.randn(shape[0], rank, *extra, generator=g) * 0.01).half()
                    tensors[name + ".alpha"] = torch.tensor(rank / 2).half()
    save_file(tensors, path)
    print(f"{path}: {len(tensors) // 3} layers, rank {rank}, {os.path.getsize(path) / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
