#!/usr/bin/env python3
"""Writes the tiny-autoencoder (TAESD, diffusers AutoencoderTiny) parity fixtures into Tests/Fixtures/taesd/.

A small AutoencoderTiny with random weights (built from a config, no model hub), saved in both file
layouts Diffuse loads, and what diffusers computes with it as reloaded from disk:

  taesd/diffusers/      config.json + diffusion_pytorch_model.safetensors (the madebyollin/taesd layout)
  taesd/original/       taesd_decoder.safetensors + taesd_encoder.safetensors: the same weights under
                        TAESD's own nn.Sequential indices (decoder indices one higher: its clamp is layer 0)
  taesd/reference.safetensors + .json   decode of a 2x4x5x7 latent, encode of a 1x3x48x40 image

Checks (the script fails if one does not hold): the original layout reloads into AutoencoderTiny
exactly (strict load_state_dict after renaming back); with --taesd-py PATH (madebyollin/taesd's
taesd.py), the renaming gives exactly the key names and shapes of taesd.py's Encoder()/Decoder() at
the default size, and taesd.py's modules with the renamed weights compute what AutoencoderTiny does.

--full-size DIR also writes a random AutoencoderTiny of diffusers' default config (64 channels,
[1,3,3,3] / [3,3,3,1] blocks; ~9.8 MB, not committed) in both layouts to DIR and times diffusers'
decode of a 1x4x64x64 latent (512x512 image) with --threads threads; --kl-vae DIR writes a random
AutoencoderKL of SD 1.5's config and times its decode the same way (for comparison on one machine).

Run:  /tmp/torch-venv/bin/python tools/make_taesd_fixtures.py [--out DIR] [--taesd-py PATH] [--full-size DIR]
Deterministic: rerunning rewrites identical files (given the same torch/diffusers versions).
"""

import argparse
import importlib.util
import json
import os
import shutil
import sys
import time
import warnings

import torch
from safetensors.torch import load_file, save_file

warnings.filterwarnings("ignore", category=FutureWarning)

import diffusers  # noqa: E402
from diffusers import AutoencoderTiny  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SMALL_CONFIG = dict(
    encoder_block_out_channels=[8, 8, 8, 8],
    decoder_block_out_channels=[16, 16, 16, 16],
    num_encoder_blocks=[1, 2, 2, 2],
    num_decoder_blocks=[2, 2, 2, 1],
    latent_channels=4,
)


def to_original(state_dict):
    """diffusers AutoencoderTiny keys -> TAESD's two nn.Sequential state dicts (encoder, decoder)."""
    encoder, decoder = {}, {}
    for key, value in state_dict.items():
        half, layers, index, rest = key.split(".", 3)
        assert layers == "layers", key
        if half == "encoder":
            encoder[f"{int(index)}.{rest}"] = value
        elif half == "decoder":
            decoder[f"{int(index) + 1}.{rest}"] = value
        else:
            raise SystemExit(f"unexpected key {key}")
    return encoder, decoder


def from_original(encoder, decoder):
    """The inverse of to_original."""
    out = {}
    for key, value in encoder.items():
        index, rest = key.split(".", 1)
        out[f"encoder.layers.{int(index)}.{rest}"] = value
    for key, value in decoder.items():
        index, rest = key.split(".", 1)
        assert int(index) >= 1, key
        out[f"decoder.layers.{int(index) - 1}.{rest}"] = value
    return out


def save(tensors, path):
    save_file({k: v.detach().contiguous().clone() for k, v in tensors.items()}, path, metadata={"format": "pt"})


