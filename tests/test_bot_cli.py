"""``python -m bot``: a real process polling the Bot API double; Ctrl-C stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def start_bot(bot_api, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": bot_api.token,
        "TELEGRAM_API_BASE_URL": bot_api.base_url,
        "BOT_POLL_TIMEOUT": "1",
        "PYTHONPATH": str(ROOT),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=tmp_path,  # no .env there
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_ctrl_c_stops_polling_cleanly(bot_api, tmp_path: Path) -> None:
    process = start_bot(bot_api, tmp_path)
    try:
        assert bot_api.wait_until(lambda: bool(bot_api.calls("getUpdates")), timeout=30)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Stopped" in output
    assert bot_api.token not in output and bot_api.token.split(":")[1] not in output
    assert "getUpdates" not in output  # httpx request lines are quiet


@pytest.mark.parametrize(("force", "code"), [(False, 3), (True, None)])
def test_webhook_set_refused_unless_forced(bot_api, tmp_path: Path, force, code) -> None:
    bot_api.webhook_url = "https://example.com/hook"
    process = start_bot(bot_api, tmp_path, *(["--force"] if force else []))
    try:
        if code is not None:
            output, _ = process.communicate(timeout=30)
            assert process.returncode == code
            assert "--force" in output
            assert bot_api.webhook_url and not bot_api.calls("deleteWebhook")
        else:
            assert bot_api.wait_until(lambda: bool(bot_api.calls("getUpdates")), timeout=30)
            assert bot_api.webhook_url == ""
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=20)
            assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_missing_token_exits_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN is not set" in result.stdout + result.stderr
    assert time.monotonic() - started < 30
