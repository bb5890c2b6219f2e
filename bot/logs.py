"""Logging that never shows the bot token.

httpx logs every request URL at INFO, and Bot API URLs contain the token: the ``httpx`` and
``httpcore`` loggers are set to WARNING. As a second line of defence, every log record is
redacted when it is created (message, arguments and traceback), whatever handler prints it.
"""

from __future__ import annotations

import logging
import re
import threading

REDACTED = "<redacted-token>"
# A Telegram bot token: the bot id, a colon and a 35-character secret.
TOKEN_PATTERN = re.compile(r"\d{5,16}:[A-Za-z0-9_-]{30,}")
QUIET_LOGGERS = ("httpx", "httpcore")

_lock = threading.Lock()
_secrets: set[str] = set()
_installed = False


def redact(text: str) -> str:
    for secret in _secrets:
        text = text.replace(secret, REDACTED)
    return TOKEN_PATTERN.sub(REDACTED, text)


def _redact_record(record: logging.LogRecord) -> None:
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a broken format string must not hide the log line
        message = str(record.msg)
    record.msg = redact(message)
    record.args = None
    if record.exc_info and not record.exc_text:
        record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
    elif record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def install_token_redaction(token: str | None = None) -> None:
    """Redact ``token`` (and anything shaped like a bot token) from all log records, and quiet
    the httpx loggers. Safe to call many times."""
    global _installed
    with _lock:
        if token:
            _secrets.add(token)
        for name in QUIET_LOGGERS:
            logger = logging.getLogger(name)
            if logger.level < logging.WARNING:
                logger.setLevel(logging.WARNING)
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


def install_secret_redaction(*secrets: str | None) -> None:
    """Redact other secrets too (the webhook secret): ptb logs every Bot API call's parameters
    at DEBUG, ``setWebhook``'s ``secret_token`` included."""
    for secret in secrets:
        if secret:
            install_token_redaction(secret)


def configure_logging(level: str = "INFO") -> None:
    """Console logging for polling mode."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_token_redaction()
