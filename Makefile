# Everything a fresh machine needs: `make demo` and `make test` create the virtualenv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo
# The sample dumps are dated for this day, so the demo's lists do not drift with the calendar.
DEMO_DAY := 2026-11-20

.PHONY: demo test venv bench clean-demo

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

demo: venv
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	cd $(DEMO) && ../$(BIN)/clientbase init
	cd $(DEMO) && ../$(BIN)/clientbase ingest ../sample_data/crm_export.xlsx ../sample_data/1c_export.csv ../sample_data/purchased_base.csv
	cd $(DEMO) && ../$(BIN)/clientbase calls ../sample_data/dialer_log.csv
	cd $(DEMO) && ../$(BIN)/clientbase clean --as-of $(DEMO_DAY)
	cd $(DEMO) && ../$(BIN)/clientbase today --as-of $(DEMO_DAY) --limit 5 -o lists.xlsx
	cd $(DEMO) && COLUMNS=120 ../$(BIN)/clientbase today --as-of $(DEMO_DAY) --limit 5
	@echo "demo: database $(DEMO)/clientbase.db, lists $(DEMO)/lists.xlsx; try: cd $(DEMO) && ../$(BIN)/clientbase report"

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python bench/run.py --sizes 100k,1m
