# Convenience aliases; dev.py does the work and needs nothing but Python 3.11+.
PYTHON ?= python3

.PHONY: run test lint sync bench
run:
	$(PYTHON) dev.py run
test:
	$(PYTHON) dev.py test
lint:
	$(PYTHON) dev.py lint
sync:
	$(PYTHON) dev.py sync
bench:
	$(PYTHON) dev.py sync && .venv/bin/python bench/events.py
