# The README's two commands. Each creates .venv when it is missing and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin

.PHONY: bench bench-full test lint format clean

$(BIN)/python:
	@echo "creating $(VENV) ..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstalled when pyproject.toml changes.
# setuptools prints an "Editable installation ... folders with the same name as your package"
# notice: it does so for every flat-layout project (a package folder at the top level), and
# only a src/ layout would silence it.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	@echo "installing dependencies (about a minute) ..."
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	@echo "installing dependencies with the dev extras (a minute or two) ..."
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@ $(VENV)/.installed

bench: $(VENV)/.installed
	$(BIN)/python benchmarks/california_housing.py

# The publication protocol (5 seeds x 1,000 epochs, about 25 minutes on 2 cores); writes the
# committed report into benchmarks/results/california_housing/. Rerun to resume.
bench-full: $(VENV)/.installed
	$(BIN)/python benchmarks/california_housing.py --full

test: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) bench-report bench-report-full .pytest_cache .ruff_cache *.egg-info
