# Two targets a newcomer needs: `make run` (console + SQLite) and `make test` (everything).
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench prove clean catalogues

# Installing builds the package, which compiles the message catalogues (setup.py); after
# editing a .po, `make catalogues` compiles them again.
$(STAMP): pyproject.toml setup.py
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) on PATH (or make PYTHON=python3)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/circlebot run --config config.example.toml

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

bench: $(STAMP)
	$(BIN)/python bench/stance_events.py
	$(BIN)/python bench/startup_jobs.py
	$(BIN)/python bench/report.py
	$(BIN)/python bench/slack_latency.py
	$(BIN)/python bench/matrix_latency.py  # starts its own Synapse (installed on first use)
	$(BIN)/python bench/readyz_lost_database.py  # starts its own PostgreSQL
	$(BIN)/python bench/replicas.py  # its own PostgreSQL, replicas and fake Slack

# The fault harness, long: many seeds on SQLite (under libfaketime) and on three replicas
# sharing PostgreSQL, faults injected meanwhile; `make test` runs a short one. Then the
# two benchmarks too slow to run small in `make test` (tests/test_benches.py), small.
prove: $(STAMP)
	$(BIN)/python -m tests.faults --runs 6 --duration 60
	$(BIN)/python bench/matrix_latency.py --samples 5 --cards 2
	$(BIN)/python bench/replicas.py --events 100 --repeats 1 --rounds 1

# After changing texts in the code: bring every catalogue up to date with them, then
# translate what is new or fuzzy in bot/locale/*/LC_MESSAGES/circlebot.po.
catalogues: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k n_:1,2 --no-location --sort-output \
		--project circlebot -o bot/locale/circlebot.pot bot adapters
	$(BIN)/pybabel update -i bot/locale/circlebot.pot -d bot/locale -D circlebot \
		--no-fuzzy-matching --ignore-obsolete
	$(BIN)/pybabel compile -d bot/locale -D circlebot

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
