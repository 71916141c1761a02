# Diffuse: the README's two commands are `make demo` and `make test`.
SWIFT ?= swift
CONFIG := -c release
BIN := .build/release/diffuse

.PHONY: deps build install uninstall test test-faults test-browser demo bench bench-few-step bench-lora-train clean train-default train-wide train-classifier eval-default

## deps: install the Debian packages and data the build and tests need (idempotent)
deps:
	@bash tools/deps.sh

## build: the optimized `diffuse` command and library
build: deps
	$(SWIFT) build $(CONFIG) --product diffuse

# The binary, rebuilt only when a source file is newer (make demo skips swift build's own
# up-to-date check, which takes seconds).
SOURCES := Package.swift $(shell find Sources -type f 2>/dev/null)
$(BIN): $(SOURCES)
	$(SWIFT) build $(CONFIG) --product diffuse
	@touch $(BIN)

## install: `diffuse` in PREFIX/bin and its data (the bundled model, its classifier, the MiniLM text
## encoder) in PREFIX/share/diffuse/models; the binary finds them there, and in /usr/local/share or
## /usr/share (XDG_DATA_DIRS) when moved elsewhere. Files are copied under temporary names and
## renamed into place.
PREFIX ?= /usr/local
DATA_DIR = $(PREFIX)/share/diffuse/models
install: deps $(BIN)
	@bash tools/install.sh "$(BIN)" "$(PREFIX)"

## uninstall: removes what `make install PREFIX=…` put there
uninstall:
	rm -f "$(PREFIX)/bin/diffuse"
	rm -rf "$(DATA_DIR)/emoji" "$(DATA_DIR)/emoji-classifier" "$(DATA_DIR)/all-MiniLM-L6-v2"
	-rmdir "$(DATA_DIR)" "$(PREFIX)/share/diffuse" 2>/dev/null

## test: every test, built optimized, in one process
test: deps
	$(SWIFT) build $(CONFIG) --build-tests
	$(SWIFT) build $(CONFIG) --product diffuse
	$(SWIFT) test $(CONFIG) --skip-build

## test-faults: the fault suite (bad sizes, configs, files and images; make test runs these too) with
## the slow cases it leaves out: a diverging training run, SIGTERM, a disk that fills up (a small tmpfs,
## else a file-size limit). DIFFUSE_FAULT_TESTS=1 switches the slow cases on.
FAULT_SUITES := FaultTests|ValidationTests|PNGPixelLimitTests|DiffusersFolderSizesTests
test-faults: deps
	$(SWIFT) build $(CONFIG) --build-tests
	$(SWIFT) build $(CONFIG) --product diffuse
	DIFFUSE_FAULT_TESTS=1 $(SWIFT) test $(CONFIG) --skip-build --filter '$(FAULT_SUITES)'

## demo: the main job on the built-in default: a picture from a prompt with the bundled emoji model
demo: deps $(BIN)
	@mkdir -p out
	@start=$$(date +%s.%N); \
	$(BIN) generate --prompt "a red apple" --seed 7 --upscale 8 --output out/demo.png && \
	echo "made out/demo.png (256×256, the bundled 32×32 model enlarged 8×) in $$(awk "BEGIN { printf \"%.1f\", $$(date +%s.%N) - $$start }") s"

