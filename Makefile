# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-sqlite test-postgres suite-sqlite suite-postgres install browser clean bench coverage

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench]'
	touch $(STAMP)

install: $(STAMP)

# Debian's Chromium drives the browser tests (Playwright never downloads a browser here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	  || echo "chromium could not be installed: browser tests will be skipped"; }

run: $(STAMP)
	$(BIN)/python -m wasb.demo

# The two runs go side by side: most of a test's time is spent waiting on servers and
# browsers, so two suites fill two cores where one leaves them half idle. Each run's output
# is printed whole when it ends (--output-sync), not interleaved.
test: $(STAMP) browser
	$(BIN)/lint-imports
	$(BIN)/vulture
	@$(MAKE) --no-print-directory -j2 --output-sync=target suite-sqlite suite-postgres

suite-sqlite:
	@echo "=== the suite on SQLite"
	$(BIN)/pytest -q -p no:cacheprovider

suite-postgres:
	@echo "=== the suite on PostgreSQL"
	WASB_TEST_DATABASE=$$(scripts/ensure-postgres.sh) $(BIN)/pytest -q -p no:cacheprovider

test-sqlite: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/vulture
	$(BIN)/pytest -q

test-postgres: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/vulture
	WASB_TEST_DATABASE=$$(scripts/ensure-postgres.sh) $(BIN)/pytest -q

# Line coverage of the SQLite suite, the servers it starts included (see [tool.coverage] in pyproject).
coverage: $(STAMP)
	rm -f .coverage .coverage.*
	-$(BIN)/coverage run -m pytest -q -p no:cacheprovider
	$(BIN)/coverage combine -q
	$(BIN)/coverage report | tail -1

bench: $(STAMP)
	$(BIN)/python bench/intake.py
	$(BIN)/python bench/outbound.py
	$(BIN)/python bench/search.py
	$(BIN)/python bench/analytics.py

clean:
	rm -rf $(VENV) wasb.db wasb.db-wal wasb.db-shm wasb.db.worker.lock media var test-artifacts
