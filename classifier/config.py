"""Settings from environment variables and an optional ``.env`` file: one way for every part.

Every settings class of the project (``ClassifierSettings`` here, ``bot.config.BotSettings``,
``bot.store.config.StoreSettings``, ``webhook.config.WebSettings``) derives from ``EnvSettings``,
so each entry point (``python -m bot``, ``python -m webhook``, ``python -m classifier``, the web
app, the Lambda handler) reads the same variables the same way: the process environment first,
then the file named by ``BREEDBOT_ENV_FILE`` (default ``.env`` in the working directory; empty:
none). The classifier lives here because it is the package everything else imports; it
imports neither ``bot`` nor ``webhook``.

A bad value is reported by the variable's name (``settings_problems``), never by its value (a
token or a secret must not reach a log), so ``BREEDBOT_THREADS=two`` gives "BREEDBOT_THREADS:
Input should be a valid integer" at start-up and from ``/healthz``, not a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from classifier.decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS
from classifier.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_FILE_VARIABLE = "BREEDBOT_ENV_FILE"


def env_file() -> str | None:
    """The dotenv file every settings class reads (``BREEDBOT_ENV_FILE``; empty: none)."""
    value = os.environ.get(ENV_FILE_VARIABLE, ".env").strip()
    return value or None


class EnvSettings(BaseSettings):
    """Base of every settings class: environment first, then the ``.env`` file, unknown
    variables ignored. The file is chosen when an instance is made, not at import, so a test or
    a tool can point ``BREEDBOT_ENV_FILE`` elsewhere (or pass ``_env_file=None``)."""

    model_config = SettingsConfigDict(env_file_encoding="utf-8", extra="ignore")

    def __init__(self, **values: Any) -> None:
        values.setdefault("_env_file", env_file())
        super().__init__(**values)


def variable_name(settings_cls: type[BaseSettings], field: str) -> str:
    """The environment variable that sets ``field`` of ``settings_cls``."""
    info = settings_cls.model_fields.get(field)
    if info is None:  # pydantic reported the alias it read: that is the variable
        return field
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        first = next((c for c in alias.choices if isinstance(c, str)), None)
        if first:
            return first
    elif isinstance(alias, str):
        return alias
    if info.alias:
        return info.alias
    prefix = str(settings_cls.model_config.get("env_prefix") or "")
    return (prefix + field).upper()


def describe_error(settings_cls: type[BaseSettings], exc: ValidationError) -> list[str]:
    """``["BREEDBOT_THREADS: Input should be a valid integer", ...]``: variable names and
    pydantic's reasons, never the offending values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        location = error.get("loc") or ("?",)
        name = variable_name(settings_cls, str(location[0]))
        reason = str(error.get("msg", "invalid value"))
        problems.append(f"{name}: {reason}")
    return problems


class _ClassifierEnv(EnvSettings):
    """What ``ClassifierSettings.from_env`` reads; empty values mean "the default"."""

    model_config = SettingsConfigDict(env_prefix="BREEDBOT_")

    model_dir: Path | None = None
    labels: Path | None = None
    threads: int = Field(default=1, ge=1, le=64)
    pool_size: int = Field(default=1, ge=1, le=64)
    max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    max_image_bytes: int = Field(default=DEFAULT_MAX_BYTES, ge=1)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_default(cls, value: object, info: Any) -> object:
        if isinstance(value, str) and not value.strip():
            return cls.model_fields[info.field_name].default
        return value


@dataclass(frozen=True)
class ClassifierSettings:
    """The classifier's settings as a plain value (``dataclasses.replace`` works on it)."""

    model_dir: Path = PROJECT_ROOT / "model"
    labels_path: Path = PROJECT_ROOT / "unique_labels.csv"
    threads: int = 1  # LiteRT threads per inference (1 vCPU on a 1,769 MB Lambda)
    pool_size: int = 1  # interpreters that may run at once
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> ClassifierSettings:
        """Read ``BREEDBOT_*``; raises ``ConfigurationError`` naming each bad variable."""
        try:
            env = _ClassifierEnv()
        except ValidationError as exc:
            problems = describe_error(_ClassifierEnv, exc)
            raise ConfigurationError("invalid setting " + "; ".join(problems)) from None
        return cls(
            model_dir=env.model_dir or cls.model_dir,
            labels_path=env.labels or cls.labels_path,
            threads=env.threads,
            pool_size=env.pool_size,
            max_pixels=env.max_pixels,
            max_bytes=env.max_image_bytes,
        )


def settings_problems() -> list[str]:
    """The classifier's invalid variables (empty when every one is fine)."""
    try:
        _ClassifierEnv()
    except ValidationError as exc:
        return describe_error(_ClassifierEnv, exc)
    return []