## bench: kernel benchmarks (ratio to this machine's sgemm ceiling, measured with numpy when present), the issue-4 training step (configs/bench-small-unet.json), then Stable Diffusion 1.5-scale works (text encoder, UNet step, VAE decode at BENCH_SIZES) on SD15_DIR; with REFERENCE_PYTHON=/path/to/python (torch, diffusers, transformers, openvino) the same works in PyTorch and OpenVINO (the training step in PyTorch), and a table of times and ratios
SD15_DIR ?= /tmp/sd15-random
BENCH_SIZES ?= 256,512
BENCH_REPS ?= 3
REFERENCE_PYTHON ?=
## BENCH_ISA=avx2 holds every run (Diffuse, PyTorch, OpenVINO) to AVX2 + FMA on an AVX-512 machine,
## to stand in for an AVX2-only CPU such as ../shared/baselines' EPYC.
BENCH_ISA ?=
BENCH_ENV := $(if $(filter avx2 AVX2,$(BENCH_ISA)),ONEDNN_MAX_CPU_ISA=AVX2 DIFFUSE_AVX512=0 ATEN_CPU_CAPABILITY=avx2,)
bench: build
	@ceiling=$$(python3 tools/sgemm_ceiling.py 2>/dev/null || echo 169); \
	echo "sgemm ceiling on this machine: $$ceiling GFLOP/s"; \
	$(BENCH_ENV) $(BIN) bench --ceiling $$ceiling
	@mkdir -p out && rm -f out/bench-sd.jsonl
	@status=0; \
	$(BENCH_ENV) $(BIN) bench --only train --train-config configs/bench-small-unet.json --repetitions $(BENCH_REPS) --json out/bench-sd.jsonl || exit 1; \
	if [ -n "$(REFERENCE_PYTHON)" ]; then \
	    $(BENCH_ENV) $(REFERENCE_PYTHON) tools/bench_train_reference.py configs/bench-small-unet.json out/bench-sd.jsonl --repetitions $(BENCH_REPS) || status=1; \
	fi; \
	if [ ! -d "$(SD15_DIR)" ] && [ -n "$(REFERENCE_PYTHON)" ]; then \
	    echo "building $(SD15_DIR): SD 1.5 shapes, random weights (a few minutes)"; \
	    $(REFERENCE_PYTHON) tools/make_sd15_random.py "$(SD15_DIR)" || exit 1; \
	fi; \
	if [ ! -d "$(SD15_DIR)" ]; then \
	    echo "skipping the SD 1.5-scale benchmark: no $(SD15_DIR) (make bench REFERENCE_PYTHON=/path/to/python-with-torch-and-diffusers builds it, or set SD15_DIR=<a diffusers folder>)"; \
	else \
	    $(BENCH_ENV) $(BIN) bench --only sd --model "$(SD15_DIR)" --sizes "$(BENCH_SIZES)" --repetitions $(BENCH_REPS) --json out/bench-sd.jsonl || exit 1; \
	    if [ -n "$(REFERENCE_PYTHON)" ]; then \
	        $(BENCH_ENV) $(REFERENCE_PYTHON) tools/bench_reference.py "$(SD15_DIR)" out/bench-sd.jsonl --sizes "$(BENCH_SIZES)" --repetitions $(BENCH_REPS) || status=1; \
	    fi; \
	fi; \
	echo; python3 tools/bench_compare.py out/bench-sd.jsonl && exit $$status

## bench-few-step: whole 512² few-step images, prompt to PNG (issue 23): LCM 4 steps guidance 1 with the
## VAE, the same with a tiny autoencoder (TAESD_DIR), and 1 step guidance 0 with trailing Euler a and the
## tiny autoencoder, on SD15_DIR's random SD 1.5 weights; each case in Diffuse, then (with
## REFERENCE_PYTHON) diffusers and OpenVINO right after it. Times include loading; peak memory per process.
## OpenVINO's converted models are kept in out/openvino-ir (the first case's load includes converting them).
TAESD_DIR ?= /tmp/taesd-full/diffusers
FEW_STEP_PROMPT := a red apple on a wooden table
FEW_STEP_CASES ?= lcm lcm-taesd turbo-taesd
bench-few-step: build
	@rm -rf out/openvino-ir
	@test -d "$(SD15_DIR)" || { echo "no $(SD15_DIR): $(REFERENCE_PYTHON) tools/make_sd15_random.py $(SD15_DIR) makes one"; exit 1; }
	@test -d "$(TAESD_DIR)" || { echo "no $(TAESD_DIR): $(REFERENCE_PYTHON) tools/make_taesd_fixtures.py --out /tmp/taesd-check --full-size /tmp/taesd-full makes one (TAESD_DIR is its diffusers/ folder)"; exit 1; }
	@bash tools/make_turbo_folder.sh "$(SD15_DIR)" out/sd15-turbo
	@mkdir -p out && rm -f out/bench-few-step.jsonl
	@for case in $(FEW_STEP_CASES); do \
	    model="$(SD15_DIR)"; args="--sampler lcm --steps 4 --guidance 1"; \
	    case $$case in *taesd) args="$$args --vae $(TAESD_DIR)";; esac; \
	    if [ $$case = turbo-taesd ]; then model=out/sd15-turbo; args="--sampler euler_a --steps 1 --guidance 0 --vae $(TAESD_DIR)"; fi; \
	    $(BENCH_ENV) /usr/bin/time -f "%e %M" -o out/bench-few-step.time $(BIN) generate --model "$$model" $$args \
	        --width 512 --height 512 --seed 1 --prompt "$(FEW_STEP_PROMPT)" --output out/bench-few-step-$$case.png >/dev/null || exit 1; \
	    read wall rss < out/bench-few-step.time; \
	    echo "{\"engine\": \"diffuse\", \"case\": \"$$case\", \"size\": 512, \"total_s\": $$wall, \"peak_rss_kb\": $$rss}" | tee -a out/bench-few-step.jsonl; \
	    if [ -n "$(REFERENCE_PYTHON)" ]; then for engine in torch openvino; do \
	        $(BENCH_ENV) $(REFERENCE_PYTHON) tools/bench_few_step.py --engine $$engine --case $$case --model "$(SD15_DIR)" \
	            --turbo-model out/sd15-turbo --taesd "$(TAESD_DIR)" --png out/bench-few-step-$$engine.png \
	            --ir-cache out/openvino-ir out/bench-few-step.jsonl || exit 1; \
	    done; fi; \
	done

