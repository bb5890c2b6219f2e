"""Remember recently processed Telegram ``update_id``s: a redelivered update is answered once.

Telegram retries a delivery it thinks failed (timeout, non-2xx), so the same ``update_id`` can
arrive again. The memory is per process (one Lambda container): bounded, least recently seen
first out. Across containers a duplicate is still possible, but rare: a retry usually lands on
the container that is warm.

The class lives in ``bot.dedup`` (the polling bot uses it too, with a file behind it).
"""

from __future__ import annotations

from bot.dedup import RecentUpdateIds

__all__ = ["RecentUpdateIds"]
