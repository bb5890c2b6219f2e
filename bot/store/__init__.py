"""What the bot remembers between updates, processes and Lambda containers: update claims
(once-only replies), per-user rate windows, and answers with their feedback.

One small interface (``bot.store.base.Backend``) with three back-ends chosen by
``BREEDBOT_STORE`` (``bot.store.config``): SQLite (local, several processes), DynamoDB (Lambda)
and memory (tests). ``Store`` (``bot.store.service``) is what handlers use: async, bounded in
time, and falling back when the back-end is down. ``process_store()`` gives the one ``Store`` of
this process, so every Application, the webhook route and the CLI share its connections.
"""

from __future__ import annotations

import logging
import threading

from bot.store.base import (
    UPDATE_RETENTION_SECONDS,
    AnswerRecord,
    Backend,
    ClaimOutcome,
    Guess,
    RateState,
    Rating,
    StoreError,
)
from bot.store.config import StoreLocation, StoreSettings, parse_store_url
from bot.store.service import Store, StoreUnavailable

log = logging.getLogger(__name__)

__all__ = [
    "UPDATE_RETENTION_SECONDS",
    "AnswerRecord",
    "Backend",
    "ClaimOutcome",
    "Guess",
    "RateState",
    "Rating",
    "Store",
    "StoreError",
    "StoreLocation",
    "StoreSettings",
    "StoreUnavailable",
    "open_backend",
    "open_store",
    "parse_store_url",
    "process_store",
]


def open_backend(location: StoreLocation, *, timeout: float = 2.0) -> Backend:
    """The back-end for ``location``; nothing is connected until the first call."""
    if location.scheme == "sqlite":
        from bot.store.sqlite import SQLiteBackend

        assert location.path is not None
        return SQLiteBackend(location.path, busy_timeout=max(timeout, 1.0))
    if location.scheme == "dynamodb":
        from bot.store.dynamodb import DynamoDBBackend

        assert location.table is not None
        return DynamoDBBackend(
            location.table, region=location.region, endpoint=location.endpoint, timeout=timeout
        )
    from bot.store.memory import MemoryBackend

    return MemoryBackend()


def open_store(location: StoreLocation, settings: StoreSettings | None = None) -> Store:
    settings = settings or StoreSettings()
    backend = open_backend(location, timeout=settings.timeout_seconds)
    return Store(
        backend,
        timeout=settings.timeout_seconds,
        retry_seconds=settings.retry_seconds,
        description=location.describe(),
    )


_lock = threading.Lock()
_current: tuple[tuple[object, ...], Store] | None = None


def process_store(state_dir: str | None, settings: StoreSettings | None = None) -> Store:
    """This process's store for the current settings (made on first use, then shared).

    When the settings change (tests, mostly) the old store is closed and a new one made.
    """
    global _current
    settings = settings or StoreSettings()
    location = settings.location(state_dir)
    key = (location, settings.timeout_seconds, settings.retry_seconds)
    with _lock:
        if _current is not None and _current[0] == key:
            return _current[1]
        if _current is not None:
            _current[1].close()
        store = open_store(location, settings)
        _current = (key, store)
    log.info("Store: %s", location.describe())
    return store
