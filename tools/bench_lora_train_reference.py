#!/usr/bin/env python3
"""PyTorch reference for `diffuse train --lora-rank` speed and memory: the training step of
diffusers' examples/text_to_image/train_text_to_image_lora.py with its defaults, on one process,
fp32 (no mixed precision), CPU, a fixed number of threads:

  UNet LoRA through peft (`unet.add_adapter(LoraConfig(r=R, lora_alpha=R, init_lora_weights="gaussian",
  target_modules=["to_k", "to_q", "to_v", "to_out.0"]))`), base weights frozen (requires_grad False);
  per step: the VAE encodes the batch (no grad) → latents × scaling_factor, the text encoder
  encodes the captions (no grad), noise and a random timestep, the UNet predicts the noise (epsilon),
  MSE loss, backward, clip_grad_norm_(1.0), AdamW (lr 1e-4, betas 0.9/0.999, weight decay 1e-2,
  eps 1e-8) over the LoRA factors, zero_grad.

Images are random pixels in [-1, 1] (the speed does not depend on their content). Prints the seconds of
each timed step, their median, and the peak resident memory of the process (ru_maxrss).

Run:  /tmp/torch-venv/bin/python tools/bench_lora_train_reference.py --model /tmp/sd15-random --rank 4 \\
          --resolution 512 --batch-size 1 --steps 3 --warmup 1 --threads 2
"""
import argparse
import resource
import statistics
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a Stable Diffusion diffusers folder (e.g. tools/make_sd15_random.py's)")
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--steps", type=int, default=3, help="timed steps")
    p.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    from diffusers import AutoencoderKL, DDPMScheduler, UNet2DConditionModel
    from peft import LoraConfig
    from transformers import CLIPTextModel, CLIPTokenizer

    tokenizer = CLIPTokenizer.from_pretrained(args.model, subfolder="tokenizer")
    text_encoder = CLIPTextModel.from_pretrained(args.model, subfolder="text_encoder", torch_dtype=torch.float32)
    vae = AutoencoderKL.from_pretrained(args.model, subfolder="vae", torch_dtype=torch.float32)
    unet = UNet2DConditionModel.from_pretrained(args.model, subfolder="unet", torch_dtype=torch.float32)
    noise_scheduler = DDPMScheduler.from_pretrained(args.model, subfolder="scheduler")
    for m in (unet, vae, text_encoder):
        m.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=args.rank, lora_alpha=args.rank, init_lora_weights="gaussian",
                                target_modules=["to_k", "to_q", "to_v", "to_out.0"]))
    lora_layers = [q for q in unet.parameters() if q.requires_grad]
    optimizer = torch.optim.AdamW(lora_layers, lr=1e-4, betas=(0.9, 0.999), weight_decay=1e-2, eps=1e-8)
    unet.train()
    print(f"LoRA rank {args.rank}: {sum(q.numel() for q in lora_layers):,} trainable parameters in {len(lora_layers) // 2} layers")

    ids = tokenizer(["a photograph of an astronaut riding a horse"] * args.batch_size, max_length=tokenizer.model_max_length,
                    padding="max_length", truncation=True, return_tensors="pt").input_ids
    times = []
    for step in range(args.warmup + args.steps):
        pixels = torch.rand(args.batch_size, 3, args.resolution, args.resolution) * 2 - 1
        start = time.perf_counter()
        with torch.no_grad():
            latents = vae.encode(pixels).latent_dist.sample() * vae.config.scaling_factor
            states = text_encoder(ids, return_dict=False)[0]
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (args.batch_size,)).long()
        noisy = noise_scheduler.add_noise(latents, noise, timesteps)
        prediction = unet(noisy, timesteps, states, return_dict=False)[0]
        loss = torch.nn.functional.mse_loss(prediction.float(), noise.float(), reduction="mean")
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora_layers, 1.0)
        optimizer.step()
        optimizer.zero_grad()
        seconds = time.perf_counter() - start
        label = "warm-up" if step < args.warmup else "timed"
        print(f"step {step + 1} ({label}): {seconds:.2f} s, loss {loss.item():.4f}", flush=True)
        if step >= args.warmup:
            times.append(seconds)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"rank {args.rank}, {args.resolution}², batch {args.batch_size}, {args.threads} threads: "
          f"median {statistics.median(times):.2f} s/step ({args.batch_size / statistics.median(times):.3f} img/s), "
          f"peak RSS {peak_kib:,} KiB ({peak_kib / 1048576:.2f} GiB)")


if __name__ == "__main__":
    main()
