"""``make check-fresh``: a newcomer's first minutes on a fresh clone, for real.

A fresh clone once broke for good when ``make run`` and ``make test`` were started at the same
moment (two pip processes in one venv). This check repeats that and more, on the committed HEAD:

1. ``git clone`` of this repository into a temp dir (commit first: the working tree's changes
   are not in the clone), with a half-built ``.venv`` (a bare ``python -m venv``, no stamp, as an
   interrupted install leaves it);
2. ``make run`` (on a free port) and ``make test`` started at the same moment;
3. both must succeed: ``/healthz`` answers ``ok`` (the form's page too), ``make test`` exits 0;
   one of them must have rebuilt the half-built venv and the other waited for it.

It prints how long each took and how large ``.venv`` became, the figures the README's quick start
quotes. ``make test`` is the whole suite, as a newcomer runs it (without ``../shared`` beside the
clone and without the train extra, so the training tests skip, saying why); ``--tests ARGS``
passes pytest arguments instead (``TEST_ARGS``), e.g. ``--tests "-q tests/test_webhook_http.py"``.

Standard library only (it runs before any venv exists); needs git and make.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TESTS = ""  # the whole suite
HALF_BUILT = "half-built"
WAITED = "waiting for it"


@dataclass
class Target:
    """One ``make`` process of the check, its output in a log file."""

    name: str
    command: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    done_after: float | None = None  # seconds from the start until it succeeded
    notes: list[str] = field(default_factory=list)

    def start(self, cwd: Path, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def clean_env() -> dict[str, str]:
    """This process's environment minus what would point make at another venv or checkout."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "VIRTUAL_ENV", "MAKEFLAGS", "MFLAGS", "MAKELEVEL"):
        env.pop(name, None)
    return env


def du_mb(path: Path) -> float:
    total = sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return total / 1e6


def check(args: argparse.Namespace) -> int:
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.strip()  # fmt: skip
    if dirty:
        print(f"check-fresh: note: uncommitted changes are not checked (clone of {head})")
    workdir = Path(tempfile.mkdtemp(prefix="breedbot-fresh-"))
    clone = workdir / "breed-bot"
    try:
        subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
        if not args.no_half_built:
            subprocess.run([args.python, "-m", "venv", str(clone / ".venv")], check=True)
        port = free_port()
        env = clean_env()
        run = Target(
            "make run", ["make", "run", f"PORT={port}", f"PYTHON={args.python}"],
            workdir / "run.log",
        )  # fmt: skip
        test = Target(
            "make test", ["make", "test", f"TEST_ARGS={args.tests}", f"PYTHON={args.python}"],
            workdir / "test.log",
        )  # fmt: skip
        print(f"check-fresh: clone of {head} in {clone}; starting make run and make test")
        started = time.monotonic()
        run.start(clone, env)
        test.start(clone, env)
        ok = wait_for_both(run, test, port, started + args.timeout)
        run.stop()
        test.stop()
        return report(run, test, clone, ok, args)
    finally:
        if args.keep:
            print(f"check-fresh: kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def wait_for_both(run: Target, test: Target, port: int, deadline: float) -> bool:
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        if run.done_after is None:
            status, body = get(f"{base}/healthz")
            if status == 200 and json.loads(body).get("status") == "ok":
                form_status, page = get(f"{base}/breed-classifier")
                if form_status == 200 and b"<form" in page:
                    run.done_after = time.monotonic() - run.started
                    run.notes.append("/healthz ok, the form page served")
            elif run.proc is not None and run.proc.poll() is not None:
                run.notes.append(f"exited {run.proc.returncode} before /healthz answered")
                return False
        if test.done_after is None and test.proc is not None and test.proc.poll() is not None:
            if test.proc.returncode != 0:
                test.notes.append(f"exited {test.proc.returncode}")
                return False
            test.done_after = time.monotonic() - test.started
        if run.done_after is not None and test.done_after is not None:
            return True
        time.sleep(0.5)
    for target in (run, test):
        if target.done_after is None:
            target.notes.append("did not finish in time")
    return False


def report(run: Target, test: Target, clone: Path, ok: bool, args: argparse.Namespace) -> int:
    outputs = run.output() + test.output()
    if ok and not args.no_half_built and HALF_BUILT not in outputs:
        ok = False
        print("check-fresh: BAD: nobody rebuilt the half-built .venv")
    if ok and WAITED not in outputs:
        ok = False
        print("check-fresh: BAD: the two targets did not take turns (no one waited)")
    venv = clone / ".venv"
    size = du_mb(venv) if venv.is_dir() else 0.0
    if not ok:
        for target in (run, test):
            print(f"\n--- {target.name} ({'; '.join(target.notes) or 'no result'}), last lines:")
            print("\n".join(target.output().splitlines()[-40:]))
        print("\ncheck-fresh: FAILED")
        return 1
    tail = [line for line in test.output().splitlines() if " passed" in line or "skipped" in line]
    print(
        f"check-fresh: ok: make run served /healthz {run.done_after:.0f} s and make test passed "
        f"{test.done_after:.0f} s after both started on a fresh clone with a half-built .venv; "
        f".venv {size:.0f} MB"
    )
    if tail:
        print(f"check-fresh: make test: {tail[-1].strip(' =')}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="tools/check_fresh.py", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--tests", default=DEFAULT_TESTS, help="TEST_ARGS for make test (all)")
    parser.add_argument("--python", default="python3", help="PYTHON for make (default python3)")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds for both (1800)")
    parser.add_argument("--keep", action="store_true", help="keep the temp clone and logs")
    parser.add_argument(
        "--no-half-built", action="store_true", help="start without the half-built .venv"
    )
    return check(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
