# scalenet_mm: `make demo` and `make test` install what is missing first (see tools/install.sh).
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-all test-slow lint clean help

help:
	@echo "make install   create .venv and install the pinned OpenMMLab stack (mmcv wheel built once, cached)"
	@echo "make demo      install, generate the embedded data set, train + evaluate a small ScaleNet"
	@echo "make test      install, run the test suite (excludes tests marked slow)"
	@echo "make test-slow install, run only the slow tests"
	@echo "make test-all  install, run every test"
	@echo "make lint      install, ruff (pyflakes, pycodestyle at 120 columns, import order) over the repo"

install:
	@bash tools/install.sh

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

test-slow: install
	$(PY) -m pytest -m slow $(PYTEST_ARGS)

lint: install
	.venv/bin/ruff check .

test-all: install
	$(PY) -m pytest $(PYTEST_ARGS)

clean:
	rm -rf work_dirs build *.egg-info .pytest_cache
