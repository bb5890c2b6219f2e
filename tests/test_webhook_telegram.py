"""``POST /telegram/webhook`` through the Lambda handler, reaching the Bot API double.

The handler is ``webhook.main.handler`` itself (Mangum, lifespan off) and every test module
call runs on one persistent event loop, as in a warm Lambda container: the ptb Application and
its HTTP client are built on the first update and reused by the next ones.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import updates as U
from tests.support.bot_api_double import BotApiDouble
from tests.support.lambda_events import (
    FakeLambdaContext,
    LambdaResult,
    read_result,
    telegram_webhook_event,
)

SECRET = "s3cret_for-tests_" + "x" * 20
_update_ids = itertools.count(random.randrange(10**6, 10**8))


def next_update_id() -> int:
    return next(_update_ids)


@dataclass
class Container:
    """One simulated Lambda container: the production handler on one persistent loop."""

    api: BotApiDouble
    loop: asyncio.AbstractEventLoop

    def deliver(self, update, *, secret: str | None = SECRET, source="function_url"):
        from webhook.main import handler

        event = telegram_webhook_event(update, secret=secret, source=source)
        return read_result(handler(event, FakeLambdaContext()))

    def text_update(self, text: str) -> dict:
        return {"update_id": next_update_id(), **U.update(U.text_message(text))}

    def photo_update(self, photo: bytes, prefix: str) -> dict:
        sizes, files = U.photo_sizes(photo, prefix)
        for file_id, data in files.items():
            self.api.add_file(file_id, data)
        return {"update_id": next_update_id(), **U.update(U.photo_message(sizes))}


def _fresh_process_state() -> None:
    from webhook.config import get_settings
    from webhook.telegram_app import runtime

    get_settings.cache_clear()
    runtime.forget()


@pytest.fixture
def container(bot_api: BotApiDouble, monkeypatch, tmp_path) -> Iterator[Container]:
    monkeypatch.chdir(tmp_path)  # no developer .env leaks in
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", bot_api.token)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", bot_api.base_url)
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("BOT_RETRY_BACKOFF_SECONDS", "0.05")
    _fresh_process_state()
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        yield Container(bot_api, loop)
    finally:
        from webhook.telegram_app import runtime

        if not loop.is_closed():
            loop.run_until_complete(runtime.shutdown())
            loop.close()
        asyncio.set_event_loop(None)
        _fresh_process_state()


def assert_ok(result: LambdaResult) -> dict:
    assert result.status == 200, result.text
    body = result.json()
    assert "method" not in body  # Telegram would run it as a Bot API call
    return body


# --- warm invocations reaching the double ---


def test_warm_invocations_reuse_one_application(container, photo):
    from webhook.telegram_app import runtime

    api = container.api
    built = runtime.initialisations
    assert_ok(container.deliver(container.text_update("/start")))
    assert_ok(container.deliver(container.photo_update(photo("dog_beagle"), "beagle")))
    assert_ok(container.deliver(container.photo_update(photo("dog_pug"), "pug"), source="http_api"))
    assert_ok(container.deliver(container.photo_update(photo("nonpet_food"), "food")))

    texts = api.sent_texts
    assert len(texts) == 4, texts
    assert "Beagle" in texts[1] and "Pug" in texts[2]
    assert "don't see a cat or a dog" in texts[3]
    # One Application and one getMe for the whole container; its loop is still usable.
    assert len(api.calls("getMe")) == 1
    assert runtime.initialisations == built + 1 and runtime.ready
    assert not container.loop.is_closed()
    # Replies went to the right chat, and the photo was downloaded from the double.
    assert {m["chat_id"] for m in api.sent_messages} == {U.PRIVATE_CHAT["id"]}
    assert any("beagle" in path for path in api.downloaded_paths)


def test_a_new_event_loop_gets_a_new_application_not_a_closed_client(container):
    """ptb #4706: a client opened on a closed loop must not be reused."""
    from webhook.telegram_app import runtime

    built = runtime.initialisations
    assert_ok(container.deliver(container.text_update("/help")))
    container.loop.run_until_complete(asyncio.sleep(0))
    container.loop.close()
    new_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(new_loop)
    container.loop = new_loop
    assert_ok(container.deliver(container.text_update("/help")))
    assert runtime.initialisations == built + 2
    assert len(container.api.sent_texts) == 2


