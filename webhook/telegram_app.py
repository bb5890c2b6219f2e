"""The bot's ptb ``Application``, built and initialised once per process and event loop.

On Lambda, Mangum 0.22 runs every invocation on one persistent event loop (it calls
``asyncio.get_event_loop()`` and ``run_until_complete``), so the Application, its httpx client
and its connection pool are created on the first webhook call of a container and reused by
every warm invocation after it (one ``getMe`` per container, not per update).

httpx clients are bound to the loop that opened their connections; reusing one on another
loop fails with "Event loop is closed" (ptb #4706). So the Application remembers its loop, and
a request arriving on a different loop (a test client, a server restarted in the same process)
gets a fresh Application instead of a broken one.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError

if TYPE_CHECKING:
    from telegram.ext import Application

logger = logging.getLogger(__name__)


def token_problem() -> str | None:
    """Why the bot cannot talk to Telegram (missing or invalid settings), or None.

    Never includes the token itself.
    """
    from bot.config import BotSettings, MissingTokenError
    from classifier.config import describe_error

    try:
        BotSettings().require_token()
    except MissingTokenError:
        return "TELEGRAM_BOT_TOKEN is not set"
    except ValidationError as exc:
        return "invalid bot settings (" + "; ".join(describe_error(BotSettings, exc)) + ")"
    return None


class TelegramRuntime:
    """Holds the process's Application; ``await get()`` builds and initialises it on first use."""

    def __init__(self) -> None:
        self._application: Application | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self.initialisations = 0  # how many Applications this process built (tests read it)

    @property
    def ready(self) -> bool:
        return self._application is not None

    def _lock_for(self, loop: asyncio.AbstractEventLoop) -> asyncio.Lock:
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        return self._lock

    async def get(self) -> Application:
        """The initialised Application for the running loop (``getMe`` done once)."""
        loop = asyncio.get_running_loop()
        application = self._application
        if application is not None and self._loop is loop:
            return application
        async with self._lock_for(loop):
            if self._application is not None and self._loop is loop:
                return self._application
            if self._application is not None:
                logger.warning(
                    "the event loop changed since the Telegram Application was initialised; "
                    "building a new one (the old HTTP client belongs to the old loop)"
                )
                self._application = self._loop = None
            from bot.application import build_application

            application = build_application(updater=False)
            await application.initialize()  # getMe: one Bot API round trip per container
            self._application, self._loop = application, loop
            self.initialisations += 1
            logger.info("Telegram Application initialised for @%s", application.bot.username)
            return application

    async def shutdown(self) -> None:
        """Close the Application's HTTP client (when called on its own loop)."""
        application, loop = self._application, self._loop
        self._application = self._loop = None
        if application is not None and loop is asyncio.get_running_loop():
            await application.shutdown()

    def forget(self) -> None:
        """Drop the Application without closing it (tests, or after its loop is gone)."""
        self._application = self._loop = None


runtime = TelegramRuntime()
