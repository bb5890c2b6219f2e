"""Bounded retries of Bot API calls, without ever sending a message twice.

What is retried, and why:

* ``RetryAfter`` (HTTP 429): Telegram did not perform the request; wait ``retry_after`` and try
  again (bounded; a wait longer than ``max_retry_after`` is not worth it: give up).
* The server answered with an error status that ptb maps to a plain ``NetworkError`` (5xx, bad
  gateway...): the request was not performed; back off exponentially and try again.
* The request never reached the server (connect error, connect or pool timeout): retry.
* The request may have reached the server but no answer came back (read/write timeout, broken
  connection): retried only for idempotent calls (getFile, file downloads, chat actions,
  setMyCommands...). A ``sendMessage`` that timed out is *not* retried, because it has most
  likely been delivered: a missing answer is better than a duplicate one.
* ``BadRequest``, ``Forbidden``, ``InvalidToken``, ``Conflict``: never retried.
"""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import httpx
from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.warnings import PTBDeprecationWarning

from bot.config import BotSettings

T = TypeVar("T")
log = logging.getLogger(__name__)

# httpx errors raised before the request could have reached the server.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 3  # retries after the first try
    backoff: float = 1.0  # first delay in seconds, doubled after each failure
    backoff_max: float = 8.0
    max_retry_after: float = 30.0

    @classmethod
    def from_settings(cls, settings: BotSettings) -> RetryPolicy:
        return cls(
            attempts=settings.retry_attempts,
            backoff=settings.retry_backoff_seconds,
            backoff_max=settings.retry_backoff_max_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )

    def backoff_delay(self, failures: int) -> float:
        """Delay before retry number ``failures`` (1-based)."""
        return min(self.backoff * 2 ** (failures - 1), self.backoff_max)


def retry_after_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # ptb 22 warns that the int form is deprecated
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    if isinstance(value, dtm.timedelta):
        return value.total_seconds()
    return float(value)


def may_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether repeating the call that raised ``exc`` is safe and may help."""
    if isinstance(exc, RetryAfter):
        return True
    if not isinstance(exc, NetworkError) or isinstance(exc, BadRequest):
        return False
    cause = exc.__cause__
    if cause is None:
        # ptb raised it for an HTTP error status (5xx...): Telegram answered "not done".
        # (A PoolTimeout is raised with its httpx cause, handled below.)
        return True
    if isinstance(cause, _NOT_SENT):
        return True
    return idempotent  # read/write timeout or broken connection: the call may have run


async def call_with_retries(
    what: str,
    call: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    idempotent: bool,
) -> T:
    """Await ``call()``; on a retryable failure wait and call it again, at most
    ``policy.attempts`` more times. The last error is raised unchanged."""
    failures = 0
    while True:
        try:
            return await call()
        except (RetryAfter, NetworkError) as exc:
            failures += 1
            if failures > policy.attempts or not may_retry(exc, idempotent=idempotent):
                raise
            if isinstance(exc, RetryAfter):
                delay = retry_after_seconds(exc)
                if delay > policy.max_retry_after:
                    raise
                log.warning(
                    "%s: Telegram asked to wait %.1f s (429); retry %d of %d",
                    what,
                    delay,
                    failures,
                    policy.attempts,
                )
            else:
                delay = policy.backoff_delay(failures)
                log.warning(
                    "%s failed (%s: %s); retry %d of %d in %.2f s",
                    what,
                    type(exc).__name__,
                    exc.message,
                    failures,
                    policy.attempts,
                    delay,
                )
            await asyncio.sleep(delay)
