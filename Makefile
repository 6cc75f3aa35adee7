# One command each: `make run` (set up, index the seeds, start the product) and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# llama.cpp is compiled for this CPU's vector units (AVX-512, VNNI, BF16 where it has them: prefill ~1.4x
# faster than a portable build on an EPYC with them). On x86 the units are named one by one from
# /proc/cpuinfo rather than by -march=native, which would also switch on ggml's AMX kernels: those
# segfault in the first decode on the Intel Xeon (AMX) VMs of this machine kind. Elsewhere (ARM) native.
# The wheel is kept per CPU (its flags) and build options, outside pip's cache, so a cache shared with
# another CPU kind never hands it a binary it cannot run.
X86_FLAGS := $(shell grep -m1 '^flags' /proc/cpuinfo)
has = $(if $(filter $(1),$(X86_FLAGS)),$(2))
GGML_X86 := -DGGML_NATIVE=OFF $(call has,avx512bw,$(call has,avx512vl,-DGGML_AVX512=ON)) \
	$(call has,avx512vbmi,-DGGML_AVX512_VBMI=ON) $(call has,avx512_vnni,-DGGML_AVX512_VNNI=ON) \
	$(call has,avx512_bf16,-DGGML_AVX512_BF16=ON) $(call has,avx_vnni,-DGGML_AVX_VNNI=ON)
export CMAKE_ARGS ?= $(strip $(if $(X86_FLAGS),$(GGML_X86),-DGGML_NATIVE=ON))
LLAMA_CPP := $(shell grep -o 'llama-cpp-python[^=]*==[0-9.]*' pyproject.toml | sed 's/\[.*\]//')
CPU_KEY := $(shell (grep -m1 -E '^(flags|Features)' /proc/cpuinfo; echo "$(CMAKE_ARGS)") | md5sum | cut -c1-12)
LLAMA_WHEELS := $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/rag-news/wheels/$(CPU_KEY)
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup browser run test test-fast lint fix bench

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# torch first: the CPU wheel on this machine; letting pip pick torch would pull GBs of CUDA packages.
$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	@ls $(LLAMA_WHEELS)/llama_cpp_python-*.whl >/dev/null 2>&1 || { \
		echo "compiling $(LLAMA_CPP) for this CPU (once, ~5 min on 2 cores) into $(LLAMA_WHEELS)"; \
		$(BIN)/pip wheel -q --no-deps --no-cache-dir -w $(LLAMA_WHEELS) $(LLAMA_CPP); }
	$(BIN)/pip install -q --no-deps --force-reinstall $(LLAMA_WHEELS)/llama_cpp_python-*.whl
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

setup: $(VENV)/.installed
	$(BIN)/rag setup

index/seeds/meta.json: setup $(wildcard seeds/*)
	$(BIN)/rag index build seeds --name seeds
	$(BIN)/rag index examples --name seeds "Chi accompagnava Umerov a Bruxelles?" \
		"Quando arriva Mark Rutte a Kiev?" "Dove terrà il suo discorso Rutte?"

# Ends with the chat page serving the seed index at http://127.0.0.1:7860 (Ctrl-C stops it).
run: setup index/seeds/meta.json
	$(BIN)/rag index info --name seeds
	$(BIN)/rag ui --index seeds

# Debian's Chromium for the browser test (Playwright drives it; never `playwright install`).
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null)

# One pytest worker per core, a test file per worker at a time, each model on one thread: one worker leaves
# the cores half idle between model runs, and a model on two threads beside another worker spins on a taken
# core (timings in eval/RESULTS.md, "The test suite's time"). Files are handed out costliest first
# (tests/conftest.py), not xdist's most-tests-first, which left the one-test server files for last.
CORES := $(shell nproc 2>/dev/null || echo 2)
PARALLEL := RAG_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
test: setup browser
	$(PARALLEL) $(BIN)/pytest -n $(CORES) --dist loadfile --no-loadscope-reorder

test-fast: $(VENV)/.installed
	$(PARALLEL) $(BIN)/pytest -n $(CORES) --dist loadfile -m "not slow"

lint: $(VENV)/.installed
	$(BIN)/ruff check rag ui tests eval/notebooks
	$(BIN)/ruff format --check rag ui tests eval/notebooks

fix: $(VENV)/.installed
	$(BIN)/ruff check --fix rag ui tests eval/notebooks
	$(BIN)/ruff format rag ui tests eval/notebooks

bench: setup
	$(BIN)/rag bench retrieval
