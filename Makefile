# Everything a fresh machine needs: `make demo` and `make test` create the virtualenv themselves.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo

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
	cd $(DEMO) && ../$(BIN)/clientbase export phones -o phones.xlsx
	@echo "demo database: $(DEMO)/clientbase.db; phones: $(DEMO)/phones.xlsx"

test: venv
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python bench/ingest_bench.py
