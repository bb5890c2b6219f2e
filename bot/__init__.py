"""Breed Bot's Telegram bot: one Application factory shared by polling mode and the webhook."""

from bot.application import ALLOWED_UPDATES, build_application, register_commands
from bot.config import BotSettings

__all__ = ["ALLOWED_UPDATES", "BotSettings", "build_application", "register_commands"]
