"""The one error handler: log (token-free), apologise when the user was waiting, never raise."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import Forbidden, NetworkError, RetryAfter, TelegramError
from telegram.ext import ContextTypes

from bot import replies
from bot.filters import addressed_command, is_reply_to_bot, mentions_bot
from bot.services import reply, services

log = logging.getLogger(__name__)


def _was_addressed(update: Update) -> bool:
    """Would the bot have answered this message? (Private chats: always.)"""
    message = update.effective_message
    if message is None:
        return False
    if message.chat.type == "private":
        return True
    username = message.get_bot().username
    command = addressed_command(message.text or message.caption, username)
    return command is not None or mentions_bot(message) or is_reply_to_bot(message)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    error = context.error
    try:
        if isinstance(error, Forbidden):
            log.info("Not allowed to write in this chat (bot blocked or removed): %s", error)
            return
        if isinstance(error, RetryAfter | NetworkError):
            log.warning(
                "Telegram error while handling an update: %s: %s", type(error).__name__, error
            )
        else:
            log.error("Unhandled error while handling an update", exc_info=error)
        if isinstance(error, TelegramError) or not isinstance(update, Update):
            # Telegram itself is failing (the handler's retries are exhausted): an apology
            # would most likely fail too. Only bugs in our code get one.
            return
        if _was_addressed(update) and update.effective_message is not None:
            await reply(update.effective_message, replies.apology(), services(context))
    except Exception:  # the error handler must never raise
        log.exception("The error handler failed")