# --- the secret ---


@pytest.mark.parametrize("secret", [None, "", "wrong", SECRET[:-1], SECRET + "x", SECRET.upper()])
def test_wrong_or_missing_secret_is_403_and_reaches_nothing(container, secret, caplog):
    caplog.set_level(logging.WARNING, logger="webhook")
    result = container.deliver(container.text_update("/start"), secret=secret)
    assert result.status == 403
    assert container.api.requests == []
    assert SECRET not in caplog.text


def test_no_configured_secret_is_503_and_the_log_says_why(container, monkeypatch, caplog):
    from webhook.config import get_settings

    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    caplog.set_level(logging.ERROR, logger="webhook")
    result = container.deliver(container.text_update("/start"), secret="anything")
    assert result.status == 503
    assert "TELEGRAM_WEBHOOK_SECRET is not set" in caplog.text
    assert container.api.requests == []


def test_an_invalid_configured_secret_is_503(container, monkeypatch, caplog):
    from webhook.config import get_settings

    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "has spaces and ünicode")
    get_settings.cache_clear()
    caplog.set_level(logging.ERROR, logger="webhook")
    result = container.deliver(container.text_update("/x"), secret="has spaces and ünicode")
    assert result.status == 503
    assert "A-Z, a-z, 0-9, _ and -" in caplog.text
    assert "ünicode" not in caplog.text


def test_no_token_is_503_and_the_log_says_why(container, monkeypatch, caplog):
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    caplog.set_level(logging.ERROR, logger="webhook")
    result = container.deliver(container.text_update("/start"))
    assert result.status == 503
    assert "TELEGRAM_BOT_TOKEN is not set" in caplog.text
    assert container.api.requests == []


# --- duplicates, ignored updates, bad input ---


def test_a_redelivered_update_is_acknowledged_without_a_second_reply(container, photo):
    update = container.photo_update(photo("dog_pug"), "dup")
    first = assert_ok(container.deliver(update))
    second = assert_ok(container.deliver(update))
    third = assert_ok(container.deliver(update, source="http_api"))
    assert "duplicate" not in first and second["duplicate"] and third["duplicate"]
    assert len(container.api.sent_messages) == 1
    assert len(container.api.downloaded_paths) == 1


def test_the_in_memory_fallback_for_claims_is_bounded():
    """While the store is down, claims live in memory: bounded, oldest first out."""
    from bot.store import ClaimOutcome
    from bot.store.memory import MemoryBackend

    memory = MemoryBackend(max_updates=3)
    for update_id in range(5):
        assert memory.claim_update(str(update_id), "a", 0, 100) is ClaimOutcome.CLAIMED
        memory.finish_update(str(update_id), "a", 1000)
    assert memory.claim_update("0", "b", 1, 101) is ClaimOutcome.CLAIMED  # forgotten
    assert memory.claim_update("4", "b", 1, 101) is ClaimOutcome.DONE  # still remembered
    assert memory.claim_update("0", "c", 1, 101) is ClaimOutcome.BUSY  # in flight
    memory.release_update("0", "b")
    assert memory.claim_update("0", "c", 1, 101) is ClaimOutcome.CLAIMED


