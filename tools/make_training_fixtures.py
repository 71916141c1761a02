"""Reference values for the training engine, from PyTorch and diffusers (run with the torch venv):

    /tmp/torch-venv/bin/python tools/make_training_fixtures.py Tests/Fixtures/training

Writes optim.safetensors:
  adamw.*      three parameters, five steps of gradients, torch.optim.AdamW(lr schedule, betas
               (0.9, 0.999), eps 1e-8, weight_decay 1e-2) with clip_grad_norm_(max_norm 1.0) before
               each step and diffusers' get_cosine_schedule_with_warmup(2 warm-up, 5 total, peak 1e-2):
               the parameters after every step, the gradient norms and the learning rates
  lr.*         learning rates of get_constant_schedule_with_warmup / get_cosine_schedule_with_warmup
  ema.*        diffusers EMAModel(decay 0.999, use_ema_warmup True / False): the decay of steps 1…12
               and the averaged parameter after 12 steps on a fixed parameter sequence
  snr.*        min-SNR-γ weights (γ 5) of diffusers' training scripts for ε and v prediction on the
               linear, scaled_linear and squaredcos_cap_v2 schedules (timesteps 0, 10, 100, 500, 999)
  target_v     v = √ᾱ ε − √(1 − ᾱ) x₀ from DDPMScheduler.get_velocity
CI never needs torch: the file is committed.
"""
import sys, os
import torch
from safetensors.torch import save_file
from diffusers.optimization import get_cosine_schedule_with_warmup, get_constant_schedule_with_warmup
from diffusers.training_utils import EMAModel, compute_snr
from diffusers import DDPMScheduler

out = {}
g = torch.Generator().manual_seed(0)
shapes = [(4, 3), (5,), (2, 2, 3)]
params = [torch.nn.Parameter(torch.randn(s, generator=g)) for s in shapes]
for i, p in enumerate(params):
    out[f"adamw.init.{i}"] = p.detach().clone()
opt = torch.optim.AdamW(params, lr=1e-2, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2)
sched = get_cosine_schedule_with_warmup(opt, num_warmup_steps=2, num_training_steps=5)
norms, lrs = [], []
for step in range(5):
    for i, p in enumerate(params):
        grad = torch.randn(p.shape, generator=g) * (3.0 if step == 1 else 0.3)
        out[f"adamw.grad.{step}.{i}"] = grad.clone()
        p.grad = grad
    lrs.append(opt.param_groups[0]["lr"])
    norms.append(float(torch.nn.utils.clip_grad_norm_(params, 1.0)))
    opt.step()
    sched.step()
    for i, p in enumerate(params):
        out[f"adamw.after.{step}.{i}"] = p.detach().clone()
out["adamw.norms"] = torch.tensor(norms, dtype=torch.float64)
out["adamw.lrs"] = torch.tensor(lrs, dtype=torch.float64)

for name, fn in [("constant", get_constant_schedule_with_warmup), ("cosine", get_cosine_schedule_with_warmup)]:
    o = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
    s = fn(o, num_warmup_steps=10) if name == "constant" else fn(o, num_warmup_steps=10, num_training_steps=50)
    rates = []
    for _ in range(50):
        rates.append(o.param_groups[0]["lr"])
        o.step(); s.step()
    out[f"lr.{name}"] = torch.tensor(rates, dtype=torch.float64)

for warm in (True, False):
    p = torch.nn.Parameter(torch.zeros(6))
    ema = EMAModel([p], decay=0.999, use_ema_warmup=warm, inv_gamma=1.0, power=2 / 3)
    decays = []
    for step in range(12):
        with torch.no_grad():
            p.copy_(torch.arange(6, dtype=torch.float32) * (step + 1) * 0.1 + step)
        ema.step([p])
        decays.append(ema.cur_decay_value)
    tag = "warmup" if warm else "plain"
    out[f"ema.{tag}.decays"] = torch.tensor(decays, dtype=torch.float64)
    out[f"ema.{tag}.average"] = ema.shadow_params[0].detach().clone()

timesteps = torch.tensor([0, 10, 100, 500, 999])
for schedule in ["linear", "scaled_linear", "squaredcos_cap_v2"]:
    kwargs = dict(beta_start=0.00085, beta_end=0.012) if schedule == "scaled_linear" else {}
    s = DDPMScheduler(num_train_timesteps=1000, beta_schedule=schedule, **kwargs)
    snr = compute_snr(s, timesteps)
    gamma = 5.0
    clipped = torch.stack([snr, gamma * torch.ones_like(timesteps)], dim=1).min(dim=1)[0]
    out[f"snr.{schedule}.epsilon"] = (clipped / snr).float()
    out[f"snr.{schedule}.v_prediction"] = (clipped / (snr + 1)).float()
    if schedule == "linear":
        x0 = torch.randn(5, 3, 2, 2, generator=g)
        noise = torch.randn(5, 3, 2, 2, generator=g)
        out["target.x0"] = x0
        out["target.noise"] = noise
        out["target.v"] = s.get_velocity(x0, noise, timesteps)
        out["target.noisy"] = s.add_noise(x0, noise, timesteps)

os.makedirs(sys.argv[1], exist_ok=True)
save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(sys.argv[1], "optim.safetensors"))
print("wrote", len(out), "tensors")
