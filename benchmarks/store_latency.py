"""The latency the store adds to one photo update, per back-end (part of ``make loadtest``).

For each photo the webhook makes four store calls: claim the update, check the sender's rate
windows (read + compare-and-set), keep the answer for the feedback buttons, finish the claim.
Two processes (two containers) run that sequence through the real ``bot.store.Store`` (its
thread pool, its timeout) for distinct updates and users, several at a time, against one
shared store: a SQLite file, and a DynamoDB-compatible server on loopback. That server is moto,
a single Python process that handles one request at a time and is far slower than DynamoDB
(same-region DynamoDB calls take a few ms each): its figures show the code path and the number
of round trips (five: claim, rate read, rate write, answer, finish), not DynamoDB's speed.
Prints p50/p95 of the whole sequence and of each call.

    python -m benchmarks.store_latency
"""

from __future__ import annotations

import asyncio
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROCESSES = 2
STEPS = ("claim", "rate limit", "save answer", "finish")


def _percentiles(values: list[float]) -> tuple[float, float]:
    q = statistics.quantiles(values, n=100)
    return q[49] * 1000, q[94] * 1000


async def _one_process(
    url: str, offset: int, updates: int, concurrency: int
) -> dict[str, list[float]]:
    from bot.ratelimit import RateDecision, RateLimits, decide
    from bot.store import AnswerRecord, Guess, StoreSettings, open_store, parse_store_url

    store = open_store(parse_store_url(url), StoreSettings(_env_file=None, timeout_seconds=10))
    limits = RateLimits()
    timings: dict[str, list[float]] = {step: [] for step in (*STEPS, "total")}
    gate = asyncio.Semaphore(concurrency)

    async def update(index: int) -> None:
        key, user = f"1:{offset + index}", f"user-{offset + index}"
        now = time.time()
        record = AnswerRecord(
            answer_id=f"{offset + index:011d}",
            user_hash=user,
            chat_type="private",
            file_unique_id="AQADbench",
            model_version="bench",
            guesses=(Guess("beagle", "Beagle", 0.9), Guess("pug", "Pug", 0.05)),
            created_at=now,
            expires_at=now + 3600,
        )
        calls = (
            ("claim", lambda: store.claim_update(key, "bench", 120)),
            (
                "rate limit",
                lambda: store.update_rate(
                    user, lambda s: decide(s, time.time(), limits), RateDecision.allow()
                ),
            ),
            ("save answer", lambda: store.save_answer(record)),
            ("finish", lambda: store.finish_update(key, "bench", 3600)),
        )
        async with gate:
            begin = time.perf_counter()
            for step, call in calls:
                start = time.perf_counter()
                await call()
                timings[step].append(time.perf_counter() - start)
            timings["total"].append(time.perf_counter() - begin)

    await update(-1)  # connections, schema, boto3 client: not part of the figure
    for values in timings.values():
        values.clear()
    await asyncio.gather(*(update(i) for i in range(updates)))
    if not store.available:
        raise RuntimeError(f"the store failed during the benchmark: {store.problem}")
    store.close()
    return timings


def _process_main(url: str, offset: int, updates: int, concurrency: int, queue) -> None:  # type: ignore[no-untyped-def]
    queue.put(asyncio.run(_one_process(url, offset, updates, concurrency)))


def measure(url: str, label: str, *, updates: int, concurrency: int) -> str:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    processes = [
        context.Process(
            target=_process_main, args=(url, n * 1_000_000, updates, concurrency, queue)
        )
        for n in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=300) for _ in processes]
    for process in processes:
        process.join(30)
    merged: dict[str, list[float]] = {}
    for result in results:
        for step, values in result.items():
            merged.setdefault(step, []).extend(values)
    total = _percentiles(merged["total"])
    steps = ", ".join(
        f"{step} {_percentiles(merged[step])[0]:.1f}/{_percentiles(merged[step])[1]:.1f}"
        for step in STEPS
    )
    return (
        f"store latency per photo update, {label}: p50={total[0]:.1f} ms p95={total[1]:.1f} ms "
        f"({PROCESSES} processes x {updates} updates, {concurrency} at a time each; "
        f"p50/p95 ms: {steps})"
    )


def main() -> list[str]:
    import os

    from tests.support.dynamodb_local import AWS_ENV, dynamodb_server

    lines = []
    with tempfile.TemporaryDirectory(prefix="breedbot-store-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'store.sqlite3'}"
        lines.append(measure(url, "SQLite file, WAL", updates=300, concurrency=16))
    os.environ.update(AWS_ENV)
    with dynamodb_server() as server:
        url = server.store_url(server.create_table())
        label = "DynamoDB API (moto server on loopback)"
        lines.append(measure(url, label, updates=100, concurrency=1))
        lines.append(measure(url, label, updates=100, concurrency=8))
    return lines


if __name__ == "__main__":
    for line in main():
        print(line)
