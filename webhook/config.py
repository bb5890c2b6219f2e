"""Web-side settings from environment variables (pydantic-settings), loaded once per process.

The bot token and the Bot API base URL belong to ``bot.config.BotSettings``; this module holds
what only the web side needs. Secrets are ``SecretStr`` so they never end up in a repr or a log.
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's rule for setWebhook's secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebSettings(BaseSettings):
    """Every field can be set by the environment variable named in its alias."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", populate_by_name=True)

    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        alias="TELEGRAM_WEBHOOK_SECRET",
        description="Shared secret Telegram sends in X-Telegram-Bot-Api-Secret-Token.",
    )
    webhook_url: str | None = Field(
        default=None,
        alias="WEBHOOK_URL",
        description="Public HTTPS URL of the deployment (for `python -m webhook set`).",
    )
    webhook_max_body_bytes: int = Field(
        default=1024 * 1024,
        alias="WEBHOOK_MAX_BODY_BYTES",
        ge=1024,
        description="Largest webhook request body accepted (Telegram updates are a few KB).",
    )
    upload_max_bytes: int = Field(
        default=10 * 1024 * 1024,
        alias="BREEDBOT_MAX_UPLOAD_BYTES",
        ge=1024,
        description="Largest upload accepted by the form and the JSON API, multipart included.",
    )
    dedup_size: int = Field(
        default=2048,
        alias="WEBHOOK_DEDUP_SIZE",
        ge=1,
        description="How many recent update_ids each process remembers to drop duplicates.",
    )
    preview_max_side: int = Field(default=480, alias="BREEDBOT_PREVIEW_MAX_SIDE", ge=64, le=2048)

    @field_validator("telegram_webhook_secret", "webhook_url", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    def secret_problem(self) -> str | None:
        """Why the configured webhook secret cannot be used, or None when it is fine.

        The message names the variable, never its value.
        """
        if self.telegram_webhook_secret is None:
            return "TELEGRAM_WEBHOOK_SECRET is not set"
        if not SECRET_TOKEN_RE.fullmatch(self.telegram_webhook_secret.get_secret_value()):
            return "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
        return None


@lru_cache(maxsize=1)
def get_settings() -> WebSettings:
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env)."""
    return WebSettings()
