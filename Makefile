# The two commands a newcomer needs: `make demo` and `make test`.
VENV := .venv
BIN := $(VENV)/bin
# PostgreSQL for the second test run; the local server unless you point elsewhere.
CASEWORK_TEST_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres

.PHONY: demo test test-sqlite test-postgres lint install bench-routing

$(BIN)/casework: pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,embeddings]'
	touch $(BIN)/casework

install: $(BIN)/casework

demo: install
	$(BIN)/casework demo

lint: install
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools

test-sqlite: install
	CASEWORK_DATABASE_URL= $(BIN)/pytest

test-postgres: install
	tools/ensure-postgres "$(CASEWORK_TEST_POSTGRES_URL)"
	CASEWORK_DATABASE_URL="$(CASEWORK_TEST_POSTGRES_URL)" $(BIN)/pytest

test: lint test-sqlite test-postgres

# The routing simulation's whole day on SQLite (about 3–8 minutes; bench/README.md).
bench-routing: install
	$(BIN)/python bench/routing_sim.py --db sqlite
