"""Load test on loopback (``make loadtest``): the webhook app under uvicorn and the polling bot,
both real processes, talking to the Bot API test double.

1. Webhook: ``uvicorn webhook.main:app`` gets WEBHOOK_DELIVERIES (200) concurrent Telegram
   deliveries, each a real photo in its own chat, plus DUPLICATES (20) concurrent re-deliveries
   of some of them (same update_id). The route processes each update inline (getFile, download,
   classification, sendMessage to the double) before answering, so a request's latency is the
   user's wait once Telegram delivered the update.
2. Two app processes (two "containers") sharing one store, a SQLite file and then DynamoDB (a
   DynamoDB-compatible server on loopback): WEBHOOK_DELIVERIES concurrent deliveries spread
   over both, and 20% of them delivered at the same moment to the other process too. A
   delivery that finds its update in progress elsewhere gets 409 and is retried like Telegram
   does (0.5 s later) until it gets 200.
3. Polling: ``python -m bot`` polls the double; POLLING_CHATS (50) chats send a photo at once.
   Latency: the photo entering the double's queue -> the double receiving the answer.
4. The store's own latency per photo update (``benchmarks.store_latency``).

Checks: zero errors (every delivery ends in 200, no apology, no retry or error in the logs),
every photo answered exactly once. Prints p50/p95/max latency and the server processes' peak
memory (VmHWM). Figures: docs/operations.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.replies import NON_PEDIGREE_WORDING  # noqa: E402
from tests.support import updates as u  # noqa: E402
from tests.support.app_process import app_environment, app_processes  # noqa: E402
from tests.support.bot_api_double import BotApiDouble  # noqa: E402
from tests.support.dynamodb_local import AWS_ENV, dynamodb_server  # noqa: E402

WEBHOOK_DELIVERIES = int(os.environ.get("LOADTEST_DELIVERIES", "200"))
DUPLICATES = int(os.environ.get("LOADTEST_DUPLICATES", "20"))
REDELIVERED_SHARE = 0.2  # of the deliveries to two processes, also sent to the other one
RETRY_DELAY = 0.5  # seconds before a delivery answered non-2xx is sent again (as Telegram)
POLLING_CHATS = int(os.environ.get("LOADTEST_CHATS", "50"))
SECRET = "loadtest_secret-" + "L" * 24
PHOTOS = sorted((ROOT / "tests" / "fixtures" / "photos").glob("*.jpg"))
# Every kind of answer the bot gives (bot.replies): a breed, unsure guesses, no pet, several pets,
# and the domestic-cat / mixed-breed answers of model 3.0 (their wording taken from the bot).
PREDICTION = re.compile(
    "|".join(
        [r"% sure", "not sure about this one", "don't see a cat or a dog", r"I see \d pets"]
        + [
            re.escape(wording.rstrip("."))
            for (sure, unsure), _ in NON_PEDIGREE_WORDING.values()
            for wording in (sure, unsure)
        ]
    )
)
TROUBLE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b.*|Traceback")


@dataclass
class Report:
    name: str
    latencies: list[float]
    peak_rss_mb: float
    errors: list[str]
    wall: float

    def line(self) -> str:
        q = statistics.quantiles(self.latencies, n=100) if len(self.latencies) > 1 else [0] * 99
        return (
            f"{self.name}: n={len(self.latencies)} p50={q[49] * 1000:.0f} ms "
            f"p95={q[94] * 1000:.0f} ms max={max(self.latencies) * 1000:.0f} ms "
            f"wall={self.wall:.2f} s peak RSS={self.peak_rss_mb:.0f} MB errors={len(self.errors)}"
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def load_photos(api: BotApiDouble) -> list[list[dict]]:
    """Every fixture photo at Telegram's sizes, stored in the double: PhotoSize lists."""
    all_sizes = []
    for path in PHOTOS:
        sizes, files = u.photo_sizes(path.read_bytes(), path.stem)
        for file_id, data in files.items():
            api.add_file(file_id, data)
        all_sizes.append(sizes)
    return all_sizes


def environment(api: BotApiDouble, state_dir: str) -> dict[str, str]:
    return {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": api.token,
        "TELEGRAM_API_BASE_URL": api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "BOT_STATE_DIR": state_dir,
        "BOT_POLL_TIMEOUT": "1",
        "PYTHONPATH": str(ROOT),
    }


def photo_update(update_id: int, chat_id: int, sizes: list[dict]) -> dict:
    chat = {"id": chat_id, "type": "private", "first_name": f"User{chat_id}"}
    user = {"id": chat_id, "is_bot": False, "first_name": f"User{chat_id}"}
    return {"update_id": update_id, **u.update(u.photo_message(sizes, chat=chat, user=user))}


