"""Create or update the project's virtual environment (``.venv``) for ``make``, safely.

Every ``make`` target that runs Python needs ``.venv``, and on a fresh clone several of them
(``make run`` in one terminal, ``make test`` in another) may create it at the same moment. Two
pip processes writing one venv broke it for good (pip itself half-upgraded, every later run
failing), so this script, which the Makefile runs before each such target:

- lets one process at a time touch the venv: an exclusive ``flock`` on ``.venv.lock`` beside it;
  the others wait, then find the work done;
- calls a venv complete only when its stamp (``.venv/.breedbot-stamp.json``) exists, and writes
  the stamp last: a ``.venv`` without one (interrupted, killed, half-built) is deleted and built
  again, never reused;
- records in the stamp which sets are installed and a hash of the pins (the dependency tables of
  ``pyproject.toml`` and ``requirements.txt``); a changed pin updates the venv in place, with the
  stamp removed first, so that an interrupted update is rebuilt too.

Sets: ``ensure`` installs the runtime set (``requirements.txt``) and the ``dev`` extra (about
200 MB, what ``make run`` and ``make test`` need); ``ensure --train`` adds the ``train`` extra
(TensorFlow, torch; about 3.5 GB). torch comes first, from a wheel pip already finds locally (a
``find-links`` wheelhouse in pip's configuration) when there is one, else from ``--torch-index``
(the Makefile passes PyTorch's CPU-only index on Linux, where PyPI's torch is the CUDA build with
several GB of NVIDIA libraries), else from PyPI.

Standard library only: it runs on the interpreter that creates the venv (``make PYTHON=...``).
POSIX only (``fcntl``), like the Makefile.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11: say so instead of a traceback
    raise SystemExit("venv: Python >= 3.11 is needed; e.g. make PYTHON=python3.12") from None

ROOT = Path(__file__).resolve().parent.parent
STAMP_NAME = ".breedbot-stamp.json"
STAMP_VERSION = 1
# The stamp of the Makefile before this script: also written last, after a full install of the
# runtime, dev and train sets. Such a venv is updated in place, not thrown away.
LEGACY_STAMP_NAME = ".installed"


def log(message: str) -> None:
    print(f"venv: {message}", file=sys.stderr, flush=True)


def pins_hash(root: Path = ROOT) -> str:
    """A hash of what decides the installed packages: requirements.txt (comments and blank lines
    left out) and pyproject.toml's build system, dependencies and extras (not its tool settings,
    so a ruff or pytest tweak does not reinstall anything)."""
    project = tomllib.loads((root / "pyproject.toml").read_text())
    relevant = {
        "build-system": project.get("build-system", {}),
        "dependencies": project.get("project", {}).get("dependencies", []),
        "optional-dependencies": project.get("project", {}).get("optional-dependencies", {}),
        "requirements": [
            line.strip()
            for line in (root / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#")
        ],
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()


def torch_requirement(root: Path = ROOT) -> str:
    """The ``torch`` pin of the ``train`` extra, e.g. ``torch==2.13.0``."""
    project = tomllib.loads((root / "pyproject.toml").read_text())
    for requirement in project["project"]["optional-dependencies"]["train"]:
        name = requirement.split(";")[0].strip()
        if name.lower().startswith("torch") and name[5:6] in "=<>!~ ":
            return name
    raise SystemExit("venv: pyproject.toml's train extra has no torch pin")


def read_stamp(venv: Path) -> dict[str, object] | None:
    """The stamp of a complete venv, or None (no venv, no stamp, unreadable stamp)."""
    try:
        stamp = json.loads((venv / STAMP_NAME).read_text())
    except (OSError, ValueError):
        if (venv / LEGACY_STAMP_NAME).is_file():
            return {"version": STAMP_VERSION, "sets": ["dev", "train"], "pins": None}
        return None
    return stamp if isinstance(stamp, dict) and stamp.get("version") == STAMP_VERSION else None


def remove_stamp(venv: Path) -> None:
    for name in (STAMP_NAME, LEGACY_STAMP_NAME):
        (venv / name).unlink(missing_ok=True)


def write_stamp(venv: Path, sets: Sequence[str], pins: str) -> None:
    stamp = {"version": STAMP_VERSION, "sets": sorted(sets), "pins": pins, "at": time.time()}
    tmp = venv / f"{STAMP_NAME}.tmp"
    tmp.write_text(json.dumps(stamp, indent=2) + "\n")
    tmp.replace(venv / STAMP_NAME)  # atomic: a reader sees no stamp or a whole one


def is_up_to_date(stamp: dict[str, object] | None, sets: Sequence[str], pins: str) -> bool:
    if stamp is None or stamp.get("pins") != pins:
        return False
    installed = stamp.get("sets")
    return isinstance(installed, list) and set(sets) <= set(installed)


@contextlib.contextmanager
def locked(venv: Path) -> Iterator[None]:
    """Hold the venv's lock (``<venv>.lock``, beside it, so removing the venv keeps it)."""
    lock_path = venv.with_name(venv.name + ".lock")
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"another process is installing {venv.name}; waiting for it")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(command: Sequence[str], *, check: bool = True, quiet: bool = False) -> bool:
    """Run a command in the project root; on failure exit (``check``) or return False."""
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)  # install into the venv, never beside it
    output = subprocess.DEVNULL if quiet else None
    proc = subprocess.run(command, cwd=ROOT, env=env, stdout=output, stderr=output, check=False)
    if proc.returncode != 0 and check:
        raise SystemExit(f"venv: failed ({proc.returncode}): {' '.join(command)}")
    return proc.returncode == 0


