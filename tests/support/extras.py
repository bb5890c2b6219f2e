"""What the test environment lacks, and the one command that adds it.

``make install`` (and so ``make test`` on a fresh clone) installs the runtime and dev sets only,
about 200 MB; the tests of the training code need the ``train`` extra (TensorFlow, torch; about
3.5 GB), which ``make install-train`` adds and CI installs. Tests that need a package index (a
venv of exactly the runtime pins, the Lambda wheel check) need the network. Both kinds skip,
saying why and what to do, instead of failing on a machine that does not have them.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tempfile
from functools import cache
from pathlib import Path

TRAIN_MODULES = ("tensorflow", "torch")
INSTALL_TRAIN = "make install-train"
# A small wheel of the runtime set: if pip can fetch it, the index answers.
PROBE_REQUIREMENT = "mangum==0.22.0"
PROBE_TIMEOUT_S = 15


def missing_train_modules() -> list[str]:
    """The train extra's top-level modules that are not installed (found, not imported)."""
    return [name for name in TRAIN_MODULES if importlib.util.find_spec(name) is None]


def train_extra_reason(missing: list[str]) -> str:
    return f"needs the train extra ({', '.join(missing)} not installed): run `{INSTALL_TRAIN}`"


def pip_env() -> dict[str, str]:
    """pip without the suite's PYTHONPATH, quiet about its own version, failing fast offline."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_RETRIES"] = "0"
    env["PIP_DEFAULT_TIMEOUT"] = str(PROBE_TIMEOUT_S)
    return env


@cache
def package_index_problem() -> str | None:
    """None when pip (as configured here: index, extra indexes, find-links) can fetch a pinned
    wheel of the runtime set; else why not, for a skip reason. Asked once per session."""
    with tempfile.TemporaryDirectory(prefix="breedbot-index-probe-") as dest:
        command = [
            sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
            "--only-binary=:all:", "--no-cache-dir", "--dest", dest, PROBE_REQUIREMENT,
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                command,
                env=pip_env(),
                capture_output=True,
                text=True,
                timeout=PROBE_TIMEOUT_S * 4,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"no package index answered within {PROBE_TIMEOUT_S * 4} s"
        if proc.returncode == 0 and any(Path(dest).iterdir()):
            return None
    last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return f"no package index reachable (pip download {PROBE_REQUIREMENT}: {last[:200]})"
