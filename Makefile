# The two commands of the README: `make demo` (set up, start the local stack, run the
# Bookstore pipeline) and `make test` (set up, run the whole test suite). `.ci/run` calls `make test`.
SEAMLINE := .venv/bin/seamline

.PHONY: setup demo test lint stack-down bench

setup:
	@scripts/setup.sh

demo: setup
	@$(SEAMLINE) stack up
	@$(SEAMLINE) run

test:
	@scripts/setup.sh --for-tests
	@scripts/test.sh

lint: setup
	@.venv/bin/ruff check . && .venv/bin/ruff format --check . && .venv/bin/mypy

stack-down:
	@$(SEAMLINE) stack down

bench: setup
	@.venv/bin/python bench/stack_up.py
	@.venv/bin/python bench/pipeline.py
