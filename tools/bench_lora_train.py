#!/usr/bin/env python3
"""`diffuse train --lora-rank R` against the PyTorch reference (tools/bench_lora_train_reference.py,
the step of diffusers' train_text_to_image_lora.py), back to back, on the same machine:

  Diffuse: `diffuse train --model MODEL --data DATA --lora-rank R --steps N --batch-size 1
  --resolution 512 --caption-dropout 0` run under a pseudo-terminal, so its progress bar redraws
  after every step; a step's seconds are the gap between two redraws (step 1, which reads the
  weights and touches every buffer first, is left out).
  PyTorch: the reference script with --steps N-1 --warmup 1 (its own per-step timer).

Peak memory is each process's maximum resident set size (`wait4`'s ru_maxrss, what
`/usr/bin/time -v` reports). Both run under `nice -n 19` one after the other; only the ratio
within a pair means much on a shared machine. Prints one summary line per engine and the ratio of
images per second (Diffuse ÷ PyTorch, from the medians).

Run:  /tmp/torch-venv/bin/python tools/bench_lora_train.py --model /tmp/sd15-random --data /tmp/lorat-bench/data \\
          --rank 4 [--steps 3] [--diffuse-args="--weights float16"] [--skip-torch] [--skip-diffuse]
      (give --diffuse-args with "=": a value starting with "--" is otherwise read as an option)
"""
import argparse
import os
import pty
import re
import shlex
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def run_diffuse(args):
    output = f"/tmp/diffuse-lora-bench-r{args.rank}-{os.getpid()}"
    subprocess.run(["rm", "-rf", output], check=True)
    command = ["nice", "-n", "19", args.binary, "train", "--data", args.data, "--output", output, "--model", args.model,
               "--lora-rank", str(args.rank), "--steps", str(args.steps), "--batch-size", "1", "--resolution", str(args.resolution),
               "--checkpoint-every", "1000", "--caption-dropout", "0"] + shlex.split(args.diffuse_args)
    print("$ " + " ".join(command), flush=True)
    master, slave = pty.openpty()
    start = time.monotonic()
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave, cwd=REPO)
    os.close(slave)
    seen, buffer = {}, b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        now = time.monotonic() - start
        buffer += chunk
        for match in re.finditer(rb"step (\d+)/\d+", buffer):
            seen.setdefault(int(match.group(1)), now)
        buffer = buffer[-64:]
    stdout = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    os.close(master)
    print(stdout.strip(), flush=True)
    if status != 0:
        sys.exit(f"diffuse train failed (status {status})")
    steps = [seen[k] - seen[k - 1] for k in range(2, args.steps + 1) if k in seen and k - 1 in seen]
    subprocess.run(["rm", "-rf", output], check=True)
    return steps, usage.ru_maxrss


def run_torch(args):
    command = ["nice", "-n", "19", args.python, os.path.join(REPO, "tools", "bench_lora_train_reference.py"), "--model", args.model,
               "--rank", str(args.rank), "--resolution", str(args.resolution), "--batch-size", "1", "--steps", str(args.steps - 1),
               "--warmup", "1", "--threads", str(args.threads)]
    print("$ " + " ".join(command), flush=True)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    text = process.stdout.read().decode()
    _, status, usage = os.wait4(process.pid, 0)
    print(text.strip(), flush=True)
    if status != 0:
        sys.exit(f"the PyTorch reference failed (status {status})")
    steps = [float(m.group(1)) for m in re.finditer(r"\(timed\): ([0-9.]+) s", text)]
    return steps, usage.ru_maxrss


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", required=True, help="a Stable Diffusion diffusers folder (tools/make_sd15_random.py's)")
    p.add_argument("--data", required=True, help="a folder of 512² images with .txt captions")
    p.add_argument("--rank", type=int, default=4)
    p.add_argument("--resolution", type=int, default=512)
    p.add_argument("--steps", type=int, default=3, help="Diffuse's steps (step 1 untimed); PyTorch runs 1 warm-up + steps - 1")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--binary", default=os.path.join(REPO, ".build", "release", "diffuse"))
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--diffuse-args", default="", help="extra flags for diffuse train (e.g. \"--weights float16\")")
    p.add_argument("--skip-torch", action="store_true")
    p.add_argument("--skip-diffuse", action="store_true")
    args = p.parse_args()
    started = time.strftime("%H:%M", time.gmtime())
    results = {}
    if not args.skip_diffuse:
        results["Diffuse"] = run_diffuse(args)
    if not args.skip_torch:
        results["PyTorch"] = run_torch(args)
    print(f"--- rank {args.rank}, {args.resolution}², batch 1, started {started} UTC, finished {time.strftime('%H:%M', time.gmtime())} UTC")
    for name, (steps, peak) in results.items():
        shown = ", ".join(f"{s:.1f}" for s in steps)
        median = statistics.median(steps) if steps else float("nan")
        print(f"{name}: s/step {shown} (median {median:.2f}); peak RSS {peak:,} KiB ({peak / 1048576:.2f} GiB)")
    if len(results) == 2 and all(r[0] for r in results.values()):
        d, t = (statistics.median(results[k][0]) for k in ("Diffuse", "PyTorch"))
        print(f"images/s Diffuse ÷ PyTorch: {t / d:.2f}×; peak Diffuse ÷ PyTorch: {results['Diffuse'][1] / results['PyTorch'][1]:.2f}×")


if __name__ == "__main__":
    main()
