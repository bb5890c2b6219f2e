# Breed Bot. `make run` and `make test` create .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run poll test test-fast lint format train finetune train-smoke bench clean

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first and pinned, so nothing pulls a multi-GB CUDA build
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet -e ".[train,dev]"
	touch $(STAMP)

install: $(STAMP)

# `.env` (see .env.example), when present, is exported for run and poll.
LOAD_ENV := set -a; [ ! -f .env ] || . ./.env; set +a;

run: $(STAMP)
	@$(LOAD_ENV) $(PY) -m uvicorn webhook.main:app --host $(HOST) --port $(PORT)

poll: $(STAMP)
	@$(LOAD_ENV) $(PY) -m bot $(ARGS)

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(STAMP)
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

train: $(STAMP)
	$(PY) -m training.pipeline

# Fine-tune the backbone (GPU recommended: ~2 min on an H200, hours on 2 CPU cores), then
# install the checkpoint that `make train` builds the shipped model from (docs/model.md).
finetune: $(STAMP)
	$(PY) -m training.finetune prepare
	$(PY) -m training.finetune train --out build/finetune/runs
	cp build/finetune/runs/long-kd3.npz training/checkpoints/efficientnet_lite2_pets.npz

train-smoke: $(STAMP)
	$(PY) -m training.pipeline --smoke --out build/smoke

bench: $(STAMP)
	$(PY) -m benchmarks.run

clean:
	rm -rf build .pytest_cache

# --- webhook and deployment (docs/deploy.md, docs/webhook.md)
.PHONY: webhook-set webhook-info webhook-delete docker-build bench-webhook

webhook-set: $(STAMP)
	$(PY) -m webhook set $(WEBHOOK_ARGS)

webhook-info: $(STAMP)
	$(PY) -m webhook info

webhook-delete: $(STAMP)
	$(PY) -m webhook delete

docker-build:
	docker build --provenance=false -t breed-bot:$$(git rev-parse --short HEAD) .

bench-webhook: $(STAMP)
	$(PY) -m benchmarks.webhook_overhead

# --- hardening: load, fault paths, long fuzzing (docs/operations.md)
.PHONY: loadtest fuzz

loadtest: $(STAMP)
	$(PY) -m benchmarks.loadtest
	$(PY) -m benchmarks.fault_paths

# The property tests of the normal suite with 20x the examples (BREEDBOT_FUZZ_SCALE).
fuzz: $(STAMP)
	BREEDBOT_FUZZ_SCALE=$${BREEDBOT_FUZZ_SCALE:-20} $(PY) -m pytest -q -p no:randomly \
		tests/test_fuzz_images.py tests/test_fuzz_updates.py
