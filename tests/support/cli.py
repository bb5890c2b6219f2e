"""Running the classifier's command line as other tools do: a separate process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m classifier ARGS...`` from the repository root; never raises on failure."""
    return subprocess.run(
        [sys.executable, "-m", "classifier", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
