"""Manage the bot's Telegram webhook: ``python -m webhook set|delete|info``.

Uses ``TELEGRAM_BOT_TOKEN`` and ``TELEGRAM_API_BASE_URL`` (bot settings), ``WEBHOOK_URL`` and
``TELEGRAM_WEBHOOK_SECRET`` (web settings), from the environment or ``.env``; options override
the URL and the webhook knobs. An invalid setting stops it with the variable's name. The secret
and the token are never printed.

    python -m webhook set --url https://xxxx.lambda-url.eu-west-1.on.aws/ --drop-pending-updates
    python -m webhook info
    python -m webhook delete
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from webhook.config import WEBHOOK_PATH, get_settings, settings_problems


class UsageError(Exception):
    """A configuration problem the user must fix (exit status 2)."""


def webhook_url(url: str) -> str:
    """Validate ``url`` (HTTPS) and add the webhook path when only the origin is given."""
    parts = urlsplit(url.strip())
    if parts.scheme != "https" or not parts.netloc:
        raise UsageError(f"the webhook URL must be an https:// URL, got {url!r}")
    if parts.path in ("", "/"):
        parts = parts._replace(path=WEBHOOK_PATH)
    elif not parts.path.rstrip("/").endswith(WEBHOOK_PATH):
        print(f"warning: the app serves the webhook at {WEBHOOK_PATH}", file=sys.stderr)
    return urlunsplit(parts)


def parse_allowed_updates(value: str) -> list[str]:
    items = [item.strip() for item in value.split(",") if item.strip()]
    from telegram import Update

    unknown = sorted(set(items) - set(Update.ALL_TYPES))
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown update types: {', '.join(unknown)}")
    return items


def max_connections(value: str) -> int:
    number = int(value)
    if not 1 <= number <= 100:
        raise argparse.ArgumentTypeError("max_connections must be between 1 and 100")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m webhook", description="Manage the bot's Telegram webhook."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    set_cmd = commands.add_parser("set", help="point Telegram at this deployment")
    set_cmd.add_argument(
        "--url",
        help="public HTTPS URL (default: WEBHOOK_URL); the path "
        f"{WEBHOOK_PATH} is added when only the origin is given",
    )
    set_cmd.add_argument(
        "--allowed-updates",
        type=parse_allowed_updates,
        default=None,
        help="comma-separated update types (default: the ones the bot handles, "
        "bot.application.ALLOWED_UPDATES)",
    )
    set_cmd.add_argument(
        "--drop-pending-updates",
        action="store_true",
        help="discard updates Telegram queued while no webhook answered",
    )
    set_cmd.add_argument(
        "--max-connections",
        type=max_connections,
        default=10,
        help="1-100 simultaneous deliveries (default: %(default)s; keep it at "
        "or below the function's reserved concurrency)",
    )

    set_cmd.add_argument(
        "--no-commands",
        action="store_true",
        help="do not register the bot's command menu (setMyCommands) after setting the webhook",
    )

    delete_cmd = commands.add_parser("delete", help="remove the webhook")
    delete_cmd.add_argument("--drop-pending-updates", action="store_true")

    commands.add_parser("info", help="print getWebhookInfo as JSON")
    return parser


def _bot():  # -> telegram.Bot
    from telegram import Bot

    from bot.config import BotSettings, MissingTokenError
    from bot.logs import install_token_redaction

    settings = BotSettings()
    try:
        token = settings.require_token()
    except MissingTokenError as exc:
        raise UsageError(str(exc)) from None
    install_token_redaction(token)  # ptb logs the token-bearing URLs at DEBUG
    return Bot(token, base_url=settings.base_url, base_file_url=settings.base_file_url)


async def run(args: argparse.Namespace) -> dict[str, object]:
    web = get_settings()
    if args.command == "set":
        url = webhook_url(args.url or web.webhook_url or "")
        problem = web.secret_problem()
        if problem is not None:
            raise UsageError(f"{problem}: the deployed route refuses updates without it")
        assert web.telegram_webhook_secret is not None
        from bot.application import ALLOWED_UPDATES, register_commands
        from bot.logs import install_secret_redaction

        # ptb logs setWebhook's parameters, secret_token included, at DEBUG.
        install_secret_redaction(web.telegram_webhook_secret.get_secret_value())

        allowed = args.allowed_updates if args.allowed_updates is not None else ALLOWED_UPDATES
        async with _bot() as bot:
            ok = await bot.set_webhook(
                url=url,
                secret_token=web.telegram_webhook_secret.get_secret_value(),
                allowed_updates=list(allowed),
                drop_pending_updates=args.drop_pending_updates,
                max_connections=args.max_connections,
            )
            if not args.no_commands:
                await register_commands(bot)  # once per deployment, not per request
        return {
            "ok": ok,
            "url": url,
            "commands_registered": not args.no_commands,
            "allowed_updates": list(allowed),
            "drop_pending_updates": args.drop_pending_updates,
            "max_connections": args.max_connections,
        }
    if args.command == "delete":
        async with _bot() as bot:
            ok = await bot.delete_webhook(drop_pending_updates=args.drop_pending_updates)
        return {"ok": ok}
    async with _bot() as bot:
        info = await bot.get_webhook_info()
    return {"ok": True, "bot": bot.username, **info.to_dict()}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from telegram.error import TelegramError

    problems = settings_problems(classifier=False)
    if problems:
        print("error: invalid settings (see .env.example):", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 2

    try:
        result = asyncio.run(run(args))
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except TelegramError as exc:
        print(f"error: Telegram refused: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
