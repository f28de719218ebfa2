# The two commands of the README:
#   make run    set up, then compare the response models on the built-in city and write the report
#   make test   set up, then run the whole test suite
PY := .venv/bin/python

.PHONY: setup run test lint bench

setup:
	@bash scripts/bootstrap.sh

# The planner's main job: police as usual in the built-in city against CIT, co-response, a mobile crisis team and
# the mixed strategy, R paired replications each, written as one self-contained HTML report (docs/report.md).
CITY := scenarios/baseline_midsize_city.toml
R ?= 3
REPORT ?= out/report.html

run: setup
	.venv/bin/crisis-sim report $(CITY) "$(CITY)::cit:programs.cit={}" "$(CITY)::co_response:programs.co_response={}" \
		"$(CITY)::mobile_crisis:programs.mobile_crisis={}" scenarios/mixed_city.toml --replications $(R) --out $(REPORT)

test: setup
	$(PY) -m pytest -n 2 -q

lint: setup
	.venv/bin/ruff check src tests benchmarks

bench: setup
	$(PY) benchmarks/bench_engine.py