## bench-lora-train: LoRA training at 512² on SD15_DIR's random SD 1.5 weights (issue 24), rank 4 then 32:
## each `diffuse train --lora-rank R` (3 steps, step 1 untimed) right before the PyTorch step of
## diffusers' train_text_to_image_lora.py (tools/bench_lora_train_reference.py, 1 warm-up + 2 steps);
## seconds per step, images/s ratio and peak RSS per process. Needs REFERENCE_PYTHON (torch, diffusers, peft).
## LORA_BENCH_ARGS adds diffuse train flags (e.g. --weights float16).
LORA_BENCH_RANKS ?= 4 32
LORA_BENCH_ARGS ?=
bench-lora-train: build
	@test -n "$(REFERENCE_PYTHON)" || { echo "set REFERENCE_PYTHON=/path/to/python with torch, diffusers and peft"; exit 1; }
	@test -d "$(SD15_DIR)" || { echo "no $(SD15_DIR): $(REFERENCE_PYTHON) tools/make_sd15_random.py $(SD15_DIR) makes one"; exit 1; }
	@mkdir -p out/lora-bench-data && $(REFERENCE_PYTHON) -c "import numpy as n; from PIL import Image; r = n.random.default_rng(0); \
	    [(Image.fromarray(r.integers(0, 256, (512, 512, 3), dtype=n.uint8)).save(f'out/lora-bench-data/{i}.png'), \
	      open(f'out/lora-bench-data/{i}.txt', 'w').write(c)) for i, c in enumerate(['a photograph of an astronaut riding a horse', 'a red apple'])]"
	@for rank in $(LORA_BENCH_RANKS); do \
	    $(BENCH_ENV) $(REFERENCE_PYTHON) tools/bench_lora_train.py --model "$(SD15_DIR)" --data out/lora-bench-data --rank $$rank \
	        --binary $(BIN) --diffuse-args="$(LORA_BENCH_ARGS)" || exit 1; \
	done

## train-default: retrain the bundled emoji model from scratch (resumable: run it again to continue).
## Stage 1 trains on the token states of the captions; stage 2 starts from it, adds the pooled
## sentence embedding (a projection class embedding) and trains on CLDR keywords too; stage 3
## starts from stage 2 and also wraps captions in sentences ("a red apple", "red apple emoji");
## stage 4 anneals stage 3 (learning rate 1e-4 decayed to 0 on a cosine). Stages 5–8 fine-tune on
## the bare captions alone with min-SNR-5 loss weighting (lr 2e-4, 2e-4, 1e-4, 5e-5, each decayed to 0):
## the caption index below sends every prompt to a caption, so captions are all the UNet must draw.
## The last stage writes the model's default guidance (1.5) into its model_index.json.
## Last, the captions are indexed (models/emoji/caption_index.safetensors) so that prompts in other
## words find their caption. The configs have 16 group-norm groups (two channels per group at the
## 32-channel level): with 32 (one channel per group, as the bundled model was trained) every run
## learns a fixed-position stripe (BENCHMARKS.md, the bundled model, session 12).
EMOJI_STEPS ?= 3000
EMOJI_POOLED_STEPS ?= 5000
EMOJI_TEMPLATE_STEPS ?= 3000
EMOJI_ANNEAL_STEPS ?= 1000
EMOJI_CAPTION_STEPS ?= 3000
EMOJI_CAPTION3_STEPS ?= 2000
EMOJI_FINAL_STEPS ?= 1200
EMOJI_TRAIN = DIFFUSE_POOL_MB=4096 $(BIN) train --data data/emoji-32 --text-encoder .deps/all-MiniLM-L6-v2 --prompt-length 24 \
	    --patch-size 2 --batch-size 64 --warmup-steps 100 --ema-decay 0.999 --caption-dropout 0.1 \
	    --checkpoint-every 100 --sample-every 250 --sample-prompt "red apple" --sample-prompt "cat face" \
	    --sample-prompt "thumbs up" --sample-prompt "flag: Japan" --sample-prompt "a yellow face laughing with tears" --resume
