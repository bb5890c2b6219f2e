"""Webhook overhead on loopback: time from Telegram's POST to the bot's reply reaching the Bot API,
minus the classification itself.

Two paths, both with the real app, bot and classifier, and the Bot API test double on
127.0.0.1:

- ``uvicorn``: an HTTP POST to ``/telegram/webhook`` served by uvicorn (``make run``);
- ``lambda``: ``webhook.main.handler(event, context)`` with a Function URL event, as Lambda
  calls it (Mangum, one persistent event loop, warm container).

For each photo update: ``reply_at`` (the double receives sendMessage) minus ``posted_at``, and
that minus the time spent in ``Classifier.classify`` for the update (measured in-process). The
remainder is what the web layer and the bot add: routing, JSON, getFile, the download, the
reply. Prints p50/p95 in milliseconds. Run: ``python -m benchmarks.webhook_overhead`` (or
``make bench``).
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

WARMUP = 5
SAMPLES = int(os.environ.get("WEBHOOK_BENCH_SAMPLES", "60"))
SECRET = "bench-secret_0123456789"
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "dog_beagle.jpg"


class ClassifyTimer:
    """Wraps the process-wide classifier's ``classify`` to record how long each call took."""

    def __init__(self) -> None:
        from classifier import get_classifier

        self.classifier = get_classifier()
        self.original = self.classifier.classify
        self.durations: list[float] = []
        self._lock = threading.Lock()

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return self.original(*args, **kwargs)
            finally:
                with self._lock:
                    self.durations.append(time.perf_counter() - start)

        self.classifier.classify = timed  # type: ignore[method-assign]

    def take(self) -> float:
        with self._lock:
            total, self.durations = sum(self.durations), []
        return total

    def restore(self) -> None:
        self.classifier.classify = self.original  # type: ignore[method-assign]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _photo_update(api, update_id: int) -> dict:
    from tests.support import updates as U

    sizes, files = U.photo_sizes(PHOTO.read_bytes(), f"bench{update_id}")
    for file_id, data in files.items():
        api.add_file(file_id, data)
    # One user per photo, as in real traffic (one user's 65 photos would hit the rate limit).
    user_id = update_id % 1_000_000_000
    user = {"id": user_id, "is_bot": False, "first_name": "Bench"}
    chat = {"id": user_id, "type": "private", "first_name": "Bench"}
    return {"update_id": update_id, **U.update(U.photo_message(sizes, user=user, chat=chat))}


def _wait_reply(api, count: int, timeout: float = 30.0) -> float:
    """The monotonic time at which the double received reply number ``count``."""
    if not api.wait_until(lambda: len(api.sent_messages) >= count, timeout):
        raise RuntimeError("no reply reached the Bot API double")
    replies = [r for r in api.requests if r.method == "sendMessage" and r.ok]
    return replies[count - 1].at


def _measure(api, timer: ClassifyTimer, post, first_id: int) -> dict[str, list[float]]:
    totals, overheads, classify = [], [], []
    api.reset()
    for i in range(WARMUP + SAMPLES):
        update = _photo_update(api, first_id + i)
        timer.take()
        posted_at = time.monotonic()
        status = post(update)
        if status != 200:
            raise RuntimeError(f"webhook answered {status}")
        reply_at = _wait_reply(api, i + 1)
        spent = timer.take()
        if i >= WARMUP:
            totals.append(reply_at - posted_at)
            classify.append(spent)
            overheads.append(reply_at - posted_at - spent)
    return {"total": totals, "classify": classify, "overhead": overheads}


def _serve_uvicorn():
    import uvicorn

    from webhook.main import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    return server, thread, port


def _report(name: str, figures: dict[str, list[float]]) -> None:
    def ms(values: list[float], q: float) -> str:
        return f"{_percentile(values, q) * 1000:7.1f}"

    print(f"  {name:<8} {'p50':>7} {'p95':>7}  (ms, n={len(figures['total'])})")
    for key, label in (
        ("total", "POST -> reply at the Bot API"),
        ("classify", "classification"),
        ("overhead", "overhead (total - classification)"),
    ):
        values = figures[key]
        print(f"    {ms(values, 0.5)} {ms(values, 0.95)}  {label}")


def _fast_double() -> None:
    """The double's http.server writes headers and body in two sends; with Nagle's algorithm
    and the client's delayed ACK that costs ~40 ms per Bot API call on loopback, which is the
    double's artefact, not the webhook's (Telegram's servers do not do this). TCP_NODELAY on
    the double's sockets removes it for this measurement."""
    from tests.support import bot_api_double

    bot_api_double._Handler.disable_nagle_algorithm = True


def main() -> None:
    import httpx

    from tests.support.bot_api_double import BotApiDouble

    _fast_double()
    from tests.support.lambda_events import FakeLambdaContext, telegram_webhook_event

    print("Webhook overhead on loopback (Bot API double on 127.0.0.1, real photo updates)")
    workdir = tempfile.mkdtemp(prefix="breedbot-bench-")
    previous_cwd = os.getcwd()
    os.chdir(workdir)  # no .env from the checkout
    with BotApiDouble() as api:
        os.environ.update(
            TELEGRAM_BOT_TOKEN=api.token,
            TELEGRAM_API_BASE_URL=api.base_url,
            TELEGRAM_WEBHOOK_SECRET=SECRET,
            BOT_STATE_DIR=workdir,  # a fresh store (SQLite) unless BREEDBOT_STORE says otherwise
        )
        import logging

        from webhook.config import get_settings
        from webhook.telegram_app import runtime

        for name in ("webhook", "bot"):
            logging.getLogger(name).setLevel(logging.WARNING)
        get_settings.cache_clear()
        runtime.forget()
        timer = ClassifyTimer()
        try:
            # 1. Lambda: the Mangum handler on its persistent loop (a warm container).
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            from webhook.main import handler

            def lambda_post(update: dict) -> int:
                event = telegram_webhook_event(update, secret=SECRET)
                return handler(event, FakeLambdaContext())["statusCode"]

            lambda_figures = _measure(api, timer, lambda_post, 10_000_000)
            per_update: dict[str, int] = {}
            for request in api.requests:
                per_update[request.method] = per_update.get(request.method, 0) + 1
            calls_per_update = ", ".join(
                f"{method} {count / (WARMUP + SAMPLES):g}"
                for method, count in sorted(per_update.items())
            )
            loop.run_until_complete(runtime.shutdown())
            asyncio.set_event_loop(None)
            loop.close()

            # 2. uvicorn: a real HTTP POST on loopback.
            server, thread, port = _serve_uvicorn()
            url = f"http://127.0.0.1:{port}/telegram/webhook"
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            with httpx.Client(timeout=30) as client:
                uvicorn_figures = _measure(
                    api,
                    timer,
                    lambda update: client.post(url, json=update, headers=headers).status_code,
                    20_000_000,
                )
            server.should_exit = True
            thread.join(timeout=10)
        finally:
            timer.restore()
            runtime.forget()
            os.chdir(previous_cwd)
    print(f"  Bot API calls per photo update: {calls_per_update}")
    _report("lambda", lambda_figures)
    _report("uvicorn", uvicorn_figures)


if __name__ == "__main__":
    main()
