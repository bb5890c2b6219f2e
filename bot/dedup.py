"""Answer each Telegram update once, even when Telegram delivers it again, to any process.

Telegram re-sends an update it believes was not received: a webhook call that timed out or
answered non-2xx (possibly to another Lambda container), or, when polling, an update fetched by
a bot that stopped before its next ``getUpdates`` confirmed it. So before handling an update,
its id is **claimed** in the store (``bot.store``: one conditional write, which exactly one
caller wins) and, once handled, the claim is **finished** and kept for 24 hours (Telegram's
retention); a claim whose holder crashed expires after ``BREEDBOT_STORE_CLAIM_SECONDS`` so the
next delivery handles the update instead of losing it.

``UpdateClaims`` is shared by the webhook route (``webhook.routes.telegram``, one owner per
request) and polling (``install_dedup``: one owner per bot, since only one process can poll a
bot, so a restarted poller may take over the claims its crashed predecessor left).
"""

from __future__ import annotations

import logging
import secrets

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

from bot.store import UPDATE_RETENTION_SECONDS, ClaimOutcome, Store

log = logging.getLogger(__name__)

# Handler groups: the claim runs before every handler (group 0), the finish after all of them.
CHECK_GROUP = -100
DONE_GROUP = 100
CLAIMS_KEY = "breedbot.claims"


def bot_id_of(token: str) -> str:
    """The bot's public numeric id (the part of the token before ':'), never the secret."""
    bot_id = token.split(":", 1)[0]
    return bot_id if bot_id.isdigit() else "bot"


def new_owner() -> str:
    """A claim owner for one webhook request."""
    return "req-" + secrets.token_hex(8)


class UpdateClaims:
    """Claims of one bot's update ids in ``store``."""

    def __init__(
        self,
        store: Store,
        bot_id: str,
        *,
        lease_seconds: float,
        keep_seconds: float = UPDATE_RETENTION_SECONDS,
    ) -> None:
        self.store = store
        self.bot_id = bot_id
        self.lease_seconds = lease_seconds
        self.keep_seconds = keep_seconds

    def key(self, update_id: int) -> str:
        return f"{self.bot_id}:{update_id}"

    async def begin(self, update_id: int, owner: str) -> ClaimOutcome:
        return await self.store.claim_update(self.key(update_id), owner, self.lease_seconds)

    async def finish(self, update_id: int, owner: str) -> None:
        await self.store.finish_update(self.key(update_id), owner, self.keep_seconds)

    async def abandon(self, update_id: int, owner: str) -> None:
        """Release a claim without marking the update handled: a redelivery handles it."""
        await self.store.release_update(self.key(update_id), owner)


def install_dedup(app: Application, claims: UpdateClaims) -> None:
    """Polling: drop updates already handled; mark each handled after its handlers ran.

    The owner is the same for every poller of this bot, so a restarted bot takes over what a
    crashed one left half done; the same update twice in one batch (handled concurrently) is
    caught by the set of ids in progress in this process.
    """
    owner = f"poll-{claims.bot_id}"
    in_progress: set[int] = set()

    async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        update_id = update.update_id
        if update_id in in_progress:
            log.info("Update %d is being handled already: not answering it twice", update_id)
            raise ApplicationHandlerStop
        in_progress.add(update_id)
        outcome = await claims.begin(update_id, owner)
        if outcome is not ClaimOutcome.CLAIMED:
            in_progress.discard(update_id)
            log.info("Update %d was already handled: not answering it again", update_id)
            raise ApplicationHandlerStop

    async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        try:
            await claims.finish(update.update_id, owner)
        finally:
            in_progress.discard(update.update_id)

    app.bot_data[CLAIMS_KEY] = claims
    app.add_handler(TypeHandler(Update, check), group=CHECK_GROUP)
    app.add_handler(TypeHandler(Update, done), group=DONE_GROUP)
