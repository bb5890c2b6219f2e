"""Shared fixtures. Bot tests: ``bot_api`` (the Bot API double) and ``polling_bot`` (the real
bot, polling the double over HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.bot_api_double import BotApiDouble

PHOTOS = Path(__file__).parent / "fixtures" / "photos"


@pytest.fixture
def photo() -> PhotoLoader:
    """``photo("dog_beagle")`` -> the bytes of tests/fixtures/photos/dog_beagle.jpg."""
    return PhotoLoader()


class PhotoLoader:
    def __call__(self, name: str) -> bytes:
        return (PHOTOS / f"{name}.jpg").read_bytes()


@pytest.fixture
def bot_api() -> Iterator[BotApiDouble]:
    """A fresh Bot API double on 127.0.0.1 (random port), stopped after the test."""
    with BotApiDouble() as double:
        yield double


@pytest.fixture
def bot_settings(bot_api: BotApiDouble):  # -> bot.config.BotSettings
    """Bot settings aimed at the double, with short delays so retry tests stay fast."""
    from bot.config import BotSettings

    return BotSettings(
        token=bot_api.token,
        api_base_url=bot_api.base_url,
        retry_attempts=3,
        retry_backoff_seconds=0.05,
        retry_backoff_max_seconds=0.2,
        max_retry_after_seconds=2,
        connect_timeout=2,
        read_timeout=2,
        write_timeout=2,
        pool_timeout=2,
        poll_timeout=1,
        concurrent_updates=8,
        _env_file=None,
    )


class PollingBot:
    """The real bot in polling mode (``bot.polling.run_polling``), driven by a test."""

    def __init__(self, app, task: asyncio.Task[None], stop_event: asyncio.Event) -> None:
        self.app = app
        self.task = task
        self._stop_event = stop_event

    async def stop(self) -> None:
        """Stop polling and wait until every update in progress is finished."""
        self._stop_event.set()
        await asyncio.wait_for(asyncio.shield(self.task), timeout=20)


@pytest.fixture
async def polling_bot(bot_api: BotApiDouble, bot_settings) -> AsyncIterator[PollingBot]:
    from bot.application import build_application
    from bot.polling import run_polling

    app = build_application(bot_settings)
    stop_event, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_polling(app, stop_event, ready=ready))
    ready_wait = asyncio.ensure_future(ready.wait())
    await asyncio.wait({task, ready_wait}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready_wait.cancel()
        task.result()  # raise why it failed to start
    assert ready.is_set(), "the bot did not start polling"
    driver = PollingBot(app, task, stop_event)
    try:
        yield driver
    finally:
        stop_event.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=20)
