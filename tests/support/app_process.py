"""The web app as a separate process (``uvicorn webhook.main:app`` on 127.0.0.1), like one
Lambda container: several of them sharing one store is how "once-only across containers" is
tested (tests/test_store_e2e.py) and measured (``make loadtest``)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class AppProcess:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def app_environment(**variables: str) -> dict[str, str]:
    """The test process's environment, without a .env, plus ``variables``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BREEDBOT_ENV_FILE": ""}
    env.update(variables)
    return env


@contextlib.contextmanager
def app_processes(
    count: int, env: dict[str, str], log_dir: Path, *, timeout: float = 60.0
) -> Iterator[list[AppProcess]]:
    """Start ``count`` app processes with ``env`` and wait until each answers /healthz."""
    apps: list[AppProcess] = []
    try:
        for index in range(count):
            port = free_port()
            log_path = log_dir / f"app-{index}.log"
            with open(log_path, "wb") as log:
                process = subprocess.Popen(
                    [sys.executable, "-m", "uvicorn", "webhook.main:app", "--host",
                     "127.0.0.1", "--port", str(port), "--log-level", "warning",
                     "--no-access-log", "--backlog", "2048"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
            apps.append(AppProcess(process, port, log_path))
        deadline = time.monotonic() + timeout
        for app in apps:
            while True:
                with contextlib.suppress(httpx.TransportError):
                    if httpx.get(f"{app.url}/healthz", timeout=5).status_code:
                        break
                if app.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the app did not start:\n{app.log()[-2000:]}")
                time.sleep(0.1)
        yield apps
    finally:
        for app in apps:
            if app.process.poll() is None:
                app.process.send_signal(signal.SIGINT)
        for app in apps:
            try:
                app.process.wait(20)
            except subprocess.TimeoutExpired:
                app.process.kill()
