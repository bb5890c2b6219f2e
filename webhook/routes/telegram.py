"""``POST /telegram/webhook``: Telegram delivers updates here; each is processed inline.

Status codes, chosen so Telegram neither retries forever nor gets told "fine" about a problem
on our side:

- 503: the route is not configured (no ``TELEGRAM_WEBHOOK_SECRET`` or no ``TELEGRAM_BOT_TOKEN``;
  the log says which), or the Bot API could not be reached to initialise the bot.
- 403: the ``X-Telegram-Bot-Api-Secret-Token`` header is missing or wrong (constant-time check).
- 400 / 422 / 413: the body is not JSON, not an Update, or too large.
- 409: the same ``update_id`` is being handled right now by another request (another Lambda
  container, usually): Telegram retries later, and by then it is done (200) or its claim has
  expired because that invocation died (then it is handled: never lost, never answered twice).
- 200: everything else: processed, a duplicate ``update_id``, an update type the bot ignores,
  bad user input (the bot answers the user itself), even a crash inside the bot's handlers
  (logged; a redelivery would fail the same way and hold up the chat's later updates).

Once-only replies across containers: each ``update_id`` is claimed in the shared store
(``bot.dedup.UpdateClaims``: a conditional write) before its handlers run, and finished after
(kept 24 h, Telegram's retention). If the store is down, claims fall back to this process's
memory (logged once).

Lambda freezes the container as soon as the response is returned, so nothing is deferred:
``Application.process_update`` runs the handlers (download, classification, reply) before the
response is sent.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from telegram import Update
from telegram.error import TelegramError

from bot.dedup import UpdateClaims, new_owner
from bot.services import SERVICES_KEY, Services
from bot.store import ClaimOutcome
from webhook.config import SECRET_HEADER, WEBHOOK_PATH, WebSettings, settings_problems
from webhook.deps import web_settings
from webhook.telegram_app import runtime, token_problem

if TYPE_CHECKING:
    from telegram.ext import Application

logger = logging.getLogger(__name__)
router = APIRouter(tags=["Telegram"])


def _answer(status_code: int, detail: str, **extra: Any) -> JSONResponse:
    # Never put a "method" key here: Telegram would execute it as a Bot API call.
    return JSONResponse({"ok": status_code < 400, "detail": detail, **extra}, status_code)


def configuration_problems(settings: WebSettings) -> list[str]:
    """Why the route cannot work (names of variables only, never values); empty when it can."""
    problems = []
    secret = settings.secret_problem()
    if secret is not None:
        problems.append(f"{secret} (Telegram's deliveries cannot be authenticated)")
    if runtime.ready:  # warm: the settings were good enough to build the bot
        return problems
    problems += [f"invalid setting {p}" for p in settings_problems(classifier=False)]
    token = token_problem()
    if token is not None:
        problems.append(f"{token} (the bot cannot reply)")
    return problems


def update_claims(application: Application) -> UpdateClaims:
    """The claims of this bot's update ids, in the store the bot itself uses."""
    svc: Services = application.bot_data[SERVICES_KEY]
    return UpdateClaims(
        svc.store, str(application.bot.id), lease_seconds=svc.store_settings.claim_seconds
    )


def _secret_matches(given: str | None, expected: str) -> bool:
    if given is None:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


@router.post(
    WEBHOOK_PATH,
    summary="Telegram webhook (called by Telegram, not by people)",
    responses={
        400: {"description": "The body is not JSON."},
        403: {"description": "Missing or wrong X-Telegram-Bot-Api-Secret-Token."},
        409: {"description": "This update is being handled by another request; retry later."},
        413: {"description": "The body is larger than WEBHOOK_MAX_BODY_BYTES."},
        422: {"description": "JSON, but not a Telegram Update."},
        503: {
            "description": "Not configured (secret or token missing, a setting invalid), "
            "or the Bot API is unreachable."
        },
    },
)
async def telegram_webhook(
    request: Request,
    settings: Annotated[WebSettings, Depends(web_settings)],
    secret_token: Annotated[
        str | None, Header(alias=SECRET_HEADER, include_in_schema=False)
    ] = None,
) -> JSONResponse:
    problems = configuration_problems(settings)
    if problems:
        logger.error("webhook refused: %s", "; ".join(problems))
        return _answer(503, "The webhook is not configured.")
    assert settings.telegram_webhook_secret is not None
    if not _secret_matches(secret_token, settings.telegram_webhook_secret.get_secret_value()):
        logger.warning(
            "webhook refused: %s header %s",
            SECRET_HEADER,
            "missing" if secret_token is None else "does not match",
        )
        return _answer(403, "Forbidden.")

    body = await request.body()
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _answer(400, "The body is not valid JSON.")
    update_id = data.get("update_id") if isinstance(data, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        return _answer(422, "The body is not a Telegram Update (no integer update_id).")

    try:
        application = await runtime.get()
    except (TelegramError, OSError) as exc:
        # Nothing is claimed yet: Telegram's redelivery is handled normally.
        logger.error("cannot initialise the Telegram bot: %s", type(exc).__name__)
        return _answer(503, "The Bot API is unreachable; retry later.")

    claims, owner = update_claims(application), new_owner()
    outcome = await claims.begin(update_id, owner)
    if outcome is ClaimOutcome.DONE:
        logger.info("update %d was already handled: acknowledged, not answered again", update_id)
        return _answer(200, "Duplicate update.", duplicate=True)
    if outcome is ClaimOutcome.BUSY:
        logger.info("update %d is being handled by another request: retry later", update_id)
        return _answer(409, "This update is being handled; retry later.", duplicate=True)
    try:
        try:
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # noqa: BLE001 - ptb raises whatever a bad field causes
            logger.warning("update %d could not be parsed: %s", update_id, type(exc).__name__)
            await claims.finish(update_id, owner)
            return _answer(422, "The body is not a valid Telegram Update.")
        await application.process_update(update)
    except Exception:
        # Handler errors go to the bot's error handler inside process_update; whatever still
        # escapes is logged and acknowledged, so Telegram does not redeliver it for 24 hours.
        logger.exception("update %d failed", update_id)
    except BaseException:
        # Cancelled (timeout, shutdown): let a redelivery run it. Shielded, so the release
        # itself is not cancelled.
        await asyncio.shield(claims.abandon(update_id, owner))
        raise
    await claims.finish(update_id, owner)
    return _answer(200, "OK.")
