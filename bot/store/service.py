"""``Store``: the async face of a back-end, which never keeps a user waiting on it.

Back-ends are blocking (sqlite3, boto3), so every call runs in the store's own small thread pool
(never the event loop, and never the pool that classification uses: a hung store cannot starve
inference) and is bounded by ``timeout``. When a call fails or times out the store is marked
down for ``retry_seconds`` (logged once per outage, and once when it is back); meanwhile calls
go straight to the fallback without waiting:

- update claims: an in-memory back-end, so duplicates are still caught within this process;
- rate limits: none (a photo is answered rather than refused for the store's sake);
- feedback: no buttons under answers; a button press gets "try again later";
- ``/forget``, ``/stats``, the export: ``StoreUnavailable``, which the caller turns into a
  sentence for the user.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from bot.store.base import (
    AnswerRecord,
    Backend,
    ClaimOutcome,
    RateState,
    Rating,
    StoreError,
)
from bot.store.memory import MemoryBackend

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_CAS_ATTEMPTS = 16
# Between compare-and-set attempts on one hot record (one user's photos arriving at once): a
# random pause, doubling up to CAS_BACKOFF_MAX, so the racers spread out instead of colliding
# again. Eight attempts without a pause let 30 photos at once exhaust them on a busy machine,
# and the store was then marked down for everyone. Worst case ~0.5 s, inside ``timeout``.
CAS_BACKOFF = 0.002
CAS_BACKOFF_MAX = 0.04
STORE_THREADS = 8


class StoreUnavailable(StoreError):
    """The store is down (or was recently): the operation was not done."""


class Store:
    def __init__(
        self,
        backend: Backend,
        *,
        timeout: float = 2.0,
        retry_seconds: float = 30.0,
        description: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.timeout = timeout
        self.retry_seconds = retry_seconds
        self.description = description or backend.kind
        self.clock = clock
        self.fallback = MemoryBackend()
        self._executor = ThreadPoolExecutor(STORE_THREADS, thread_name_prefix="breedbot-store")
        self._down_until = 0.0
        self._down_reason: str | None = None
        self._state_lock = threading.Lock()

    # ----- health
    @property
    def kind(self) -> str:
        return self.backend.kind

    @property
    def available(self) -> bool:
        """False while the fallback is in use (after a failure, for ``retry_seconds``)."""
        return time.monotonic() >= self._down_until

    @property
    def problem(self) -> str | None:
        """Why the store was last marked down (no values, no credentials), or None."""
        return None if self.available else self._down_reason

    def _mark_down(self, operation: str, reason: str) -> None:
        with self._state_lock:
            first = self._down_reason is None
            self._down_until = time.monotonic() + self.retry_seconds
            self._down_reason = reason
        if first:
            log.warning(
                "The store (%s) failed on %s: %s. Going on without it: no rate limits, "
                "duplicates caught per process, no feedback buttons; retrying in %.0f s",
                self.description,
                operation,
                reason,
                self.retry_seconds,
            )

    def _mark_up(self) -> None:
        if self._down_reason is None:
            return
        with self._state_lock:
            if self._down_reason is None:
                return
            self._down_reason = None
        log.info("The store (%s) works again", self.description)

    async def _run(
        self, operation: str, action: Callable[[], T], limit_seconds: float | None = None
    ) -> T:
        """``action()`` in the store's threads, bounded by ``timeout``; StoreUnavailable when
        the store is down or fails now (then it is marked down)."""
        if not self.available:
            raise StoreUnavailable(self._down_reason or "the store is down")
        limit = limit_seconds or self.timeout
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, action)
        try:
            result = await asyncio.wait_for(future, limit)
        except TimeoutError:
            reason = f"no answer within {limit:g} s"
            self._mark_down(operation, reason)
            raise StoreUnavailable(reason) from None
        except StoreError as exc:
            self._mark_down(operation, str(exc))
            raise StoreUnavailable(str(exc)) from exc
        except Exception as exc:  # a back-end bug must not stop the bot either
            log.exception("The store (%s) failed on %s", self.description, operation)
            self._mark_down(operation, type(exc).__name__)
            raise StoreUnavailable(type(exc).__name__) from exc
        self._mark_up()
        return result

    async def check(self) -> str | None:
        """Ping the store now (``/healthz``): None when it answers, else why not."""
        try:
            await self._run("ping", self.backend.ping)
        except StoreUnavailable as exc:
            return str(exc)
        return None

    # ----- once-only updates
    async def claim_update(self, key: str, owner: str, lease_seconds: float) -> ClaimOutcome:
        now = self.clock()
        try:
            return await self._run(
                "claim", lambda: self.backend.claim_update(key, owner, now, now + lease_seconds)
            )
        except StoreUnavailable:
            return self.fallback.claim_update(key, owner, now, now + lease_seconds)

    async def finish_update(self, key: str, owner: str, keep_seconds: float) -> None:
        expires_at = self.clock() + keep_seconds
        self.fallback.finish_update(key, owner, expires_at)  # a no-op unless claimed there
        # Unavailable: the claim expires after its lease; a redelivery is then answered.
        with contextlib.suppress(StoreUnavailable):
            await self._run("finish", lambda: self.backend.finish_update(key, owner, expires_at))

    async def release_update(self, key: str, owner: str) -> None:
        self.fallback.release_update(key, owner)
        with contextlib.suppress(StoreUnavailable):
            await self._run("release", lambda: self.backend.release_update(key, owner))

    # ----- rate windows
    async def update_rate(
        self,
        key: str,
        change: Callable[[RateState | None], tuple[T, RateState | None, float]],
        default: T,
    ) -> T:
        """Apply ``change`` (pure: state -> (result, new state or None for "no write",
        expires_at)) by compare-and-set; ``default`` when the store is unavailable."""

        def cas() -> tuple[bool, T | None]:
            for attempt in range(MAX_CAS_ATTEMPTS):
                state, version = self.backend.read_rate(key)
                result, new_state, expires_at = change(state)
                if new_state is None or new_state == state:
                    return True, result
                if self.backend.write_rate(key, new_state, version, expires_at):
                    return True, result
                time.sleep(random.uniform(0.0, min(CAS_BACKOFF * 2**attempt, CAS_BACKOFF_MAX)))
            return False, None

        try:
            done, result = await self._run("rate limit", cas)
        except StoreUnavailable:
            return default
        if not done:
            # One record kept changing: the store works, so it is not marked down.
            log.warning(
                "A rate record kept changing under %d attempts; this photo goes without the limit",
                MAX_CAS_ATTEMPTS,
            )
            return default
        return result  # type: ignore[return-value]

    # ----- answers and feedback
    async def save_answer(self, record: AnswerRecord) -> bool:
        """False when it could not be saved (then the answer goes without buttons)."""
        try:
            await self._run("save answer", lambda: self.backend.put_answer(record))
        except StoreUnavailable:
            return False
        return True

    async def get_answer(self, user_hash: str, answer_id: str) -> AnswerRecord | None:
        now = self.clock()
        return await self._run(
            "read answer", lambda: self.backend.get_answer(user_hash, answer_id, now)
        )

    async def rate_answer(self, user_hash: str, answer_id: str, rating: Rating) -> bool:
        now = self.clock()
        return await self._run(
            "rate answer", lambda: self.backend.rate_answer(user_hash, answer_id, rating, now)
        )

    async def forget_user(self, user_hash: str) -> int:
        return await self._run("forget", lambda: self.backend.delete_user(user_hash))

    async def answers(self, *, limit_seconds: float | None = None) -> list[AnswerRecord]:
        """Every unexpired answer (``/stats``): a scan, so it may take longer than one call."""
        now = self.clock()
        return await self._run(
            "list answers",
            lambda: list(self.backend.scan_answers(now)),
            limit_seconds=limit_seconds or max(self.timeout, 20.0),
        )

    # ----- lifecycle
    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.backend.close()
