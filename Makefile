# Both targets set themselves up (virtual environment, CPU PyTorch, pinned dependencies).
VENV ?= .venv
export HF_HUB_OFFLINE = 1
export TRANSFORMERS_OFFLINE = 1
export QCPT_DATA_DIR ?= $(abspath ../shared/data)

.PHONY: setup demo test lint bench

setup:
	@bash scripts/setup.sh

demo: setup
	$(VENV)/bin/qcpt demo --output outputs/demo

test: setup
	$(VENV)/bin/python -m pytest -q

lint: setup
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup
	$(VENV)/bin/python benchmarks/encode_throughput.py
