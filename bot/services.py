"""What the handlers share: settings, retry policy, the classifier, and safe Telegram calls."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import ContextTypes

from bot.config import BotSettings
from bot.privacy import UserHasher
from bot.ratelimit import RateLimits
from bot.retry import RetryPolicy, call_with_retries
from bot.store import Store, StoreSettings
from classifier import Classifier

log = logging.getLogger(__name__)

SERVICES_KEY = "breedbot.services"
TYPING_REFRESH_SECONDS = 4.5  # a chat action shows for up to 5 s


@dataclass(frozen=True)
class Services:
    settings: BotSettings
    retry: RetryPolicy
    classifier_factory: Callable[[], Classifier]
    # What the bot remembers (bot.store): update claims, rate windows, answers and feedback.
    store: Store
    store_settings: StoreSettings
    hasher: UserHasher

    @property
    def limits(self) -> RateLimits:
        return RateLimits(self.settings.rate_limit_per_minute, self.settings.rate_limit_per_day)

    def is_admin(self, user_id: int | None) -> bool:
        return user_id is not None and user_id in self.settings.admin_ids

    async def classifier(self) -> Classifier:
        """The shared classifier; the first call loads it, off the event loop."""
        return await asyncio.to_thread(self.classifier_factory)


def services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return context.application.bot_data[SERVICES_KEY]


async def reply(
    message: Message,
    text: str,
    svc: Services,
    *,
    reply_markup: InlineKeyboardMarkup | None = None,
) -> Message | None:
    """Reply to ``message`` (quoting it), retrying per ``bot.retry``. Never raises a Telegram
    error: when the answer cannot be delivered, an apology could not be either; log it."""
    bot = message.get_bot()
    thread_id = message.message_thread_id if message.is_topic_message else None
    try:
        return await call_with_retries(
            "sendMessage",
            lambda: bot.send_message(
                chat_id=message.chat_id,
                text=text,
                message_thread_id=thread_id,
                reply_markup=reply_markup,
                reply_parameters=ReplyParameters(
                    message_id=message.message_id, allow_sending_without_reply=True
                ),
            ),
            svc.retry,
            idempotent=False,
        )
    except TelegramError as exc:
        log.warning(
            "Could not answer message %s in chat %s: %s: %s",
            message.message_id,
            message.chat_id,
            type(exc).__name__,
            exc.message,
        )
        return None


async def _send_typing(bot: Bot, chat_id: int, thread_id: int | None) -> None:
    try:
        await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread_id)
    except TelegramError as exc:  # cosmetic: never let it stop the real work
        log.debug("sendChatAction failed: %s", exc.message)


@contextlib.asynccontextmanager
async def typing(message: Message) -> AsyncIterator[None]:
    """Show "typing…" while the block runs: sent once inline, refreshed every 4.5 s by a task
    that ends with the block (nothing outlives the update, so this is safe on a webhook)."""
    bot = message.get_bot()
    thread_id = message.message_thread_id if message.is_topic_message else None
    await _send_typing(bot, message.chat_id, thread_id)

    async def refresh() -> None:
        while True:
            await asyncio.sleep(TYPING_REFRESH_SECONDS)
            await _send_typing(bot, message.chat_id, thread_id)

    task = asyncio.create_task(refresh(), name="breedbot:typing")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
