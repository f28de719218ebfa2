# The two commands of the README:
#   make run    set up, then run the main job on the built-in default scenario
#   make test   set up, then run the whole test suite
PY := .venv/bin/python
OUT ?= out/baseline

.PHONY: setup run test lint bench

setup:
	@bash scripts/bootstrap.sh

run: setup
	.venv/bin/crisis-sim run scenarios/baseline_midsize_city.toml --out $(OUT)

test: setup
	$(PY) -m pytest -n 2 -q

lint: setup
	.venv/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_engine.py
