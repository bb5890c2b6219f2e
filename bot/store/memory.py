"""``memory://``: the store in this process's memory.

For tests, and the fallback while the real store is down (then duplicates are caught per
process only). Bounded: expired entries are dropped, and past ``max_updates`` claims the oldest
finished ones go first.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, replace

from bot.store.base import AnswerRecord, Backend, ClaimOutcome, RateState, Rating


@dataclass
class _Claim:
    state: str  # "busy" or "done"
    owner: str
    lease_until: float
    expires_at: float


class MemoryBackend(Backend):
    kind = "memory"

    def __init__(self, max_updates: int = 100_000) -> None:
        self.max_updates = max_updates
        self._lock = threading.Lock()
        self._updates: OrderedDict[str, _Claim] = OrderedDict()
        self._rates: dict[str, tuple[RateState, int, float]] = {}
        self._answers: dict[tuple[str, str], AnswerRecord] = {}

    # ----- once-only updates
    def claim_update(self, key: str, owner: str, now: float, lease_until: float) -> ClaimOutcome:
        with self._lock:
            claim = self._updates.get(key)
            if claim is not None and claim.expires_at > now:
                if claim.state == "done":
                    return ClaimOutcome.DONE
                if claim.lease_until > now and claim.owner != owner:
                    return ClaimOutcome.BUSY
            self._updates[key] = _Claim("busy", owner, lease_until, lease_until)
            self._updates.move_to_end(key)
            self._trim(now)
            return ClaimOutcome.CLAIMED

    def _trim(self, now: float) -> None:
        if len(self._updates) <= self.max_updates:
            return
        for key in [k for k, c in self._updates.items() if c.expires_at <= now]:
            del self._updates[key]
        while len(self._updates) > self.max_updates:
            self._updates.popitem(last=False)

    def finish_update(self, key: str, owner: str, expires_at: float) -> None:
        with self._lock:
            claim = self._updates.get(key)
            if claim is not None and claim.owner == owner:
                claim.state, claim.expires_at = "done", expires_at

    def release_update(self, key: str, owner: str) -> None:
        with self._lock:
            claim = self._updates.get(key)
            if claim is not None and claim.owner == owner and claim.state == "busy":
                del self._updates[key]

    # ----- rate windows
    def read_rate(self, key: str) -> tuple[RateState | None, int]:
        with self._lock:
            entry = self._rates.get(key)
        return (None, 0) if entry is None else (entry[0], entry[1])

    def write_rate(self, key: str, state: RateState, version: int, expires_at: float) -> bool:
        with self._lock:
            entry = self._rates.get(key)
            if (entry[1] if entry else 0) != version:
                return False
            self._rates[key] = (state, version + 1, expires_at)
            return True

    # ----- answers and feedback
    def put_answer(self, record: AnswerRecord) -> None:
        with self._lock:
            self._answers[(record.user_hash, record.answer_id)] = record

    def get_answer(self, user_hash: str, answer_id: str, now: float) -> AnswerRecord | None:
        with self._lock:
            record = self._answers.get((user_hash, answer_id))
        return record if record is not None and record.expires_at > now else None

    def rate_answer(self, user_hash: str, answer_id: str, rating: Rating, now: float) -> bool:
        with self._lock:
            record = self._answers.get((user_hash, answer_id))
            if (
                record is None
                or record.expires_at <= now
                or record.correction is not None
                or record.verdict != rating.expect_verdict
            ):
                return False
            self._answers[(user_hash, answer_id)] = replace(
                record,
                verdict=rating.verdict,
                correction=rating.correction,
                rated_at=rating.rated_at,
                expires_at=rating.expires_at,
            )
            return True

    def delete_user(self, user_hash: str) -> int:
        with self._lock:
            keys = [key for key in self._answers if key[0] == user_hash]
            for key in keys:
                del self._answers[key]
        return len(keys)

    def scan_answers(self, now: float) -> Iterator[AnswerRecord]:
        with self._lock:
            records = [r for r in self._answers.values() if r.expires_at > now]
        yield from records

    def ping(self) -> None:
        return None
