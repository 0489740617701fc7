# The two commands of the README. Each creates .venv and installs synthlab with what it needs, when needed.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.synthlab-installed

.PHONY: demo test install clean-venv
$(STAMP): setup.py settings.ini pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[dev,photos,serve,tensorboard,adapt,realtime,distributed,bench]"
	touch $(STAMP)

install: $(STAMP)

## make demo: the main job on the embedded demo dataset (renders it on first use)
demo: $(STAMP)
	$(VENV)/bin/synthlab demo $(ARGS)

## make test: every check and test (nbdev hygiene, nbdev_test over nbs/, pytest tests), ends with `N passed, N failed`
test: $(STAMP)
	$(PY) tools/run_tests.py

clean-venv:
	rm -rf $(VENV)
