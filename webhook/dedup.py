"""Remember recently processed Telegram ``update_id``s: a redelivered update is answered once.

Telegram retries a delivery it thinks failed (timeout, non-2xx), so the same ``update_id`` can
arrive again. The memory is per process (one Lambda container): bounded, least recently seen
first out. Across containers a duplicate is still possible, but rare: a retry usually lands on
the container that is warm.
"""

from __future__ import annotations

from collections import OrderedDict


class RecentUpdateIds:
    """A bounded LRU set of update ids with an "in flight" state for concurrent servers."""

    def __init__(self, max_size: int = 2048) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self.max_size = max_size
        self._done: OrderedDict[int, None] = OrderedDict()
        self._in_flight: set[int] = set()

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, update_id: object) -> bool:
        return update_id in self._done or update_id in self._in_flight

    def begin(self, update_id: int) -> bool:
        """Claim ``update_id``; False when it was already processed or is being processed."""
        if update_id in self:
            if update_id in self._done:
                self._done.move_to_end(update_id)
            return False
        self._in_flight.add(update_id)
        return True

    def finish(self, update_id: int) -> None:
        """Mark a claimed id as processed (it is then remembered until pushed out)."""
        self._in_flight.discard(update_id)
        self._done[update_id] = None
        self._done.move_to_end(update_id)
        while len(self._done) > self.max_size:
            self._done.popitem(last=False)

    def abandon(self, update_id: int) -> None:
        """Release a claimed id without marking it processed (a redelivery will be handled)."""
        self._in_flight.discard(update_id)