def install_torch(pip: list[str], requirement: str, torch_index: str) -> None:
    """torch before anything else can pull in a CUDA build: a local wheel, else the index."""
    if run([*pip, "--no-index", "--no-deps", requirement], check=False, quiet=True):
        log(f"{requirement}: already installed, or a wheel found locally (pip's find-links)")
        return
    if torch_index:
        log(f"{requirement}: from {torch_index}")
        run([*pip, "--index-url", torch_index, requirement])
    else:
        log(f"{requirement}: from the default index")
        run([*pip, requirement])


def build(venv: Path, python: str, sets: Sequence[str], torch_index: str) -> None:
    """Install ``sets`` into ``venv`` (created when missing); the caller holds the lock."""
    py = venv / "bin" / "python"
    if not py.exists():
        log(f"creating {venv.name} with {python}")
        run([python, "-m", "venv", str(venv)])
        run([str(py), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    pip = [str(py), "-m", "pip", "install", "--quiet"]
    if "train" in sets:
        install_torch(pip, torch_requirement(), torch_index)
    extras = ",".join(sorted(sets))
    # One resolver run for the exact runtime pins and the extras: torch's own dependencies
    # (installed --no-deps above) come with them.
    log(f"installing requirements.txt (the runtime set) and the project, editable, [{extras}]")
    run([*pip, "-r", "requirements.txt", "-e", f".[{extras}]"])


def ensure(venv: Path, python: str, *, train: bool, torch_index: str) -> None:
    sets = ["dev", "train"] if train else ["dev"]
    pins = pins_hash()
    if is_up_to_date(read_stamp(venv), sets, pins):
        return  # the common case: no lock needed to see a complete venv
    with locked(venv):
        stamp = read_stamp(venv)  # another process may have finished while we waited
        if is_up_to_date(stamp, sets, pins):
            return
        if venv.exists() and stamp is None:
            log(f"{venv.name} is half-built (no stamp: an install was interrupted); rebuilding")
            shutil.rmtree(venv)
        elif stamp is not None:
            # Keep the sets it has, update for the new pins; no stamp until that has worked.
            sets = sorted(set(sets) | set(stamp.get("sets") or []))  # type: ignore[arg-type]
            log(f"updating {venv.name} for changed pins or sets")
            remove_stamp(venv)
        started = time.monotonic()
        build(venv, python, sets, torch_index)
        write_stamp(venv, sets, pins)
        log(f"{venv.name} ready with [{','.join(sets)}] in {time.monotonic() - started:.0f} s")


def clean(venv: Path) -> None:
    with locked(venv):
        if venv.exists():
            shutil.rmtree(venv)
            log(f"removed {venv.name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/venv.py", description=__doc__.split("\n")[0])
    parser.add_argument("--venv", default=".venv", help="venv folder (default .venv)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for a new venv")
    commands = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = commands.add_parser("ensure", help="create or update the venv")
    ensure_cmd.add_argument("--train", action="store_true", help="add the train extra")
    ensure_cmd.add_argument("--torch-index", default="", help="index for torch (empty: PyPI)")
    commands.add_parser("clean", help="remove the venv")
    args = parser.parse_args(argv)
    venv = (ROOT / args.venv).resolve()
    if args.command == "clean":
        clean(venv)
    else:
        ensure(venv, args.python, train=args.train, torch_index=args.torch_index)
    return 0


if __name__ == "__main__":
    sys.exit(main())
