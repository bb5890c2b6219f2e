"""Shared fixtures. Bot tests: ``bot_api`` (the Bot API double) and ``polling_bot`` (the real
bot, polling the double over HTTP)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.support.bot_api_double import BotApiDouble
from tests.support.dynamodb_local import AWS_ENV, DynamoDBServer, dynamodb_server
from tests.support.extras import missing_train_modules, train_extra_reason
from tests.support.secret_watch import SecretWatch

PHOTOS = Path(__file__).parent / "fixtures" / "photos"
_secret_watch = SecretWatch()


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Tests marked ``train`` skip, naming ``make install-train``, without the train extra
    (``make install`` and ``make test`` leave it out: 3.5 GB that serving never uses)."""
    if item.get_closest_marker("train") is not None and (missing := missing_train_modules()):
        pytest.skip(train_extra_reason(missing))


@pytest.fixture(scope="session", autouse=True)
def _watch_logs_for_secrets() -> Iterator[SecretWatch]:
    """Every log record of the whole suite, at every level, passes through a handler that
    looks for bot tokens and webhook secrets (tests.support.secret_watch)."""
    root = logging.getLogger()
    previous = root.level
    root.addHandler(_secret_watch)
    root.setLevel(logging.DEBUG)
    try:
        yield _secret_watch
    finally:
        root.removeHandler(_secret_watch)
        root.setLevel(previous)
        _secret_watch.assert_no_leaks_in_session()


@pytest.fixture(autouse=True)
def _no_secret_in_this_tests_logs(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[None]:
    """Fail the test whose log output showed a secret; keep polling state per test."""
    # The polling bot remembers answered update_ids in a file; the double reuses ids per test.
    monkeypatch.setenv("BOT_STATE_DIR", str(tmp_path_factory.mktemp("bot-state")))
    _secret_watch.begin(request.node.nodeid)
    yield
    leaks = _secret_watch.end()
    if leaks:
        pytest.fail("a secret appeared in the log output:\n" + "\n".join(leaks), pytrace=False)


@pytest.fixture(scope="session")
def dynamodb() -> Iterator[DynamoDBServer]:
    """A DynamoDB-compatible server (moto) on 127.0.0.1 for the whole session, with fake AWS
    credentials in the environment so boto3 never looks for real ones."""
    with pytest.MonkeyPatch.context() as env:
        for name, value in AWS_ENV.items():
            env.setenv(name, value)
        with dynamodb_server() as server:
            yield server


@pytest.fixture(scope="module")
def handler() -> Iterator[object]:
    """The production Lambda handler, on one persistent event loop like a Lambda container."""
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    from webhook.main import handler

    yield handler
    asyncio.set_event_loop(None)
    loop.close()


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
def bot_settings(bot_api: BotApiDouble, tmp_path: Path):  # -> bot.config.BotSettings
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
        state_dir=str(tmp_path / "state"),
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


async def start_polling_bot(settings, *, application=None) -> PollingBot:
    """Start the real bot polling (``bot.polling.run_polling``) with ``settings``; returns once
    it polls. ``stop()`` it (or let the ``polling_bot`` fixture do it)."""
    from bot.application import build_application
    from bot.polling import run_polling

    app = application or build_application(settings)
    stop_event, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_polling(app, stop_event, ready=ready))
    ready_wait = asyncio.ensure_future(ready.wait())
    await asyncio.wait({task, ready_wait}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready_wait.cancel()
        task.result()  # raise why it failed to start
    assert ready.is_set(), "the bot did not start polling"
    return PollingBot(app, task, stop_event)


@pytest.fixture
async def polling_bot(bot_api: BotApiDouble, bot_settings) -> AsyncIterator[PollingBot]:
    driver = await start_polling_bot(bot_settings)
    try:
        yield driver
    finally:
        driver._stop_event.set()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(driver.task, timeout=20)
