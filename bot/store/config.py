"""Which store the bot uses (``BREEDBOT_STORE``) and how long it may take.

``BREEDBOT_STORE`` is a URL:

- ``sqlite:///relative/path.sqlite3`` or ``sqlite:////absolute/path.sqlite3`` (SQLAlchemy's
  convention: three slashes and a relative path, four for an absolute one): a local file in
  WAL mode, shared safely by several processes on one machine. Unset, the default is
  ``breedbot.sqlite3`` in ``BOT_STATE_DIR`` (``memory://`` when that is empty).
- ``dynamodb://TABLE`` (optional ``?region=eu-west-1&endpoint=http://127.0.0.1:8000``): one
  DynamoDB table shared by every Lambda container; credentials and region otherwise come from
  boto3's usual chain (the function's role and ``AWS_REGION`` on Lambda).
- ``memory://``: this process only (tests; nothing survives a restart).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import SettingsConfigDict

from classifier.config import EnvSettings, describe_error

SCHEMES = ("sqlite", "dynamodb", "memory")
DEFAULT_FILE_NAME = "breedbot.sqlite3"


def default_state_dir() -> str:
    """A per-user directory under the system temp dir (``/tmp/breed-bot-<uid>`` on Linux)."""
    user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return str(Path(tempfile.gettempdir()) / f"breed-bot-{user}")


@dataclass(frozen=True)
class StoreLocation:
    """A parsed ``BREEDBOT_STORE``: the back-end and where it keeps its data."""

    scheme: str  # "sqlite", "dynamodb" or "memory"
    path: Path | None = None  # sqlite
    table: str | None = None  # dynamodb
    region: str | None = None  # dynamodb
    endpoint: str | None = None  # dynamodb (a local DynamoDB-compatible server)

    def describe(self) -> str:
        """For logs and /healthz: the back-end and its table or file (no credentials)."""
        if self.scheme == "sqlite":
            return f"sqlite ({self.path})"
        if self.scheme == "dynamodb":
            return f"dynamodb (table {self.table})"
        return "memory"


def parse_store_url(url: str) -> StoreLocation:
    """Parse and check a ``BREEDBOT_STORE`` value; ``ValueError`` says what is wrong."""
    url = url.strip()
    scheme, sep, rest = url.partition("://")
    scheme = scheme.lower()
    if not sep or scheme not in SCHEMES:
        raise ValueError("must start with sqlite://, dynamodb:// or memory://")
    if scheme == "memory":
        if rest.strip("/"):
            raise ValueError("memory:// takes no path")
        return StoreLocation("memory")
    if scheme == "sqlite":
        if not rest.startswith("/") or not rest[1:].strip():
            raise ValueError("sqlite:///PATH needs a file path (four slashes for an absolute one)")
        path = Path(os.path.expanduser(rest[1:]))
        if path.name in ("", ".", ".."):
            raise ValueError("sqlite:///PATH must name a file, not a directory")
        return StoreLocation("sqlite", path=path)
    parts = urlsplit(url)
    table = parts.netloc
    if not table or parts.path.strip("/"):
        raise ValueError("dynamodb://TABLE needs a table name (and nothing after it but ?options)")
    if not (3 <= len(table) <= 255) or not all(c.isalnum() or c in "_-." for c in table):
        raise ValueError("a DynamoDB table name is 3-255 characters of A-Z a-z 0-9 _ - .")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(query) - {"region", "endpoint"})
    if unknown:
        raise ValueError(f"unknown dynamodb:// options: {', '.join(unknown)} (region, endpoint)")
    endpoint = query.get("endpoint")
    if endpoint is not None and not endpoint.startswith(("http://", "https://")):
        raise ValueError("the endpoint option must be an http:// or https:// URL")
    return StoreLocation("dynamodb", table=table, region=query.get("region"), endpoint=endpoint)


class StoreSettings(EnvSettings):
    """``BREEDBOT_STORE`` and the ``BREEDBOT_STORE_*`` knobs."""

    model_config = SettingsConfigDict(env_prefix="BREEDBOT_STORE_", populate_by_name=True)

    url: str | None = Field(default=None, validation_alias=AliasChoices("BREEDBOT_STORE", "url"))
    # One store call (a claim, a counter, a feedback write) may take this long; then the bot
    # goes on without it (fallback) rather than keep the user waiting.
    timeout_seconds: float = Field(default=2.0, gt=0, le=30)
    # After a failure the fallback is used for this long before the store is tried again, so
    # an outage costs one timeout, not one per update.
    retry_seconds: float = Field(default=30.0, ge=0, le=3600)
    # A claimed update not finished within this time (a crashed or timed-out invocation) may
    # be taken over by a redelivery. Longer than the Lambda timeout (60 s).
    claim_seconds: float = Field(default=120.0, ge=5, le=3600)

    @field_validator("url", mode="before")
    @classmethod
    def _check_url(cls, value: object) -> object:
        if isinstance(value, str):
            if not value.strip():
                return None
            parse_store_url(value)
        return value

    def location(self, state_dir: str | None) -> StoreLocation:
        """The configured store, or the default: SQLite in ``state_dir`` (memory if empty)."""
        if self.url:
            return parse_store_url(self.url)
        if state_dir is None or not str(state_dir).strip():
            return StoreLocation("memory")
        return StoreLocation("sqlite", path=Path(state_dir).expanduser() / DEFAULT_FILE_NAME)


def settings_problems() -> list[str]:
    """The store's invalid variables, by name (empty when every one is fine)."""
    try:
        StoreSettings()
    except ValidationError as exc:
        return describe_error(StoreSettings, exc)
    return []
