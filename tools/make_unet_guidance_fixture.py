"""Makes Tests/Fixtures/unet-guidance: a tiny diffusers UNet2DConditionModel with
time_cond_proj_dim (an LCM-distilled UNet: the guidance scale enters as a sinusoidal embedding
projected by the time embedding's cond_proj), every parameter perturbed, its output for a
guidance embedding, and diffusers' get_guidance_scale_embedding for a few scales. Run with a
Python that has torch + diffusers + safetensors (CI never needs it):
    python tools/make_unet_guidance_fixture.py
"""
import json
import os

import torch
from diffusers import LatentConsistencyModelPipeline, UNet2DConditionModel
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "unet-guidance")
torch.manual_seed(0)
torch.set_num_threads(1)
config = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
              block_out_channels=(16, 32), norm_num_groups=8, attention_head_dim=4, cross_attention_dim=12,
              down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), time_cond_proj_dim=10)
model = UNet2DConditionModel(**config).eval()
with torch.no_grad():
    for p in model.parameters():
        scale = p.std() if p.numel() > 1 and p.std() > 0 else torch.tensor(1.0)
        p.add_(torch.randn_like(p) * 0.1 * scale)
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT, safe_serialization=True)

# The pipeline's helper, called as LatentConsistencyModelPipeline.__call__ calls it: w = guidance - 1.
embed = LatentConsistencyModelPipeline.get_guidance_scale_embedding
scales = torch.tensor([1.0, 1.5, 7.5, 8.5])
embeddings = embed(None, scales - 1, embedding_dim=10)
embeddings_wide = embed(None, scales - 1, embedding_dim=256)

sample = torch.randn(2, 4, 8, 6)
timesteps = torch.tensor([999.0, 259.0])
context = torch.randn(2, 5, 12)
condition = embed(None, torch.tensor([7.5, 0.5]), embedding_dim=10)
with torch.no_grad():
    out = model(sample, timesteps, encoder_hidden_states=context, timestep_cond=condition).sample
    without = model(sample, timesteps, encoder_hidden_states=context).sample
save_file({"sample": sample.contiguous(), "timesteps": timesteps, "context": context.contiguous(),
           "condition": condition.contiguous(), "output": out.contiguous(), "output_without_condition": without.contiguous(),
           "scales": scales, "embeddings": embeddings.contiguous(), "embeddings_256": embeddings_wide.contiguous()},
          os.path.join(OUT, "reference.safetensors"))
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump({"note": "UNet2DConditionModel(sample [2,4,8,6], timesteps [999, 259], context [2,5,12], "
                       "timestep_cond = get_guidance_scale_embedding([7.5, 0.5], 10)).sample; embeddings = "
                       "get_guidance_scale_embedding(scales - 1, 10 and 256)",
               "output_std": float(out.std()),
               "condition_effect_max_abs": float((out - without).abs().max())}, f, indent=1)
print("wrote", OUT, "output std", float(out.std()), "condition effect", float((out - without).abs().max()))
