"""Kept for `make bench`, which names this file: the benchmark itself is bench/run.py (same options)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("run.py")), run_name="__main__")