def write_both_layouts(model, folder):
    """folder/diffusers (save_pretrained, safetensors) and folder/original (taesd_*.safetensors), each reloaded and checked."""
    diffusers_dir = os.path.join(folder, "diffusers")
    original_dir = os.path.join(folder, "original")
    model.save_pretrained(diffusers_dir, safe_serialization=True)
    os.makedirs(original_dir, exist_ok=True)
    encoder, decoder = to_original(model.state_dict())
    save(encoder, os.path.join(original_dir, "taesd_encoder.safetensors"))
    save(decoder, os.path.join(original_dir, "taesd_decoder.safetensors"))

    reloaded = AutoencoderTiny.from_pretrained(diffusers_dir).eval()
    back = from_original(load_file(os.path.join(original_dir, "taesd_encoder.safetensors")),
                         load_file(os.path.join(original_dir, "taesd_decoder.safetensors")))
    check = AutoencoderTiny.from_config(reloaded.config).eval()
    check.load_state_dict(back, strict=True)
    for (k, a), (k2, b) in zip(sorted(reloaded.state_dict().items()), sorted(check.state_dict().items())):
        assert k == k2 and torch.equal(a, b), f"original layout does not round-trip at {k}"
    return reloaded


def check_against_taesd_py(path):
    """The renaming against madebyollin/taesd's own modules at the default size: key names, shapes, outputs."""
    spec = importlib.util.spec_from_file_location("taesd_reference", path)
    taesd = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(taesd)
    torch.manual_seed(1)
    model = AutoencoderTiny().eval()
    encoder, decoder = to_original(model.state_dict())
    for name, ours, module in [("encoder", encoder, taesd.Encoder(4)), ("decoder", decoder, taesd.Decoder(4))]:
        theirs = {k: tuple(v.shape) for k, v in module.state_dict().items()}
        mine = {k: tuple(v.shape) for k, v in ours.items()}
        assert theirs == mine, f"taesd.py {name} keys differ: {sorted(set(theirs) ^ set(mine))[:8]}"
        module.load_state_dict(ours, strict=True)
        print(f"  taesd.py {name}: {len(theirs)} keys match, e.g. {sorted(theirs)[:3]}")
    enc_module, dec_module = taesd.Encoder(4).eval(), taesd.Decoder(4).eval()
    enc_module.load_state_dict(encoder)
    dec_module.load_state_dict(decoder)
    with torch.no_grad():
        z = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(2)) * 2
        x = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(3)) * 2 - 1
        d = (model.decode(z).sample - (dec_module(z) * 2 - 1)).abs().max().item()
        e = (model.encode(x).latents - enc_module((x + 1) / 2)).abs().max().item()
    assert d < 1e-5 and e < 1e-5, (d, e)
    print(f"  taesd.py vs AutoencoderTiny with the renamed weights: decode max |diff| {d:.2g}, encode {e:.2g}")


