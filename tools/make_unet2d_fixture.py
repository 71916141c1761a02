"""Makes Tests/Fixtures/unet2d: a tiny diffusers UNet2DModel (DownBlock2D + AttnDownBlock2D, with
multi-head attention and a non-square input), every parameter perturbed, and its output for two
timesteps. Run with a Python that has torch + diffusers + safetensors (CI never needs it):
    python tools/make_unet2d_fixture.py
"""
import json
import os

import torch
from diffusers import UNet2DModel
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "unet2d")
torch.manual_seed(0)
torch.set_num_threads(1)
config = dict(sample_size=16, in_channels=3, out_channels=3, layers_per_block=1,
              block_out_channels=(16, 32, 32), norm_num_groups=8, attention_head_dim=8,
              down_block_types=("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
              up_block_types=("AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"))
model = UNet2DModel(**config).eval()
with torch.no_grad():
    for p in model.parameters():
        scale = p.std() if p.numel() > 1 and p.std() > 0 else torch.tensor(1.0)
        p.add_(torch.randn_like(p) * 0.1 * scale)
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT, safe_serialization=True)
sample = torch.randn(2, 3, 12, 8)
timesteps = torch.tensor([999.0, 37.0])
with torch.no_grad():
    out = model(sample, timesteps).sample
save_file({"sample": sample.contiguous(), "timesteps": timesteps, "output": out.contiguous()},
          os.path.join(OUT, "reference.safetensors"))
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump({"note": "UNet2DModel(sample [2,3,12,8], timesteps [999, 37]).sample",
               "output_std": float(out.std())}, f, indent=1)
print("wrote", OUT, "output std", float(out.std()))
