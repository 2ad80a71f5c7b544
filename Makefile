# The two commands of the README: `make demo` and `make test`.
.PHONY: setup demo test test-slow lint

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/homl fit --example housing --time-limit 60 -o models/housing --overwrite
	.venv/bin/homl info models/housing

test: setup
	.venv/bin/lint-imports
	.venv/bin/python -m pytest -m "not slow" -q

test-slow: setup  # exit code 5 means no test is marked slow yet
	.venv/bin/python -m pytest -m slow -q || [ $$? -eq 5 ]

lint: setup
	.venv/bin/ruff check homl tests bench examples
