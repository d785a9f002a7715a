import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_data"

# No deadline per example: a loaded machine stalls a 0.04 ms example past 300 ms, and no test is about time.
settings.register_profile("clientbase", deadline=None)
settings.load_profile("clientbase")


@pytest.fixture
def run(tmp_path):
    """Run the real CLI in a subprocess against a database in a temporary folder."""

    def invoke(*args: str, check: int | None = 0, env: dict | None = None, cwd: Path | None = None):
        full_env = {**os.environ, "CLIENTBASE_DB": str(tmp_path / "cb.db"), **(env or {})}
        full_env.pop("CLIENTBASE_RULES", None) if "CLIENTBASE_RULES" not in (env or {}) else None
        result = subprocess.run(
            [sys.executable, "-m", "clientbase", *args],
            capture_output=True, text=True, env=full_env, cwd=cwd or tmp_path,
        )
        if check is not None:
            assert result.returncode == check, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
        return result

    return invoke