def check_answers(api: BotApiDouble, updates: list[dict], errors: list[str]) -> None:
    expected = {(u_["message"]["chat"]["id"], u_["message"]["message_id"]) for u_ in updates}
    answered: dict[tuple[int, int], int] = {}
    for message in api.sent_messages:
        key = (int(message["chat_id"]), message["reply_parameters"]["message_id"])
        answered[key] = answered.get(key, 0) + 1
        if not PREDICTION.search(message["text"]):
            errors.append(f"not a breed answer: {message['text'][:80]!r}")
    missing = expected - set(answered)
    twice = [key for key, count in answered.items() if count > 1]
    if missing:
        errors.append(f"{len(missing)} photos not answered")
    if twice:
        errors.append(f"{len(twice)} photos answered more than once")
    if set(answered) - expected:
        errors.append("answers to messages nobody sent")


def spawn(args: list[str], *, cwd: Path, env: dict[str, str], log_path: Path) -> subprocess.Popen:
    with open(log_path, "w") as log:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def read_log(path: Path, errors: list[str]) -> None:
    for line in path.read_text(errors="replace").splitlines():
        if TROUBLE.search(line):
            errors.append(f"log: {line[:200]}")


async def webhook_load(tmp: Path) -> Report:
    import httpx

    errors: list[str] = []
    with BotApiDouble() as api:
        photos = load_photos(api)
        port = free_port()
        log_path = tmp / "uvicorn.log"
        server = spawn(
            [sys.executable, "-m", "uvicorn", "webhook.main:app", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log", "--backlog", "2048"],
            cwd=ROOT, env=environment(api, str(tmp / "state-web")), log_path=log_path,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}/telegram/webhook"
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        try:
            limits = httpx.Limits(max_connections=WEBHOOK_DELIVERIES + DUPLICATES + 10)
            async with httpx.AsyncClient(limits=limits, timeout=120) as client:
                deadline = time.monotonic() + 60
                while True:
                    with contextlib.suppress(httpx.TransportError):
                        if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code:
                            break
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("uvicorn did not start; see " + str(log_path))
                    await asyncio.sleep(0.1)
                # Warm-up (a warm container): Application initialised, model loaded.
                warm = photo_update(1, 999_999, photos[0])
                assert (await client.post(url, json=warm, headers=headers)).status_code == 200
                api.reset()
                photos = load_photos(api)

                ids = itertools.count(10_000)
                updates = [
                    photo_update(next(ids), 100_000 + i, photos[i % len(photos)])
                    for i in range(WEBHOOK_DELIVERIES)
                ]
                deliveries = updates + updates[:DUPLICATES]  # Telegram re-sends some

                begin = time.perf_counter()
                latencies = await asyncio.gather(
                    *(deliver(client, url, d, headers, errors, Counter()) for d in deliveries)
                )
                wall = time.perf_counter() - begin
            check_answers(api, updates, errors)
            peak = peak_rss_mb(server.pid)
        finally:
            stop(server)
        read_log(log_path, errors)
    return Report(
        f"webhook (uvicorn, {WEBHOOK_DELIVERIES} concurrent photos + {DUPLICATES} re-deliveries)",
        list(latencies[:WEBHOOK_DELIVERIES]),
        peak,
        errors,
        wall,
    )


async def deliver(
    client, url: str, update: dict, headers: dict, errors: list[str], statuses: Counter
) -> float:
    """One Telegram delivery: POST, and again after RETRY_DELAY while the answer is not 2xx
    (409: the update is in progress elsewhere). Returns the time to the final 2xx."""
    start = time.perf_counter()
    for _ in range(60):
        response = await client.post(url, json=update, headers=headers)
        statuses[response.status_code] += 1
        if response.is_success:
            return time.perf_counter() - start
        if response.status_code != 409:
            errors.append(f"HTTP {response.status_code}: {response.text[:100]}")
            return time.perf_counter() - start
        await asyncio.sleep(RETRY_DELAY)
    errors.append(f"update {update['update_id']} still in progress after 60 tries")
    return time.perf_counter() - start


async def shared_store_load(tmp: Path, label: str, store_env: dict[str, str]) -> Report:
    """Two app processes, one store; 20% of the updates delivered to both at once."""
    import httpx

    errors: list[str] = []
    statuses: Counter = Counter()
    run_dir = tmp / f"shared-{label.split()[0].lower()}"
    run_dir.mkdir()
    with BotApiDouble() as api:
        photos = load_photos(api)
        env = app_environment(
            **{k: v for k, v in environment(api, str(run_dir / "state")).items()
               if k.startswith(("TELEGRAM_", "BOT_"))},
            **store_env,
        )  # fmt: skip
        with app_processes(2, env, run_dir) as apps:
            urls = [f"{app.url}/telegram/webhook" for app in apps]
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            limits = httpx.Limits(max_connections=2 * WEBHOOK_DELIVERIES + 10)
            async with httpx.AsyncClient(limits=limits, timeout=120) as client:
                for n, url in enumerate(urls):  # warm containers: Application and model ready
                    warm = photo_update(n + 1, 999_990 + n, photos[0])
                    if (await client.post(url, json=warm, headers=headers)).status_code != 200:
                        raise RuntimeError(f"warm-up failed; see {run_dir}")
                api.reset()
                photos = load_photos(api)
                ids = itertools.count(30_000)
                updates = [
                    photo_update(next(ids), 300_000 + i, photos[i % len(photos)])
                    for i in range(WEBHOOK_DELIVERIES)
                ]
                every = round(1 / REDELIVERED_SHARE)
                jobs = [(urls[i % 2], update) for i, update in enumerate(updates)]
                again = [(urls[(i + 1) % 2], u_) for i, u_ in enumerate(updates) if i % every == 0]
                begin = time.perf_counter()
                latencies = await asyncio.gather(
                    *(deliver(client, url, up, headers, errors, statuses) for url, up in jobs),
                    *(deliver(client, url, up, headers, errors, statuses) for url, up in again),
                )
                wall = time.perf_counter() - begin
            check_answers(api, updates, errors)
            peak = max(peak_rss_mb(app.process.pid) for app in apps)
            logs = [app.log_path for app in apps]
        for log in logs:
            read_log(log, errors)
    busy = statuses[409]
    return Report(
        f"two processes, one {label} store ({WEBHOOK_DELIVERIES} photos, {len(again)} also "
        f"sent to the other process at once; {busy} answered 409 then retried)",
        list(latencies[:WEBHOOK_DELIVERIES]),
        peak,
        errors,
        wall,
    )


async def polling_load(tmp: Path) -> Report:
    errors: list[str] = []
    with BotApiDouble() as api:
        photos = load_photos(api)
        log_path = tmp / "bot.log"
        env = {**environment(api, str(tmp / "state-bot")), "BOT_LOG_LEVEL": "WARNING"}
        bot = spawn([sys.executable, "-m", "bot"], cwd=tmp, env=env, log_path=log_path)
        try:
            await api.until(lambda: bool(api.calls("getUpdates")), within=60)
            ids = itertools.count(20_000)
            updates = [
                photo_update(next(ids), 200_000 + i, photos[i % len(photos)])
                for i in range(POLLING_CHATS)
            ]
            pushed = time.monotonic()
            api.push_updates(*updates)
            await api.wait_for_messages(POLLING_CHATS, within=120)
            await asyncio.sleep(0.5)  # a late duplicate would show up now
            wall = max(r.at for r in api.calls("sendMessage")) - pushed
            latencies = [r.at - pushed for r in api.calls("sendMessage") if r.ok]
            check_answers(api, updates, errors)
            peak = peak_rss_mb(bot.pid)
        finally:
            stop(bot)
        read_log(log_path, errors)
    return Report(
        f"polling (python -m bot, {POLLING_CHATS} chats at once)", latencies, peak, errors, wall
    )


async def main() -> int:
    from benchmarks import store_latency

    with tempfile.TemporaryDirectory(prefix="breedbot-load-") as tmp:
        reports = [await webhook_load(Path(tmp))]
        sqlite_url = f"sqlite:///{Path(tmp) / 'shared.sqlite3'}"
        reports.append(await shared_store_load(Path(tmp), "SQLite", {"BREEDBOT_STORE": sqlite_url}))
        os.environ.update(AWS_ENV)
        with dynamodb_server() as server:
            # moto is one Python process serving one request at a time: under 400 concurrent
            # deliveries its answers take seconds (DynamoDB's take milliseconds), so the
            # store's timeout is raised here, or the bot would rightly go on without it.
            store = {
                **AWS_ENV,
                "BREEDBOT_STORE": server.store_url(server.create_table()),
                "BREEDBOT_STORE_TIMEOUT_SECONDS": "30",
            }
            reports.append(await shared_store_load(Path(tmp), "DynamoDB (moto)", store))
        reports.append(await polling_load(Path(tmp)))
    store_lines = await asyncio.to_thread(store_latency.main)
    print(f"Load test on loopback, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    failed = False
    for report in reports:
        print(report.line())
        for error in report.errors[:20]:
            print(f"  ERROR {error}")
        failed |= bool(report.errors)
    for line in store_lines:
        print(line)
    print("FAILED" if failed else "OK: zero errors, every photo answered exactly once")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
