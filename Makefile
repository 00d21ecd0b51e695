# The README's two commands. Each creates .venv when it is missing and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: bench bench-full peers peers-quick test lint format clean

$(BIN)/python:
	@echo "creating $(VENV) ..."
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --upgrade pip > /dev/null 2>&1 || true

# Reinstalled when pyproject.toml changes. pip's output goes to $(VENV)/install.log, shown
# only when the installation fails (it holds, e.g., setuptools' notice that it prints for every
# flat-layout editable install: "Please be careful with folders ... same name as your package").
INSTALL = $(BIN)/python -m pip install --quiet
LOG     = $(VENV)/install.log
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing dependencies (about a minute) ..."
	@$(INSTALL) -e . > $(LOG) 2>&1 || { cat $(LOG); echo "pip failed (log: $(LOG))"; exit 1; }
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing dependencies with the dev extras (a minute or two) ..."
	@$(INSTALL) -e ".[dev]" > $(LOG) 2>&1 || { cat $(LOG); echo "pip failed (log: $(LOG))"; exit 1; }
	@touch $@ $(VENV)/.installed

# The quick protocol (tunebench.bench.QUICK_PROTOCOL, about 10 minutes on 2 cores) into
# bench-report/; rerun to resume.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py

# The publication protocol (FULL_PROTOCOL: the suite, 10 seeds a real problem); writes the
# committed report into benchmarks/results/suite/. Rerun to resume.
bench-full: $(VENV)/.installed
	$(BIN)/python benchmarks/suite.py --full

# tunebench against Keras Tuner, Optuna, RandomizedSearchCV and Ray Tune on the book problem
# (benchmarks/peers.py: 5 seeds x 50 epochs, 55 minutes on 2 cores; peers-quick 1 seed x 45
# epochs, 8 minutes), written to
# benchmarks/results/peers/. Needs the dev extras (Ray Tune). Rerun to resume.
peers: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/peers.py

peers-quick: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/peers.py --quick --out benchmarks/results/peers-quick

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest -n auto --dist loadfile --durations=15

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) bench-report bench-report-full .pytest_cache .ruff_cache *.egg-info
