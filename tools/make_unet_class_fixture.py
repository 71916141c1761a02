"""Makes Tests/Fixtures/unet-class: a tiny diffusers UNet2DConditionModel with
class_embed_type "projection" (a vector — here a stand-in for a pooled sentence embedding — is
projected by a TimestepEmbedding and added to the time embedding), every parameter perturbed, and
its output. Run with a Python that has torch + diffusers + safetensors (CI never needs it):
    python tools/make_unet_class_fixture.py
"""
import json
import os

import torch
from diffusers import UNet2DConditionModel
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "unet-class")
torch.manual_seed(0)
torch.set_num_threads(1)
config = dict(sample_size=8, in_channels=4, out_channels=4, layers_per_block=1,
              block_out_channels=(16, 32), norm_num_groups=8, attention_head_dim=4, cross_attention_dim=12,
              down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
              up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
              class_embed_type="projection", projection_class_embeddings_input_dim=6)
model = UNet2DConditionModel(**config).eval()
with torch.no_grad():
    for p in model.parameters():
        scale = p.std() if p.numel() > 1 and p.std() > 0 else torch.tensor(1.0)
        p.add_(torch.randn_like(p) * 0.1 * scale)
os.makedirs(OUT, exist_ok=True)
model.save_pretrained(OUT, safe_serialization=True)
sample = torch.randn(2, 4, 8, 6)
timesteps = torch.tensor([999.0, 37.0])
context = torch.randn(2, 5, 12)
class_labels = torch.randn(2, 6)
with torch.no_grad():
    out = model(sample, timesteps, encoder_hidden_states=context, class_labels=class_labels).sample
    without = model(sample, timesteps, encoder_hidden_states=context, class_labels=torch.zeros(2, 6)).sample
save_file({"sample": sample.contiguous(), "timesteps": timesteps, "context": context.contiguous(),
           "class_labels": class_labels.contiguous(), "output": out.contiguous()},
          os.path.join(OUT, "reference.safetensors"))
with open(os.path.join(OUT, "reference.json"), "w") as f:
    json.dump({"note": "UNet2DConditionModel(sample [2,4,8,6], timesteps [999, 37], context [2,5,12], class_labels [2,6]).sample",
               "output_std": float(out.std()),
               "class_labels_effect_max_abs": float((out - without).abs().max())}, f, indent=1)
print("wrote", OUT, "output std", float(out.std()), "class label effect", float((out - without).abs().max()))
