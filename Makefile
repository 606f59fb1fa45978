# The project's commands. Only Python 3.11 is needed on the machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo demo-totp test test-quick lint fuzz bench run migrate messages clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

migrate: install
	$(BIN)/python manage.py migrate --noinput

demo: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:8000

demo-totp: install
	$(BIN)/python manage.py demo_totp $(or $(DEMO_USER),regulator)

run: install
	$(BIN)/python manage.py runserver 127.0.0.1:8000

# The whole suite. Uses PostgreSQL when DATABASE_URL is set, SQLite otherwise.
# Browser tests run when /usr/bin/chromium exists and say why they skip otherwise.
test: install
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

test-quick: install
	$(BIN)/python -m pytest -n 2 -m "not slow and not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/djlint templates marketplace billing search cms --lint
	$(BIN)/python manage.py check
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/bandit -c pyproject.toml -r marketplace billing search cms config --severity-level high -q
	$(BIN)/python scripts/pip_audit_report.py

# Schemathesis against every API operation and role with many examples and random seeds, the
# roles in two processes
# (the normal suite runs the same tests with FUZZ_EXAMPLES=3, replaying the same examples).
fuzz: install
	FUZZ_EXAMPLES=$(or $(FUZZ_EXAMPLES),200) FUZZ_RANDOM=1 $(BIN)/python -m pytest -n 2 -m fuzz tests/fuzz $(PYTEST_ARGS)

# Benchmarks print one table. They run on PostgreSQL: DATABASE_URL if set, else the local server
# (the runner creates and drops its own test database). BENCH=search,ocds runs only those.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/zjcs_bench
bench: install
	DATABASE_URL=$${DATABASE_URL:-$(BENCH_DATABASE_URL)} $(BIN)/python -m bench

messages: install
	$(BIN)/python manage.py makemessages -l en --ignore=.venv --ignore=node_modules
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) db.sqlite3 media
