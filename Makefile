# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# The machine's PostgreSQL and Redis, for the second test pass (`make test-external`).
TEST_DATABASE_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test
TEST_BROKER_URL   ?= redis://127.0.0.1:6379/15

.PHONY: install demo up down status test lint unit test-external bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/vantage demo

up: install
	$(BIN)/vantage up

down:
	$(BIN)/vantage down

status:
	$(BIN)/vantage status

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

unit: install
	$(BIN)/pytest tests/unit

test-external: install
	VANTAGE_TEST_DATABASE_URL=$(TEST_DATABASE_URL) VANTAGE_TEST_BROKER_URL=$(TEST_BROKER_URL) \
		$(BIN)/pytest tests/integration

bench: install
	$(BIN)/vantage bench ladder

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
