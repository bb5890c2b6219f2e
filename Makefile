# Breed Bot. `make run` and `make test` create .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Extra pytest arguments for `make test`, e.g. TEST_ARGS="-q tests/test_webhook_http.py".
TEST_ARGS ?=

# torch for `make install-train`: PyPI's torch is the CUDA build on Linux (several GB of NVIDIA
# libraries), so take the CPU-only wheel from PyTorch's own index. A torch wheel that pip already
# finds locally (a find-links wheelhouse in pip's configuration) is used first; TORCH_INDEX=
# (empty) means the default index (macOS and Windows get CPU wheels from PyPI anyway).
ifeq ($(shell uname -s),Linux)
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
else
TORCH_INDEX ?=
endif

# .venv is made or updated on first use by every target below, by tools/venv.py: one process at
# a time (a lock), complete only once its stamp is written (a half-built venv is rebuilt), and
# updated when a pin changes. `venv` = runtime + dev sets; `venv-train` adds the train extra.
VENV_TOOL = $(PYTHON) tools/venv.py --venv $(VENV) --python $(PYTHON)

.PHONY: venv venv-train install install-train clean-venv run poll test lint format train eval \
	finetune finetune-open-prepare train-smoke bench clean check-fresh

venv:
	@$(VENV_TOOL) ensure

venv-train:
	@$(VENV_TOOL) ensure --train --torch-index "$(TORCH_INDEX)"

install: venv
install-train: venv-train

# Remove .venv (waits for an install in progress); the next target builds it again.
clean-venv:
	@$(VENV_TOOL) clean

# `.env` (see .env.example), when present, is exported for run and poll.
LOAD_ENV := set -a; [ ! -f .env ] || . ./.env; set +a;

run: venv
	@$(LOAD_ENV) $(PY) -m uvicorn webhook.main:app --host $(HOST) --port $(PORT)

poll: venv
	@$(LOAD_ENV) $(PY) -m bot $(ARGS)

test: venv
	$(PY) -m pytest $(TEST_ARGS)

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: venv
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

train: venv-train
	$(PY) -m training.pipeline

# Fine-tune the backbone (GPU recommended: ~2 min on an H200, hours on 2 CPU cores), then
# install the checkpoint that `make train` builds the shipped model from (docs/model.md).
finetune: venv-train
	$(PY) -m training.finetune prepare
	$(PY) -m training.finetune train --out build/finetune/runs
	cp build/finetune/runs/long-kd3.npz training/checkpoints/efficientnet_lite2_pets.npz

# The next fine-tuning, on every photo group: a compact copy small enough to travel to a
# rented GPU machine, where tools/device_finetune.sh runs (docs/model.md).
finetune-open-prepare: venv-train
	$(PY) -m training.finetune prepare --groups all --short-side 224 --quality 45 \
		--val-sample 250 --init training/checkpoints/efficientnet_lite2_pets.npz \
		--out build/finetune/open

train-smoke: venv-train
	$(PY) -m training.pipeline --smoke --out build/smoke

bench: venv-train
	$(PY) -m benchmarks.run

# The shipped model end to end (classify on bytes) on every hold-out group, on phone-like
# scenes (pets off centre, small, portrait, two side by side) and on the non-pet photos.
eval: venv-train
	$(PY) -m benchmarks.evaluate

clean:
	rm -rf build .pytest_cache

# A fresh clone of the committed HEAD in a temp dir, with a half-built .venv: `make run` and
# `make test` started at the same moment must both succeed (tools/check_fresh.py).
check-fresh:
	$(PYTHON) tools/check_fresh.py $(CHECK_FRESH_ARGS)

# --- webhook and deployment (docs/deploy.md, docs/webhook.md)
.PHONY: webhook-set webhook-info webhook-delete docker-build bench-webhook

webhook-set: venv
	$(PY) -m webhook set $(WEBHOOK_ARGS)

webhook-info: venv
	$(PY) -m webhook info

webhook-delete: venv
	$(PY) -m webhook delete

docker-build:
	docker build --provenance=false -t breed-bot:$$(git rev-parse --short HEAD) .

bench-webhook: venv
	$(PY) -m benchmarks.webhook_overhead

# --- hardening: load, fault paths, long fuzzing (docs/operations.md)
.PHONY: loadtest fuzz

loadtest: venv
	$(PY) -m benchmarks.loadtest
	$(PY) -m benchmarks.fault_paths

# The property tests of the normal suite with 20x the examples (BREEDBOT_FUZZ_SCALE).
fuzz: venv
	BREEDBOT_FUZZ_SCALE=$${BREEDBOT_FUZZ_SCALE:-20} $(PY) -m pytest -q -p no:randomly \
		tests/test_fuzz_images.py tests/test_fuzz_updates.py
