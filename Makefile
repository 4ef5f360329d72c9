# The two Quickstart commands: `make run` and `make test`. Each builds .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint bench serve clean fuzz

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all]"
	touch $(STAMP)

run: $(STAMP)  ## train on the built-in default dataset and print a report
	$(BIN)/vecprop train

test: $(STAMP)  ## run the test suite
	$(BIN)/python -m pytest -q

fuzz: $(STAMP)  ## the long fuzz run: thousands of new mutated model and data files (a few minutes)
	VECPROP_FUZZ_EXAMPLES=$${VECPROP_FUZZ_EXAMPLES:-5000} VECPROP_HYPOTHESIS=random \
		$(BIN)/python -m pytest -q -s -p no:randomly tests/test_fuzz.py

serve: $(STAMP)  ## the learner's playground in the browser (prints the URL)
	$(BIN)/vecprop serve

lint: $(STAMP)  ## ruff's checks and its formatter's check (the rules are in pyproject.toml)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

bench: $(STAMP)  ## vecprop vs scikit-learn (and PyTorch when installed); writes BENCHMARKS.md
	env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE $(BIN)/python -m vecprop bench

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache .hypothesis