train-default: deps $(BIN)
	@grep -q '"keywords"' data/emoji-32/metadata.jsonl 2>/dev/null || $(BIN) dataset emoji --output data/emoji-32 --size 32
	$(EMOJI_TRAIN) --output runs/emoji --model-config configs/emoji-unet.json --steps $(EMOJI_STEPS) --lr 4e-4 \
	    --prediction-type v_prediction --seed 1
	$(EMOJI_TRAIN) --output runs/emoji-pooled --model-config configs/emoji-unet-pooled.json --init-from runs/emoji \
	    --steps $(EMOJI_POOLED_STEPS) --lr 2e-4 --keyword-captions 0.3 --seed 2
	$(EMOJI_TRAIN) --output runs/emoji-templates --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-pooled \
	    --steps $(EMOJI_TEMPLATE_STEPS) --lr 2e-4 --keyword-captions 0.3 --caption-templates 0.5 --seed 3
	$(EMOJI_TRAIN) --output runs/emoji-anneal --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-templates \
	    --steps $(EMOJI_ANNEAL_STEPS) --lr 1e-4 --lr-schedule cosine --keyword-captions 0.3 --caption-templates 0.5 --seed 4
	$(EMOJI_TRAIN) --output runs/emoji-captions --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-anneal \
	    --steps $(EMOJI_CAPTION_STEPS) --lr 2e-4 --lr-schedule cosine --min-snr-gamma 5 --seed 7
	$(EMOJI_TRAIN) --output runs/emoji-captions2 --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-captions \
	    --steps $(EMOJI_CAPTION_STEPS) --lr 2e-4 --lr-schedule cosine --min-snr-gamma 5 --seed 8
	$(EMOJI_TRAIN) --output runs/emoji-captions3 --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-captions2 \
	    --steps $(EMOJI_CAPTION3_STEPS) --lr 1e-4 --lr-schedule cosine --min-snr-gamma 5 --seed 11
	$(EMOJI_TRAIN) --output runs/emoji-captions4 --model-config configs/emoji-unet-pooled.json --init-from runs/emoji-captions3 \
	    --steps $(EMOJI_FINAL_STEPS) --lr 5e-5 --lr-schedule cosine --min-snr-gamma 5 --seed 13 --sample-guidance 1.5
	bash tools/publish_default_model.sh runs/emoji-captions4 models/emoji
	$(BIN) index-captions --data data/emoji-32 --model models/emoji

## train-wide: an experiment, not published (the bundled model reached its targets without it): a wider UNet (64/96/160 channels,
## 8.1 M parameters) trained from scratch on captions, keywords and sentences, that also attends to the
## pooled sentence embedding as one more token (--pooled-token) and learns to draw from it alone
## (--token-dropout 0.3), so that paraphrases land near their captions. Resumable; EMOJI_WIDE_STEPS
## is open-ended (constant learning rate), stop it with Ctrl-C and run it again to continue.
EMOJI_WIDE_STEPS ?= 20000
train-wide: deps $(BIN)
	@grep -q '"keywords"' data/emoji-32/metadata.jsonl 2>/dev/null || $(BIN) dataset emoji --output data/emoji-32 --size 32
	$(EMOJI_TRAIN) --sample-prompt "a kitty" --output runs/emoji-wide --model-config configs/emoji-unet-wide.json \
	    --steps $(EMOJI_WIDE_STEPS) --lr 3e-4 --prediction-type v_prediction --pooled-token --token-dropout 0.3 \
	    --keyword-captions 0.3 --caption-templates 0.5 --seed 5

## train-classifier: the CNN that diffuse eval judges the bundled model with (models/emoji-classifier)
train-classifier: deps $(BIN)
	@grep -q '"keywords"' data/emoji-32/metadata.jsonl 2>/dev/null || $(BIN) dataset emoji --output data/emoji-32 --size 32
	$(BIN) train-classifier --data data/emoji-32 --output models/emoji-classifier --steps 3000

## eval-default: the bundled model's quality figures (README, BENCHMARKS.md)
eval-default: deps $(BIN)
	@grep -q '"keywords"' data/emoji-32/metadata.jsonl 2>/dev/null || $(BIN) dataset emoji --output data/emoji-32 --size 32
	$(BIN) eval --data data/emoji-32 --captions 200 --steps 20 --paraphrases configs/emoji-paraphrases.tsv \
	    --paraphrases configs/emoji-paraphrases-heldout.tsv

clean:
	rm -rf .build

## test-browser: the web page driven in headless Chromium (installs chromium; ~1.5 min); keeps a screenshot
test-browser: deps
	bash tools/browser_test.sh
