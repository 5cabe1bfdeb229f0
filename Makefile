# The README's two commands: `make run` (REPL over the bundled articles) and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint bench clean

run: $(STAMP)
	$(BIN)/newsqa repl

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

install: $(STAMP)

# constraints.txt pins every dependency (torch to the 2.13.0 CPU build, not the CUDA one).
$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check corpus index bot tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
