# Two commands on a fresh machine:
#   make demo   installs into .venv and starts the tool plus the built-in LMS emulator
#   make test   installs into .venv, starts the test services, and runs lint, types and tests
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# A real Ralph LRS for the tests, the benchmark and the demo, in its own venv (its pins clash with
# ours; it imports requests without declaring it, hence the explicit pin).
RALPH_VENV := .venv-ralph
RALPH_STAMP := $(RALPH_VENV)/.installed
# The UI's compiled catalogues (build output, not in git): rebuilt when their .po changes.
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard lti_tool/translations/*/LC_MESSAGES/messages.po))

.PHONY: demo test lint typecheck pytest bench clean translations messages ralph

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(RALPH_STAMP):
	$(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/pip install --quiet 'ralph-malph[lrs,cli]==5.1.0' 'requests==2.34.2'
	touch $(RALPH_STAMP)

ralph: $(RALPH_STAMP)

lti_tool/translations/%/LC_MESSAGES/messages.mo: lti_tool/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d lti_tool/translations -l $*

translations: $(CATALOGUES)

# After the UI's text changed: refresh the template and every catalogue (then translate what is
# new or fuzzy; tests/lti_tool/test_translations.py fails until none is left).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k lazy_gettext -k ngettext:1,2 --no-wrap \
	  --sort-by-file --project "L2I Engine" --copyright-holder "L2I Engine contributors" \
	  -o lti_tool/translations/messages.pot .
	$(BIN)/pybabel update --no-wrap -i lti_tool/translations/messages.pot -d lti_tool/translations

demo: $(STAMP) $(CATALOGUES) $(RALPH_STAMP)
	$(BIN)/l2i demo

test: $(STAMP) $(CATALOGUES) $(RALPH_STAMP)
	bash scripts/test-services.sh
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

# Every benchmark under bench/, each printing its figures beside the naive way's.
bench: $(STAMP) $(RALPH_STAMP)
	@for script in bench/*.py; do echo "== $$script"; $(BIN)/python $$script || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(CATALOGUES) $(RALPH_STAMP)
	$(BIN)/pytest

clean:
	rm -rf $(VENV) $(RALPH_VENV) instance .pytest_cache .mypy_cache .ruff_cache
	rm -f $(CATALOGUES)
