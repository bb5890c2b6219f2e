"""``python -m bot [--force]``: run the bot with long polling (``make poll``).

``python -m bot feedback export --out FILE.csv``: write the stored feedback for retraining.

Both read the environment and ``.env`` and refuse to start on an invalid setting, naming the
variable (never its value).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from telegram.error import InvalidToken, TelegramError

from bot.application import build_application
from bot.config import BotSettings, MissingTokenError
from bot.config import settings_problems as bot_problems
from bot.logs import configure_logging
from bot.polling import WebhookIsSetError, run_polling
from bot.store.config import settings_problems as store_problems
from classifier.config import settings_problems as classifier_problems

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
    commands = parser.add_subparsers(dest="command")
    feedback = commands.add_parser("feedback", help="the feedback users gave on answers")
    actions = feedback.add_subparsers(dest="action", required=True)
    export = actions.add_parser("export", help="write the feedback as CSV (for retraining)")
    export.add_argument("--out", required=True, type=Path, metavar="FILE.csv")
    export.add_argument(
        "--include-unrated",
        action="store_true",
        help="also the answers nobody rated (kept BOT_ANSWER_RETENTION_DAYS)",
    )
    return parser.parse_args(argv)


def settings_errors(*, classifier: bool) -> list[str]:
    problems = bot_problems() + store_problems()
    return problems + (classifier_problems() if classifier else [])


async def _poll(settings: BotSettings, force: bool) -> None:
    app = build_application(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # pragma: no cover - Windows
            signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    await run_polling(app, stop, force=force)


async def _export(settings: BotSettings, out: Path, include_unrated: bool) -> int:
    from bot.export import write_csv
    from bot.store import StoreSettings, StoreUnavailable, process_store

    store_settings = StoreSettings()
    store = process_store(settings.state_dir, store_settings)
    try:
        records = await store.answers(limit_seconds=300)
    except StoreUnavailable as exc:
        log.error("Cannot read the store (%s): %s", store.description, exc)
        return 1
    finally:
        store.close()
    count = await asyncio.to_thread(write_csv, records, out, include_unrated=include_unrated)
    print(f"{count} answers written to {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    polling = args.command is None
    problems = settings_errors(classifier=polling)
    if problems:
        print("Invalid settings (see .env.example):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    settings = BotSettings()
    configure_logging(settings.log_level)
    if not polling:
        return asyncio.run(_export(settings, args.out, args.include_unrated))
    try:
        asyncio.run(_poll(settings, args.force))
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
