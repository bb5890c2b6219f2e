"""Web-side settings from environment variables and ``.env`` (pydantic-settings), loaded once
per process.

The bot token and the Bot API base URL belong to ``bot.config.BotSettings``; this module holds
what only the web side needs. Secrets are ``SecretStr`` so they never end up in a repr or a log.
Like every settings class here it reads ``.env`` (``classifier.config.EnvSettings``), so
``python -m webhook set`` works with everything in ``.env``. An invalid value never stops the
app from starting: ``get_settings`` falls back to the defaults, and ``settings_problems`` names
the variable (logged at start-up, and ``/healthz`` answers 503 with it).
"""

from __future__ import annotations

import re
from functools import lru_cache

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from classifier.config import EnvSettings, describe_error

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's rule for setWebhook's secret_token: 1-256 characters of A-Z, a-z, 0-9, _ and -.
SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")


class WebSettings(EnvSettings):
    """Every field can be set by the environment variable named in its alias."""

    model_config = SettingsConfigDict(populate_by_name=True)

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
    """The process-wide settings (tests call ``get_settings.cache_clear()`` after changing env).

    Invalid values give the defaults here (the app still starts, the form still works);
    ``settings_problems`` reports them.
    """
    try:
        return WebSettings()
    except ValidationError:
        return WebSettings.model_construct()


def web_settings_problems() -> list[str]:
    try:
        WebSettings()
    except ValidationError as exc:
        return describe_error(WebSettings, exc)
    return []


def settings_problems(*, classifier: bool = True) -> list[str]:
    """Every invalid variable of the web app, the bot, the store and (``classifier``) the
    classifier, as "NAME: reason" (names only, never values)."""
    from bot.config import settings_problems as bot_problems
    from bot.store.config import settings_problems as store_problems
    from classifier.config import settings_problems as classifier_problems

    problems = web_settings_problems() + bot_problems() + store_problems()
    if classifier:
        problems += classifier_problems()
    return problems
