"""Bot settings from environment variables (and an optional ``.env`` file), with safe defaults.

``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_API_BASE_URL`` keep Telegram's usual names; everything else
is prefixed ``BOT_``. See ``.env.example`` for the documented list.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.dedup import default_state_dir

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files for bots


class MissingTokenError(RuntimeError):
    """``TELEGRAM_BOT_TOKEN`` is not set, so the bot cannot talk to Telegram."""


class BotSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        frozen=True,
    )

    token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "token")
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "api_base_url"),
    )

    # Downloads: Telegram's own bot limit is 20 MB; lower it if you like, never raise it.
    max_download_bytes: int = Field(default=TELEGRAM_DOWNLOAD_LIMIT, gt=0)
    # Download the smallest photo size whose short side is >= model input x this margin.
    photo_size_margin: float = Field(default=1.15, ge=1.0, le=4.0)

    # Retries of Bot API calls (429 RetryAfter, network errors, 5xx answers).
    retry_attempts: int = Field(default=3, ge=0, le=10)  # retries after the first try
    retry_backoff_seconds: float = Field(default=1.0, ge=0)  # first backoff, doubled each time
    retry_backoff_max_seconds: float = Field(default=8.0, ge=0)
    max_retry_after_seconds: float = Field(default=30.0, ge=0)  # longer 429 waits: give up

    # HTTP timeouts (seconds) of ptb's httpx client.
    connect_timeout: float = Field(default=5.0, gt=0)
    read_timeout: float = Field(default=10.0, gt=0)
    write_timeout: float = Field(default=20.0, gt=0)
    pool_timeout: float = Field(default=2.0, gt=0)

    # Polling mode only.
    poll_timeout: int = Field(default=30, ge=0, le=50)  # getUpdates long-poll seconds
    concurrent_updates: int = Field(default=16, ge=1, le=256)

    # Polling mode only: where the ids of recently answered updates are kept, so an update that
    # Telegram delivers again (also after a restart or a crash) is not answered twice.
    # Empty: memory only. Default: a per-user directory under the system temp dir.
    state_dir: str = Field(default_factory=default_state_dir)
    dedup_size: int = Field(default=2048, ge=16, le=100_000)

    log_level: str = "INFO"

    @field_validator("api_base_url")
    @classmethod
    def _check_base_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value.startswith(("https://", "http://")):
            raise ValueError("TELEGRAM_API_BASE_URL must start with https:// or http://")
        if value.endswith("/bot"):
            raise ValueError("TELEGRAM_API_BASE_URL is the server root, without /bot")
        return value

    @field_validator("max_download_bytes")
    @classmethod
    def _cap_download(cls, value: int) -> int:
        return min(value, TELEGRAM_DOWNLOAD_LIMIT)

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        value = value.strip().upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
            raise ValueError("BOT_LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL")
        return value

    @property
    def base_url(self) -> str:
        """ptb's ``base_url``: the token is appended to it."""
        return f"{self.api_base_url}/bot"

    @property
    def base_file_url(self) -> str:
        """ptb's ``base_file_url``: the token is appended to it."""
        return f"{self.api_base_url}/file/bot"

    def require_token(self) -> str:
        if self.token is None or not self.token.get_secret_value().strip():
            raise MissingTokenError(
                "TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and put its token "
                "in the environment or in .env (see .env.example)."
            )
        return self.token.get_secret_value().strip()
