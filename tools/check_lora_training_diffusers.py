#!/usr/bin/env python3
"""Checks a LoRA that `diffuse train --lora-rank` wrote against diffusers: loads the tiny SD 1.x
fixture (Tests/Fixtures/sd/sd1) in diffusers' StableDiffusionPipeline, `load_lora_weights(FOLDER)`
(the folder's pytorch_lora_weights.safetensors, kohya layout), generates the LoRA tests' request
(DDIM, 4 steps, guidance 7.5, seed 7, 32×32) and compares the image with Diffuse's PNG of the same
request (`diffuse generate --model Tests/Fixtures/sd/sd1 --lora FOLDER/pytorch_lora_weights.safetensors …`).
Also prints how far the LoRA moves diffusers' image from the base model's, and the text encoder's
output (a text-encoder LoRA, `--lora-text-encoder`, that did not load would show as 0).

Run:  /tmp/torch-venv/bin/python tools/check_lora_training_diffusers.py FOLDER DIFFUSE.png [--save diffusers.png]
Exit status 1 when the images differ by more than 1/255 in any channel.
"""
import argparse
import os
import sys
import warnings

import numpy as np
import torch

torch.set_num_threads(1)
warnings.filterwarnings("ignore")
import diffusers  # noqa: E402
from diffusers import DDIMScheduler, StableDiffusionPipeline  # noqa: E402
from PIL import Image  # noqa: E402

diffusers.utils.logging.set_verbosity_error()
REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
SD1 = os.path.join(REPO, "Tests", "Fixtures", "sd", "sd1")


def image(pipe):
    with torch.no_grad():
        return np.asarray(pipe(prompt="a photograph of an astronaut riding a horse", negative_prompt="blurry",
                               num_inference_steps=4, guidance_scale=7.5, width=32, height=32,
                               generator=torch.Generator().manual_seed(7), output_type="pil").images[0].convert("RGB"), dtype=np.int32)


def text_states(pipe):
    ids = pipe.tokenizer(["a photograph of an astronaut riding a horse"], padding="max_length",
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt").input_ids
    with torch.no_grad():
        return pipe.text_encoder(ids)[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("diffuse_png")
    parser.add_argument("--save")
    args = parser.parse_args()
    pipe = StableDiffusionPipeline.from_pretrained(SD1, dtype=torch.float32, safety_checker=None, requires_safety_checker=False)
    pipe.scheduler = DDIMScheduler.from_config(pipe.scheduler.config)
    pipe.set_progress_bar_config(disable=True)
    base = image(pipe)
    base_states = text_states(pipe)
    pipe.load_lora_weights(args.folder)
    with_lora = image(pipe)
    states_change = float((text_states(pipe) - base_states).abs().max())
    if args.save:
        Image.fromarray(with_lora.astype(np.uint8)).save(args.save)
    diffuse = np.asarray(Image.open(args.diffuse_png).convert("RGB"), dtype=np.int32)
    difference = int(np.abs(with_lora - diffuse).max())
    change = int(np.abs(with_lora - base).max())
    print(f"diffusers load_lora_weights({args.folder}): the LoRA changes diffusers' image by up to {change}/255; "
          f"Diffuse's image differs from diffusers' by up to {difference}/255; the text encoder's states change by up to {states_change:.4g}")
    sys.exit(0 if difference <= 1 else 1)


if __name__ == "__main__":
    main()