def he_init(model, seed):
    """Weights normal with std sqrt(1 / fan_in), biases uniform in ±0.2, so the outputs vary: with
    PyTorch's default init the decoded image was nearly flat (std 0.09 around -0.97)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in sorted(model.named_parameters()):
            if p.dim() == 4:
                p.copy_(torch.randn(p.shape, generator=g) * (1.0 / (p.shape[1] * p.shape[2] * p.shape[3])) ** 0.5)
            else:
                p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * 0.2)


def stats(t):
    t = t.double()
    return dict(min=round(t.min().item(), 5), max=round(t.max().item(), 5), mean=round(t.mean().item(), 5), std=round(t.std().item(), 5))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=os.path.join(ROOT, "Tests", "Fixtures", "taesd"))
    parser.add_argument("--taesd-py", help="madebyollin/taesd's taesd.py, to check the key renaming against it")
    parser.add_argument("--full-size", help="folder for a default-size random AutoencoderTiny (benchmark; not committed)")
    parser.add_argument("--kl-vae", help="folder for a random AutoencoderKL of SD 1.5's config (~335 MB; to time beside it)")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"torch {torch.__version__}, diffusers {diffusers.__version__}")

    torch.set_num_threads(1)
    if args.taesd_py:
        check_against_taesd_py(args.taesd_py)

    shutil.rmtree(args.out, ignore_errors=True)
    os.makedirs(args.out)
    torch.manual_seed(0)
    model = AutoencoderTiny(**SMALL_CONFIG).eval()
    he_init(model, 0)
    model = write_both_layouts(model, args.out)

    g = torch.Generator().manual_seed(10)
    latents = torch.randn(2, 4, 5, 7, generator=g) * 2.5  # beyond the decoder's ±3 soft clamp in places
    image = torch.rand(1, 3, 48, 40, generator=g) * 2 - 1
    with torch.no_grad():
        decoded = model.decode(latents).sample
        encoded = model.encode(image).latents
    assert decoded.std() > 0.01 and encoded.std() > 0.01, "degenerate outputs"
    tensors = {"decode.latents": latents, "decode.output": decoded, "encode.image": image, "encode.latents": encoded}
    save(tensors, os.path.join(args.out, "reference.safetensors"))
    meaning = {
        "decode.latents": "input of AutoencoderTiny.decode (latents / scaling_factor, scaling_factor 1)",
        "decode.output": "AutoencoderTiny.decode(latents).sample: image in about [-1, 1]",
        "encode.image": "input of AutoencoderTiny.encode: image in [-1, 1]",
        "encode.latents": "AutoencoderTiny.encode(image).latents",
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump({"torch": torch.__version__.split("+")[0], "diffusers": diffusers.__version__, "config": SMALL_CONFIG,
                   "tensors": {k: dict(shape=list(v.shape), meaning=meaning[k], **stats(v)) for k, v in tensors.items()}},
                  f, indent=1)
        f.write("\n")
    print(f"wrote {args.out}: {sum(p.numel() for p in model.parameters())} parameters; "
          f"decode {list(decoded.shape)} {stats(decoded)}, encode {list(encoded.shape)} {stats(encoded)}")

    if args.full_size:
        torch.manual_seed(1)
        full = write_both_layouts(AutoencoderTiny().eval(), args.full_size)
        print(f"wrote {args.full_size}: decoder {sum(p.numel() for p in full.decoder.parameters())} parameters, "
              f"encoder {sum(p.numel() for p in full.encoder.parameters())}")
        torch.set_num_threads(args.threads)
        z = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(4))
        with torch.inference_mode():
            full.decode(z)
            times = []
            for _ in range(5):
                start = time.perf_counter()
                full.decode(z)
                times.append(time.perf_counter() - start)
        print(f"PyTorch AutoencoderTiny.decode 1x4x64x64 -> 512x512, {args.threads} threads: "
              f"median {sorted(times)[2]:.3f} s, min {min(times):.3f} s (5 runs after 1 warm-up; "
              f"{', '.join(f'{t:.3f}' for t in times)})")

    if args.kl_vae:
        from diffusers import AutoencoderKL
        torch.manual_seed(5)
        vae = AutoencoderKL(block_out_channels=[128, 256, 512, 512], layers_per_block=2, sample_size=512,
                            down_block_types=["DownEncoderBlock2D"] * 4, up_block_types=["UpDecoderBlock2D"] * 4).eval()
        vae.save_pretrained(args.kl_vae, safe_serialization=True)
        torch.set_num_threads(args.threads)
        z = torch.randn(1, 4, 64, 64, generator=torch.Generator().manual_seed(4))
        with torch.inference_mode():
            vae.decode(z)
            times = []
            for _ in range(2):
                start = time.perf_counter()
                vae.decode(z)
                times.append(time.perf_counter() - start)
        print(f"PyTorch AutoencoderKL (SD 1.5 config, {sum(p.numel() for p in vae.decoder.parameters())} decoder parameters) "
              f"decode 1x4x64x64, {args.threads} threads: {', '.join(f'{t:.3f}' for t in times)} s (2 runs after 1 warm-up)")


if __name__ == "__main__":
    sys.exit(main())