@pytest.mark.parametrize(
    "payload",
    [
        {
            "channel_post": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": -1001, "type": "channel"},
                "text": "hi",
            }
        },
        {"edited_message": U.text_message("/start")},
        {"callback_query": {"id": "1", "from": U.USER, "chat_instance": "c", "data": "d"}},
        {"inline_query": {"id": "2", "from": U.USER, "query": "beagle", "offset": ""}},
        {
            "my_chat_member": {
                "chat": U.PRIVATE_CHAT,
                "from": U.USER,
                "date": 0,
                "old_chat_member": {"status": "member", "user": U.USER},
                "new_chat_member": {"status": "kicked", "user": U.USER, "until_date": 0},
            }
        },
        {"a_future_update_type": {"whatever": True}},
        {},
    ],
    ids=[
        "channel_post",
        "edited_message",
        "callback_query",
        "inline_query",
        "my_chat_member",
        "unknown-type",
        "empty",
    ],
)
def test_ignored_update_types_get_200_and_no_reply(container, payload):
    result = container.deliver({"update_id": next_update_id(), **payload})
    assert_ok(result)
    assert container.api.sent_messages == []


def test_bad_user_input_gets_200_and_the_bot_explains(container):
    file_id = "pdf-1"
    container.api.add_file(file_id, b"%PDF-1.7\n" + b"0" * 2000, file_path="docs/x.pdf")
    msg = U.document_message(
        file_id, file_size=2009, mime_type="application/pdf", file_name="x.pdf"
    )
    result = container.deliver({"update_id": next_update_id(), **U.update(msg)})
    assert_ok(result)
    assert len(container.api.sent_messages) == 1  # the user is told, Telegram is not


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"", 400),
        (b"\xff\xfe\x00garbage", 400),
        (b"[1, 2, 3]", 422),
        (b'"just a string"', 422),
        (b'{"message": {}}', 422),
        (b'{"update_id": "12"}', 422),
        (b'{"update_id": true}', 422),
    ],
)
def test_malformed_requests_are_4xx(container, body, status):
    result = container.deliver(body)
    assert result.status == status, result.text
    assert container.api.sent_messages == []


def test_an_update_ptb_cannot_parse_is_422(container):
    result = container.deliver({"update_id": next_update_id(), "message": "not an object"})
    assert result.status == 422
    assert container.api.sent_messages == []


def test_oversized_body_is_413(container):
    from webhook.config import get_settings

    filler = "x" * (get_settings().webhook_max_body_bytes + 1)
    update = {"update_id": next_update_id(), **U.update(U.text_message(filler))}
    result = container.deliver(update)
    assert result.status == 413
    assert container.api.requests == []


def test_bot_api_down_at_cold_start_is_503_then_the_redelivery_works(container):
    from webhook.telegram_app import runtime

    container.api.fail_next("getMe", 500, times=20)
    update = container.text_update("/start")
    assert container.deliver(update).status == 503
    assert not runtime.ready
    container.api.reset()
    assert_ok(container.deliver(update))  # not remembered as processed: handled now
    assert len(container.api.sent_messages) == 1


def test_the_route_is_in_openapi_without_the_secret_header(container):
    from webhook.main import app

    operation = app.openapi()["paths"]["/telegram/webhook"]["post"]
    names = {p["name"].lower() for p in operation.get("parameters", [])}
    assert "x-telegram-bot-api-secret-token" not in names


def test_without_any_telegram_configuration_the_log_names_both(container, monkeypatch, caplog):
    """`make run` with no token and no secret: the form works, the webhook says why it won't."""
    from webhook.config import get_settings

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    caplog.set_level(logging.WARNING, logger="webhook")
    from webhook.main import log_webhook_status

    log_webhook_status(get_settings())
    assert "Telegram webhook disabled" in caplog.text
    result = container.deliver(container.text_update("/start"), secret=None)
    assert result.status == 503
    refused = [r.getMessage() for r in caplog.records if "webhook refused" in r.getMessage()]
    assert refused and "TELEGRAM_WEBHOOK_SECRET is not set" in refused[-1]
    assert "TELEGRAM_BOT_TOKEN is not set" in refused[-1]
