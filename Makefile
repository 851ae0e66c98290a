# Both targets set themselves up (virtual environment, CPU PyTorch, pinned dependencies).
VENV ?= .venv
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1
export QCPT_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: setup run run-full demo test lint format bench

setup:
	@bash scripts/setup.sh

# the main job: the reduced query-as-context experiment on SciFact (report in
# outputs/run-scifact-reduced/report/); run-full: the full CPU experiment (hours, resumable)
run: setup
	$(VENV)/bin/qcpt run configs/run-scifact-reduced.yaml

run-full: setup
	$(VENV)/bin/qcpt run configs/run-scifact-full.yaml

demo: setup
	$(VENV)/bin/qcpt demo --output outputs/demo

test: setup lint
	$(VENV)/bin/python -m pytest -q

# lint: ruff's rules, ruff's formatting (pinned ruff, so the check is the same everywhere) and
# the import layers; `make format` rewrites the files ruff would reformat
lint: setup
	$(VENV)/bin/ruff check src tests benchmarks scripts
	$(VENV)/bin/ruff format --check src tests benchmarks scripts
	$(VENV)/bin/python scripts/check_layers.py

format: setup
	$(VENV)/bin/ruff format src tests benchmarks scripts

# the benchmarks need the bench extra (datasets, for sentence-transformers training) and, for
# query generation, the gen extra; the pre-training benchmarks prepare their data with
# benchmarks/pretrain_scifact_data.py (recorded queries in benchmarks/recorded/)
bench:
	@QCPT_EXTRAS=dev,bench,gen bash scripts/setup.sh
	$(VENV)/bin/python benchmarks/encode_throughput.py
	$(VENV)/bin/python benchmarks/pretrain_throughput.py
