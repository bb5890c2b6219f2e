"""Long-polling mode (``python -m bot``): for development, with a separate test bot.

ptb's ``start_polling`` deletes any webhook first, which would silently switch the production
bot off its webhook. So ``getWebhookInfo`` is asked first, and polling refuses to start while a
webhook is set unless ``force`` is given.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import urlsplit

from telegram.error import TelegramError
from telegram.ext import Application

from bot.application import ALLOWED_UPDATES, register_commands
from bot.retry import call_with_retries
from bot.services import SERVICES_KEY, Services

log = logging.getLogger(__name__)


class WebhookIsSetError(RuntimeError):
    """A webhook is set for this bot; polling would delete it."""


async def run_polling(
    app: Application,
    stop: asyncio.Event,
    *,
    force: bool = False,
    ready: asyncio.Event | None = None,
) -> None:
    """Poll until ``stop`` is set, then stop cleanly (finishing the updates in progress)."""
    svc: Services = app.bot_data[SERVICES_KEY]
    if app.updater is None:
        raise ValueError("build the application with updater=True for polling")
    async with app:  # initialize (getMe) ... shutdown
        info = await call_with_retries(
            "getWebhookInfo", app.bot.get_webhook_info, svc.retry, idempotent=True
        )
        if info.url:
            host = urlsplit(info.url).hostname or "?"
            if not force:
                raise WebhookIsSetError(
                    f"A webhook is set for @{app.bot.username} (host {host}); polling would "
                    "delete it. Use a separate test bot, or pass --force to delete the webhook."
                )
            log.warning("--force: deleting the webhook of @%s (host %s)", app.bot.username, host)
        try:
            await register_commands(app.bot, svc.retry)
        except TelegramError as exc:
            log.warning("setMyCommands failed (%s); continuing without it", exc.message)

        def on_poll_error(exc: TelegramError) -> None:
            log.warning("getUpdates failed: %s: %s (ptb retries)", type(exc).__name__, exc.message)

        await app.updater.start_polling(
            timeout=svc.settings.poll_timeout,
            allowed_updates=list(ALLOWED_UPDATES),
            error_callback=on_poll_error,
        )
        await app.start()
        log.info("Polling as @%s; press Ctrl-C to stop", app.bot.username)
        if ready is not None:
            ready.set()
        try:
            await stop.wait()
        finally:
            log.info("Stopping: finishing the updates in progress")
            if app.updater.running:
                await app.updater.stop()
            if app.running:
                await app.stop()
