"""The photo limit at the door of classification (``bot.ratelimit`` has the policy)."""

from __future__ import annotations

import logging
import time

from telegram import Message

from bot import feedback_replies as texts
from bot.ratelimit import RateDecision, decide
from bot.services import Services, reply

log = logging.getLogger(__name__)


async def admit_photo(message: Message, svc: Services) -> bool:
    """True: classify this photo. False: the sender is over a limit; they were told once
    (this call or an earlier one), and nothing more is to be done."""
    user = message.from_user
    limits = svc.limits
    if user is None or not limits.enabled or svc.is_admin(user.id):
        return True
    decision = await svc.store.update_rate(
        svc.hasher.user_hash(user.id),
        lambda state: decide(state, time.time(), limits),  # the clock read at each attempt
        default=RateDecision.allow(),  # the store is down: answer rather than refuse
    )
    if decision.allowed:
        return True
    if decision.notify:
        limit = limits.per_day if decision.window == "day" else limits.per_minute
        log.info("Rate limit (%s) reached in chat %s: told once", decision.window, message.chat_id)
        await reply(message, texts.rate_limited(decision.window, limit, decision.retry_after), svc)
    else:
        log.info("Rate limit (%s): photo skipped silently", decision.window)
    return False
