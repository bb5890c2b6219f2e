"""``python -m bot [--force]``: run the bot with long polling (``make poll``)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from pydantic import ValidationError
from telegram.error import InvalidToken, TelegramError

from bot.application import build_application
from bot.config import BotSettings, MissingTokenError
from bot.logs import configure_logging, redact
from bot.polling import WebhookIsSetError, run_polling

log = logging.getLogger("bot")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Run Breed Bot with long polling."
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="start even if a webhook is set (polling DELETES the webhook)",
    )
    return parser.parse_args(argv)


async def _main(settings: BotSettings, force: bool) -> None:
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    await run_polling(app, stop, force=force)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = BotSettings()
    except ValidationError as exc:
        print(f"Invalid bot settings:\n{redact(str(exc))}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    try:
        asyncio.run(_main(settings, args.force))
    except MissingTokenError as exc:
        log.error("%s", exc)
        return 2
    except WebhookIsSetError as exc:
        log.error("%s", exc)
        return 3
    except InvalidToken:
        log.error("Telegram rejected TELEGRAM_BOT_TOKEN; check it with @BotFather")
        return 2
    except TelegramError as exc:
        log.error("Telegram error: %s: %s", type(exc).__name__, exc.message)
        return 1
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        return 130
    log.info("Stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
