"""Per-user photo limits across every process: ``BOT_RATE_LIMIT_PER_MINUTE`` and
``BOT_RATE_LIMIT_PER_DAY``.

Each window starts with the first photo after the previous window ended (so "10 a minute" means
what a user expects, whatever the clock says), and only answered photos count. Over a limit the
user gets one message saying when to come back; further photos in that block are dropped
silently (no classification, no message) until the window has passed.

``decide`` is the whole policy as a pure function of the stored state and the clock; the store
applies it by compare-and-set, so two containers handling the same user's photos at once still
count each photo once and send the message once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.store import RateState

MINUTE = 60.0
DAY = 24 * 3600.0


@dataclass(frozen=True)
class RateLimits:
    per_minute: int = 10  # 0: no limit
    per_day: int = 200  # 0: no limit

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0 or self.per_day > 0


@dataclass(frozen=True)
class RateDecision:
    allowed: bool
    notify: bool = False  # blocked, and this is the first photo of the block: say so once
    retry_after: float = 0.0  # seconds until photos are answered again
    window: str | None = None  # "minute" or "day": the limit that blocked

    @classmethod
    def allow(cls) -> RateDecision:
        return cls(allowed=True)


def _over(count: int, limit: int) -> bool:
    return limit > 0 and count >= limit


def decide(
    state: RateState | None, now: float, limits: RateLimits
) -> tuple[RateDecision, RateState, float]:
    """(decision, the state to store, when the record may expire)."""
    state = state or RateState()
    # A window ends only when its time is up. A "now" before its start is another process's
    # clock running a little behind (or a decision made a moment earlier): same window.
    if now >= state.minute_start + MINUTE:
        state = replace(state, minute_start=now, minute_count=0)
    if now >= state.day_start + DAY:
        state = replace(state, day_start=now, day_count=0)
    expires_at = max(state.day_start + DAY, state.notified_until) + MINUTE

    blocked_until = 0.0
    window = None
    if _over(state.day_count, limits.per_day):
        blocked_until, window = state.day_start + DAY, "day"
    elif _over(state.minute_count, limits.per_minute):
        blocked_until, window = state.minute_start + MINUTE, "minute"
    if window is not None:
        retry_after = max(1.0, blocked_until - now)
        if state.notified_until >= blocked_until:
            return RateDecision(False, False, retry_after, window), state, expires_at
        state = replace(state, notified_until=blocked_until)
        return RateDecision(False, True, retry_after, window), state, expires_at

    state = replace(state, minute_count=state.minute_count + 1, day_count=state.day_count + 1)
    return RateDecision.allow(), state, expires_at
