"""Bot settings from environment variables (and an optional ``.env`` file), with safe defaults.

``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_API_BASE_URL`` keep Telegram's usual names; everything else
is prefixed ``BOT_``. See ``.env.example`` for the documented list.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from bot.store.config import default_state_dir
from classifier.config import EnvSettings, describe_error

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files for bots


class MissingTokenError(RuntimeError):
    """``TELEGRAM_BOT_TOKEN`` is not set, so the bot cannot talk to Telegram."""


class BotSettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="BOT_", populate_by_name=True, frozen=True)

    token: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("TELEGRAM_BOT_TOKEN", "token")
    )
    api_base_url: str = Field(
        default="https://api.telegram.org",
        validation_alias=AliasChoices("TELEGRAM_API_BASE_URL", "api_base_url"),
    )

    # Downloads: Telegram's own bot limit is 20 MB; lower it if you like, never raise it.
    max_download_bytes: int = Field(default=TELEGRAM_DOWNLOAD_LIMIT, gt=0)
    # Download the smallest photo size whose short side is >= the classifier's detail side
    # (twice its crop's short side: 686 px for the 300 px model) x this margin.
    photo_size_margin: float = Field(default=1.0, ge=0.5, le=4.0)

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

    # Where the default store (BREEDBOT_STORE unset) keeps its SQLite file: answered update ids,
    # rate-limit windows and feedback. Empty: memory only. Default: a per-user directory under
    # the system temp dir (set a persistent one on a server).
    state_dir: str = Field(default_factory=default_state_dir)

    # Photos per user (commands are never limited); 0 turns a limit off. Admins are exempt.
    rate_limit_per_minute: int = Field(default=10, ge=0, le=10_000)
    rate_limit_per_day: int = Field(default=200, ge=0, le=1_000_000)
    # Telegram user ids allowed to use /stats (and exempt from the rate limits): "1,2,3".
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    # Key of the keyed hash (HMAC-SHA256) that stands for a user id in the store. Unset: a
    # fixed per-bot salt (pseudonymous, but a user id can then be tested against a hash).
    user_hash_key: SecretStr | None = None
    # Feedback buttons work for this long after an answer; an answer nobody rated is then
    # deleted. A rating (and the answer it rates) is kept for feedback_retention_days.
    answer_retention_days: float = Field(default=7, gt=0, le=366)
    feedback_retention_days: float = Field(default=365, gt=0, le=3660)

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

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _parse_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.replace(";", ",").split(",")]
            if not all(item.lstrip("-").isdigit() for item in items if item):
                raise ValueError("must be Telegram user ids (numbers) separated by commas")
            return frozenset(int(item) for item in items if item)
        return value

    @field_validator("user_hash_key", mode="before")
    @classmethod
    def _blank_key_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

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


def settings_problems() -> list[str]:
    """The bot's invalid variables, by name (empty when every one is fine)."""
    try:
        BotSettings()
    except ValidationError as exc:
        return describe_error(BotSettings, exc)
    return []
