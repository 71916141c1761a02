# Diffuse: the README's two commands are `make demo` and `make test`.
SWIFT ?= swift
CONFIG := -c release
BIN := .build/release/diffuse

.PHONY: deps build test test-browser demo bench clean

## deps: install the Debian packages and data the build and tests need (idempotent)
deps:
	@bash tools/deps.sh

## build: the optimized `diffuse` command and library
build: deps
	$(SWIFT) build $(CONFIG) --product diffuse

## test: every test, built optimized, in one process
test: deps
	$(SWIFT) build $(CONFIG) --build-tests
	$(SWIFT) test $(CONFIG) --skip-build

## demo: the main job on the built-in default
demo: build
	$(BIN) doctor

## bench: kernel benchmarks (ratio to this machine's sgemm ceiling, measured with numpy when present)
bench: build
	@ceiling=$$(python3 tools/sgemm_ceiling.py 2>/dev/null || echo 169); \
	echo "sgemm ceiling on this machine: $$ceiling GFLOP/s"; \
	$(BIN) bench --ceiling $$ceiling

clean:
	rm -rf .build

## test-browser: the web page driven in headless Chromium (installs chromium; ~1.5 min); keeps a screenshot
test-browser: deps
	bash tools/browser_test.sh
