"""The store end to end through the web app: once-only replies across *processes* (each app
process stands for a Lambda container), and a store that is down or hangs never stops an
answer.

1. Two real app processes (uvicorn) share one store, SQLite file or DynamoDB (a real
   DynamoDB-compatible server on loopback); the same update delivered to both at once is
   answered exactly once. A delivery that finds the update in progress elsewhere gets 409 and,
   retried like Telegram retries, 200 "duplicate".
2. The Lambda handler with a store that refuses connections, or accepts and never answers:
   photos are answered (without feedback buttons), duplicates are still caught in memory, a
   button press gets "try later", and the log says so once.
3. ``/healthz`` reports the store, and a bad setting (``BREEDBOT_THREADS=two``) as 503 with the
   variable's name.
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.support import updates as u
from tests.support.app_process import app_environment, app_processes
from tests.support.bot_api_double import BotApiDouble
from tests.support.dynamodb_local import AWS_ENV, refusing_endpoint, silent_server
from tests.support.lambda_events import http_event, telegram_webhook_event
from tests.support.warm_lambda import warm_lambda

SECRET = "store_e2e_secret-" + "S" * 20
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
_ids = itertools.count(50_000)
_users = itertools.count(90_000)


def photo_update(api: BotApiDouble, data: bytes, prefix: str) -> dict:
    sizes, files = u.photo_sizes(data, prefix, long_sides=(320, 800))
    for file_id, content in files.items():
        api.add_file(file_id, content)
    user_id = next(_users)  # one user per photo: rate limits are not what this tests
    user = {"id": user_id, "is_bot": False, "first_name": "P"}
    chat = {"id": user_id, "type": "private", "first_name": "P"}
    return {"update_id": next(_ids), **u.update(u.photo_message(sizes, user=user, chat=chat))}


def deliver_like_telegram(url: str, update: dict, *, attempts: int = 20) -> list[int]:
    """POST until a 2xx, waiting between tries as Telegram does; the statuses seen."""
    statuses = []
    for _ in range(attempts):
        response = httpx.post(f"{url}/telegram/webhook", json=update, headers=HEADERS, timeout=60)
        statuses.append(response.status_code)
        if response.is_success:
            break
        time.sleep(0.3)
    return statuses


def answers_to(api: BotApiDouble, update: dict) -> int:
    message_id = update["message"]["message_id"]
    chat_id = update["message"]["chat"]["id"]
    return sum(
        1
        for m in api.sent_messages
        if m["reply_parameters"]["message_id"] == message_id and int(m["chat_id"]) == chat_id
    )


@pytest.fixture(params=["sqlite", "dynamodb"])
def shared_store(request, tmp_path) -> Iterator[dict[str, str]]:
    """The environment that points app processes at one shared store."""
    if request.param == "sqlite":
        yield {"BREEDBOT_STORE": f"sqlite:///{tmp_path / 'shared.sqlite3'}"}
    else:
        server = request.getfixturevalue("dynamodb")
        yield {**AWS_ENV, "BREEDBOT_STORE": server.store_url(server.create_table())}


def test_the_same_update_at_once_to_two_processes_is_answered_once(
    shared_store, tmp_path, photo
) -> None:
    with BotApiDouble() as api:
        env = app_environment(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            BOT_STATE_DIR=str(tmp_path / "unused-state"),
            **shared_store,
        )
        with app_processes(2, env, tmp_path) as apps:
            pictures = [photo("dog_beagle"), photo("cat_persian"), photo("dog_pug")]
            updates = [photo_update(api, pictures[i % 3], f"twice-{i}") for i in range(4)]
            with ThreadPoolExecutor(8) as pool:
                statuses = list(
                    pool.map(
                        lambda job: deliver_like_telegram(*job),
                        [(app.url, update) for update in updates for app in apps],
                    )
                )
            logs = "\n".join(app.log() for app in apps)
        final = [seen[-1] for seen in statuses]
        assert final == [200] * len(final), statuses
        assert {s for seen in statuses for s in seen} <= {200, 409}
        for update in updates:
            assert answers_to(api, update) == 1, update["update_id"]
        assert len(api.downloaded_paths) == len(updates)  # the loser did not even download
        assert "Traceback" not in logs and "Going on without it" not in logs


def _store_down_environment(endpoint: str) -> dict[str, str]:
    return {
        **AWS_ENV,
        "BREEDBOT_STORE": f"dynamodb://breedbot-down?region=eu-west-1&endpoint={endpoint}",
        "BREEDBOT_STORE_TIMEOUT_SECONDS": "0.5",
        "BOT_USER_HASH_KEY": "user-hash-key-for-tests_0123456789",  # watched in every log line
    }


@pytest.mark.parametrize("failure", ["refuses connections", "never answers"])
def test_a_store_that_is_down_never_stops_an_answer(failure, photo, caplog) -> None:
    caplog.set_level(logging.INFO)
    with (
        contextlib_for(failure) as endpoint,
        warm_lambda(SECRET, **_store_down_environment(endpoint)) as container,
    ):
        api = container.api
        update = photo_update(api, photo("dog_beagle"), "down")
        first = container(telegram_webhook_event(update, secret=SECRET))
        again = container(telegram_webhook_event(update, secret=SECRET))
        assert first.status == 200 and again.status == 200
        assert again.json()["duplicate"] is True  # still caught, in this process's memory
        [answer] = api.sent_messages
        assert "Beagle" in answer["text"] and "reply_markup" not in answer  # no buttons
        other = photo_update(api, photo("cat_siamese"), "down2")
        assert container(telegram_webhook_event(other, secret=SECRET)).status == 200
        assert len(api.sent_messages) == 2  # answered without the store, no rate limit

        # A button pressed while the store is down: a polite answer, nothing breaks.
        sent = api.messages[next(iter(api.messages))]
        press = api.press(
            sent["chat"]["id"],
            sent["message_id"],
            user=update["message"]["from"],
            data=f"fb1:AAAAAAAAAAA:{'0' * 8}:y",
        )
        assert (
            container(
                telegram_webhook_event({"update_id": next(_ids), **press}, secret=SECRET)
            ).status
            == 200
        )
        health = container(http_event("GET", "/healthz"))
        assert health.status == 200  # degraded, not unhealthy: the bot answers
        assert health.json()["store"]["reachable"] is False
    assert caplog.text.count("Going on without it") == 1
    assert len(api.callback_answers()) == 1


def contextlib_for(failure: str):
    import contextlib

    if failure == "never answers":
        return silent_server()
    return contextlib.nullcontext(refusing_endpoint())


def test_healthz_reports_a_reachable_store(tmp_path) -> None:
    with warm_lambda(SECRET, BREEDBOT_STORE=f"sqlite:///{tmp_path / 'h.sqlite3'}") as container:
        body = container(http_event("GET", "/healthz")).json()
    assert body["store"] == {"backend": "sqlite", "reachable": True, "error": None}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BREEDBOT_THREADS", "two"),
        ("BREEDBOT_STORE", "mysql://x"),
        ("BOT_RATE_LIMIT_PER_DAY", "lots"),
    ],
)
def test_a_bad_setting_is_a_503_from_healthz_that_names_it(variable, value) -> None:
    with warm_lambda(SECRET, **{variable: value}) as container:
        result = container(http_event("GET", "/healthz"))
        webhook = container(
            telegram_webhook_event(
                {"update_id": next(_ids), **u.update(u.text_message("/help"))}, secret=SECRET
            )
        )
    assert result.status == 503
    body = result.json()
    assert body["status"] == "error"
    assert any(problem.startswith(f"{variable}: ") for problem in body["settings_errors"])
    assert variable in body["error"] and value not in json.dumps(body)
    if variable == "BREEDBOT_THREADS":
        assert webhook.status == 200  # the bot still answers ("model not available")
    else:
        assert webhook.status == 503  # the bot cannot be built with it: Telegram retries


def test_the_app_module_imports_and_logs_the_bad_variable(tmp_path) -> None:
    """A cold start (the Lambda init) with a bad value: no crash, one clear line."""
    import subprocess
    import sys

    env = app_environment(BREEDBOT_THREADS="two", WEBHOOK_MAX_BODY_BYTES="big")
    done = subprocess.run(
        [sys.executable, "-c", "import webhook.main"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Invalid setting BREEDBOT_THREADS: Input should be a valid integer" in done.stderr
    assert "Invalid setting WEBHOOK_MAX_BODY_BYTES" in done.stderr
