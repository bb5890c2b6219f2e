"""Every store back-end passes the same contract: memory, SQLite (a real file) and DynamoDB (a
real DynamoDB-compatible server on loopback, through boto3).

Then what only real concurrency shows: threads racing for one claim, one rate record or one
rating, and two *processes* sharing one SQLite file.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.ratelimit import RateDecision, RateLimits, decide
from bot.store import (
    AnswerRecord,
    Backend,
    ClaimOutcome,
    Guess,
    RateState,
    Rating,
    Store,
    open_backend,
    parse_store_url,
)
from bot.store.memory import MemoryBackend
from bot.store.service import MAX_CAS_ATTEMPTS
from bot.store.sqlite import SQLiteBackend

BACKENDS = ["memory", "sqlite", "dynamodb"]
NOW = 1_800_000_000.0


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path) -> Iterator[Backend]:
    if request.param == "memory":
        made: Backend = MemoryBackend()
    elif request.param == "sqlite":
        made = SQLiteBackend(tmp_path / "store.sqlite3")
    else:
        server = request.getfixturevalue("dynamodb")
        made = open_backend(parse_store_url(server.store_url(server.create_table())))
    try:
        yield made
    finally:
        made.close()


def record(answer_id: str = "A" * 11, user_hash: str = "u1", **fields) -> AnswerRecord:
    values = {
        "answer_id": answer_id,
        "user_hash": user_hash,
        "chat_type": "private",
        "file_unique_id": "AQADx",
        "model_version": "2.0",
        "guesses": (
            Guess("beagle", "Beagle", 0.81),
            Guess("basset_hound", "Basset hound", 0.1),
            Guess("english_foxhound", "English foxhound", 0.05),
        ),
        "created_at": NOW,
        "expires_at": NOW + 7 * 86400,
    }
    values.update(fields)
    return AnswerRecord(**values)


# ----- update claims
def test_a_claim_is_won_once_and_then_remembered(backend: Backend) -> None:
    assert backend.claim_update("1:10", "a", NOW, NOW + 120) is ClaimOutcome.CLAIMED
    assert backend.claim_update("1:10", "b", NOW + 1, NOW + 121) is ClaimOutcome.BUSY
    backend.finish_update("1:10", "a", NOW + 86400)
    assert backend.claim_update("1:10", "b", NOW + 2, NOW + 122) is ClaimOutcome.DONE
    assert backend.claim_update("1:11", "b", NOW + 2, NOW + 122) is ClaimOutcome.CLAIMED
    assert backend.claim_update("2:10", "b", NOW + 2, NOW + 122) is ClaimOutcome.CLAIMED


def test_a_crashed_claim_expires_and_is_taken_over(backend: Backend) -> None:
    assert backend.claim_update("1:20", "crashed", NOW, NOW + 120) is ClaimOutcome.CLAIMED
    assert backend.claim_update("1:20", "b", NOW + 60, NOW + 180) is ClaimOutcome.BUSY
    assert backend.claim_update("1:20", "b", NOW + 121, NOW + 241) is ClaimOutcome.CLAIMED
    backend.finish_update("1:20", "crashed", NOW + 86400)  # too late: not its claim any more
    assert backend.claim_update("1:20", "c", NOW + 122, NOW + 242) is ClaimOutcome.BUSY
    backend.finish_update("1:20", "b", NOW + 86400)
    assert backend.claim_update("1:20", "c", NOW + 123, NOW + 243) is ClaimOutcome.DONE


def test_the_same_owner_may_claim_again_and_a_release_frees_the_update(backend: Backend) -> None:
    assert backend.claim_update("1:30", "poll-1", NOW, NOW + 120) is ClaimOutcome.CLAIMED
    assert backend.claim_update("1:30", "poll-1", NOW + 5, NOW + 125) is ClaimOutcome.CLAIMED
    backend.release_update("1:30", "other")  # not its claim: nothing happens
    assert backend.claim_update("1:30", "b", NOW + 6, NOW + 126) is ClaimOutcome.BUSY
    backend.release_update("1:30", "poll-1")
    assert backend.claim_update("1:30", "b", NOW + 7, NOW + 127) is ClaimOutcome.CLAIMED


def test_a_finished_claim_expires_after_its_retention(backend: Backend) -> None:
    backend.claim_update("1:40", "a", NOW, NOW + 120)
    backend.finish_update("1:40", "a", NOW + 100)
    assert backend.claim_update("1:40", "b", NOW + 99, NOW + 219) is ClaimOutcome.DONE
    assert backend.claim_update("1:40", "b", NOW + 102, NOW + 222) is ClaimOutcome.CLAIMED


# ----- rate windows (compare-and-set)
def test_rate_records_change_only_from_the_version_read(backend: Backend) -> None:
    assert backend.read_rate("u1") == (None, 0)
    first = RateState(NOW, 1, NOW, 1)
    assert backend.write_rate("u1", first, 0, NOW + 86400)
    assert not backend.write_rate("u1", RateState(NOW, 9, NOW, 9), 0, NOW + 86400)
    assert backend.read_rate("u1") == (first, 1)
    second = RateState(NOW, 2, NOW, 2, notified_until=NOW + 60)
    assert not backend.write_rate("u1", second, 5, NOW + 86400)
    assert backend.write_rate("u1", second, 1, NOW + 86400)
    assert backend.read_rate("u1") == (second, 2)
    assert backend.read_rate("u2") == (None, 0)


# ----- answers and feedback
def test_answers_round_trip_and_expire(backend: Backend) -> None:
    kept = record()
    backend.put_answer(kept)
    assert backend.get_answer("u1", kept.answer_id, NOW) == kept
    assert backend.get_answer("u2", kept.answer_id, NOW) is None  # another user's key
    assert backend.get_answer("u1", "B" * 11, NOW) is None
    assert backend.get_answer("u1", kept.answer_id, kept.expires_at + 1) is None
    assert [r.answer_id for r in backend.scan_answers(NOW)] == [kept.answer_id]
    assert list(backend.scan_answers(kept.expires_at + 1)) == []


def test_an_answer_is_rated_once_then_corrected_once(backend: Backend) -> None:
    backend.put_answer(record())
    answer_id = "A" * 11
    wrong = Rating("wrong", None, NOW + 5, NOW + 365 * 86400)
    assert backend.rate_answer("u1", answer_id, wrong, NOW + 5)
    assert not backend.rate_answer("u1", answer_id, wrong, NOW + 6)  # already has a verdict
    right = Rating("right", None, NOW + 6, NOW + 365 * 86400)
    assert not backend.rate_answer("u1", answer_id, right, NOW + 6)
    fix = Rating("wrong", "basset_hound", NOW + 7, NOW + 365 * 86400, expect_verdict="wrong")
    assert backend.rate_answer("u1", answer_id, fix, NOW + 7)
    again = Rating("wrong", "mixed", NOW + 8, NOW + 365 * 86400, expect_verdict="wrong")
    assert not backend.rate_answer("u1", answer_id, again, NOW + 8)
    stored = backend.get_answer("u1", answer_id, NOW + 9)
    assert stored is not None
    assert (stored.verdict, stored.correction, stored.rated_at) == (
        "wrong",
        "basset_hound",
        NOW + 7,
    )
    assert stored.expires_at == NOW + 365 * 86400  # a rating is kept longer


def test_a_correction_needs_wrong_first_and_nothing_is_written_for_missing_answers(
    backend: Backend,
) -> None:
    backend.put_answer(record())
    fix = Rating("wrong", "mixed", NOW, NOW + 86400, expect_verdict="wrong")
    assert not backend.rate_answer("u1", "A" * 11, fix, NOW)
    assert not backend.rate_answer("u1", "Z" * 11, Rating("right", None, NOW, NOW + 1), NOW)
    assert not backend.rate_answer("u2", "A" * 11, Rating("right", None, NOW, NOW + 1), NOW)
    expired = Rating("right", None, NOW, NOW + 86400)
    assert not backend.rate_answer("u1", "A" * 11, expired, NOW + 8 * 86400)
    stored = backend.get_answer("u1", "A" * 11, NOW)
    assert stored is not None and stored.verdict is None
    assert next(iter(backend.scan_answers(NOW))).verdict is None


def test_forgetting_a_user_deletes_only_theirs(backend: Backend) -> None:
    for index in range(30):  # more than one DynamoDB batch
        backend.put_answer(record(answer_id=f"{index:011d}", user_hash="u1"))
    backend.put_answer(record(answer_id="B" * 11, user_hash="u2"))
    assert backend.delete_user("u1") == 30
    assert backend.delete_user("u1") == 0
    assert [r.user_hash for r in backend.scan_answers(NOW)] == ["u2"]


def test_ping(backend: Backend) -> None:
    backend.ping()


# ----- races between threads
def test_racing_threads_claim_an_update_exactly_once(backend: Backend) -> None:
    outcomes: list[ClaimOutcome] = []
    barrier = threading.Barrier(8)

    def race(owner: int) -> None:
        barrier.wait()
        outcomes.append(backend.claim_update("1:99", f"o{owner}", NOW, NOW + 120))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(ClaimOutcome.CLAIMED) == 1
    assert outcomes.count(ClaimOutcome.BUSY) == 7


def test_racing_photos_are_counted_once_each(backend: Backend) -> None:
    """30 photos of one user at once through the real Store: 10 answered, 1 told."""
    store = Store(backend, timeout=10)
    limits = RateLimits(per_minute=10, per_day=200)

    async def one() -> RateDecision:
        return await store.update_rate(
            "u1", lambda state: decide(state, NOW, limits), RateDecision.allow()
        )

    async def all_at_once() -> list[RateDecision]:
        return await asyncio.gather(*(one() for _ in range(30)))

    decisions = asyncio.run(all_at_once())
    assert sum(d.allowed for d in decisions) == 10
    assert sum(d.notify for d in decisions) == 1
    state, _ = backend.read_rate("u1")
    assert state is not None and state.minute_count == 10 and state.day_count == 10


# ----- two processes, one SQLite file
class _AlwaysRacedBackend(MemoryBackend):
    """Another writer always gets to the rate record first."""

    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def write_rate(self, key, state, version, expires_at) -> bool:
        self.writes += 1
        return False


def test_a_record_that_keeps_changing_is_not_a_store_that_is_down(caplog) -> None:
    backend = _AlwaysRacedBackend()
    store = Store(backend, timeout=10)
    limits = RateLimits(per_minute=10, per_day=200)
    decision = asyncio.run(
        store.update_rate("u1", lambda state: decide(state, NOW, limits), RateDecision.allow())
    )
    assert decision == RateDecision.allow()  # the photo is answered, as when the store is down
    assert backend.writes == MAX_CAS_ATTEMPTS
    assert store.available  # ... but the other users keep their limits and buttons
    assert "kept changing" in caplog.text and "u1" not in caplog.text


def _claim_many(path: str, owner: str, ids: list[int], start: float, queue) -> None:
    backend = SQLiteBackend(Path(path))
    while time.time() < start:
        time.sleep(0.001)
    won = [
        i for i in ids if backend.claim_update(f"1:{i}", owner, NOW, NOW + 120).value == "claimed"
    ]
    limits = RateLimits(per_minute=10, per_day=200)
    store = Store(backend, timeout=10)
    told = 0
    allowed = 0
    for _ in range(15):
        decision = asyncio.run(
            store.update_rate("u1", lambda s: decide(s, NOW, limits), RateDecision.allow())
        )
        allowed += decision.allowed
        told += decision.notify
    store.close()
    queue.put((won, allowed, told))


def test_two_processes_share_one_sqlite_file(tmp_path) -> None:
    path = str(tmp_path / "shared.sqlite3")
    SQLiteBackend(Path(path)).ping()  # create it (WAL mode, schema)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    ids = list(range(300))
    start = time.time() + 1.5  # both are running their loops by then
    processes = [
        context.Process(target=_claim_many, args=(path, f"p{n}", ids, start, queue))
        for n in range(2)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    won = [update_id for result in results for update_id in result[0]]
    assert sorted(won) == ids  # every update claimed, none twice
    assert sum(r[1] for r in results) == 10  # 30 photos from two processes: 10 answered
    assert sum(r[2] for r in results) == 1  # and one "please wait"
    assert SQLiteBackend(Path(path)).read_rate("u1")[0].minute_count == 10
