"""A logging handler that fails the suite when a bot token or a webhook secret is logged.

``tests/conftest.py`` attaches one to the root logger for the whole session (root level DEBUG,
so every record any library creates passes through it) and checks it after every test. It
looks for:

- anything shaped like a bot token (``bot.logs.TOKEN_PATTERN``) and the secret half of one;
- the values of ``TELEGRAM_BOT_TOKEN``, ``TELEGRAM_WEBHOOK_SECRET`` and ``BOT_USER_HASH_KEY``
  in the environment at the moment the record is emitted (tests set them with
  ``monkeypatch``);
- the Bot API double's default token, and whatever a test passes to ``watch()``.

The record is checked as a handler would print it: message, arguments, traceback, stack.
"""

from __future__ import annotations

import logging
import os
import threading

from bot.logs import TOKEN_PATTERN
from tests.support.bot_api_double import DEFAULT_TOKEN

MIN_SECRET_LENGTH = 8  # shorter values ("x", "") would match innocent text
ENV_SECRETS = ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET", "BOT_USER_HASH_KEY")


def secret_variants(value: str) -> set[str]:
    """A token and its secret half (after the colon); any other secret as is."""
    variants = {value}
    if ":" in value:
        variants.add(value.split(":", 1)[1])
    return {v for v in variants if len(v) >= MIN_SECRET_LENGTH}


class SecretWatch(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self._lock2 = threading.Lock()
        self._static: set[str] = secret_variants(DEFAULT_TOKEN)
        self._current = "<session>"
        self._leaks: list[str] = []
        self._session_leaks: list[str] = []
        self.records_seen = 0

    def watch(self, *secrets: str) -> None:
        """Also look for these values from now on (for the rest of the session)."""
        with self._lock2:
            for secret in secrets:
                self._static |= secret_variants(secret)

    def _secrets(self) -> set[str]:
        found = set(self._static)
        for name in ENV_SECRETS:
            value = os.environ.get(name)
            if value:
                found |= secret_variants(value.strip())
        return found

    @staticmethod
    def _text(record: logging.LogRecord) -> str:
        try:
            parts = [record.getMessage()]
        except Exception:  # noqa: BLE001 - a broken format string: check the raw parts
            parts = [str(record.msg), repr(record.args)]
        if record.exc_info and not record.exc_text:
            parts.append(logging.Formatter().formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        return "\n".join(parts)

    def emit(self, record: logging.LogRecord) -> None:
        text = self._text(record)
        self.records_seen += 1
        problems = []
        if TOKEN_PATTERN.search(text):
            problems.append("something shaped like a bot token")
        problems += [f"a secret ({secret[:3]}...)" for secret in self._secrets() if secret in text]
        if problems:
            leak = f"{record.name} {record.levelname}: {', '.join(problems)} in {text[:300]!r}"
            with self._lock2:
                self._leaks.append(leak)

    def begin(self, test_id: str) -> None:
        with self._lock2:
            self._session_leaks.extend(self._leaks)  # emitted between tests
            self._leaks = []
            self._current = test_id

    def end(self) -> list[str]:
        with self._lock2:
            leaks, self._leaks = self._leaks, []
            self._current = "<session>"
        return leaks

    def assert_no_leaks_in_session(self) -> None:
        leaks = self._session_leaks + self._leaks
        assert not leaks, "a secret appeared in the log output:\n" + "\n".join(leaks)
