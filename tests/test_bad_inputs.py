"""The bad-input catalogue: every row through every real entry point.

Entry points: the polling bot against the Bot API double (one bot for the whole module, all
rows in one batch), the Lambda handler's Telegram webhook route, the upload form and the JSON
API (both through the Lambda handler). Each row states what the user gets: a friendly reply (a
fragment of it, ``ANSWERED`` for a breed/no-pet answer, ``NO_REPLY``) and the HTTP status.
Nothing may crash, hang or answer 5xx, and no answer may show internals.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from PIL import Image

from tests.classifier_tests import images
from tests.conftest import PHOTOS
from tests.support import updates as u
from tests.support.bot_api_double import BotApiDouble
from tests.support.lambda_events import http_event, telegram_webhook_event, upload_event
from tests.support.warm_lambda import WarmLambda, warm_lambda

ANSWERED = "<a breed answer or 'no pet'>"
NO_REPLY = None
PREDICTION = re.compile(r"% sure|not sure about this one|don't see a cat or a dog")
# What an answer to a user must never show.
INTERNALS = re.compile(
    r"Traceback|\w+Error\b|\w+Exception\b|File \"|\.py\b|site-packages|/work/|/tmp/|PIL\b|httpx",
)
SECRET = "catalogue_secret-" + "k" * 24
MB = 1024 * 1024
_ids = itertools.count(random.randrange(10**7, 10**8))


def jpeg_photo() -> bytes:
    return (PHOTOS / "dog_beagle.jpg").read_bytes()


def rotated_with_exif() -> bytes:
    """The beagle stored sideways, with EXIF orientation 6 saying 'turn me upright'."""
    with Image.open(PHOTOS / "dog_beagle.jpg") as image:
        sideways = image.convert("RGB").transpose(Image.Transpose.ROTATE_90)
    return images.with_exif_orientation(sideways, 6)


def corrupt_png() -> bytes:
    return images.encode(images.gradient(), "PNG")[:60] + b"\x00garbage" * 50


@dataclass(frozen=True)
class File:
    """A file as Telegram carries it: a compressed photo or a document with a MIME type."""

    data: Callable[[], bytes]
    mime: str | None = "image/jpeg"
    name: str = "photo.jpg"
    as_photo: bool = False
    declared_size: int | None = None  # what Telegram says (None: the real size)


@dataclass(frozen=True)
class Row:
    id: str
    bot: str | None  # reply fragment, ANSWERED or NO_REPLY
    webhook: int = 200  # the Telegram webhook route's status
    http: int | None = None  # the form's and the JSON API's status (None: not a file row)
    file: File | None = None
    message: Callable[[BotApiDouble, str], dict[str, Any]] | None = None  # Telegram-only rows
    raw_update: Callable[[], dict[str, Any]] | None = None  # sent as is (polling)
    webhook_body: Callable[[], bytes] | None = None  # sent as is (webhook)
    secret: str | None = SECRET
    polling: bool = True
    notes: str = field(default="", compare=False)


def _doc(data: Callable[[], bytes], mime: str | None, name: str, **kw: Any) -> File:
    return File(data, mime, name, **kw)


ROWS: tuple[Row, ...] = (
    # --- files: bytes that are not a usable image
    Row(
        "zero-bytes",
        "couldn't read that image",
        http=400,
        file=_doc(lambda: b"", "image/jpeg", "a.jpg"),
    ),
    Row(
        "truncated-jpeg",
        "couldn't read that image",
        http=422,
        file=File(lambda: jpeg_photo()[:2000], as_photo=True),
    ),
    Row(
        "corrupt-png",
        "couldn't read that image",
        http=422,
        file=_doc(corrupt_png, "image/png", "a.png"),
    ),
    Row(
        "text-named-jpg",
        "couldn't read that image",
        http=415,
        file=_doc(lambda: b"just some text, not a photo\n" * 10, "image/jpeg", "cat.jpg"),
    ),
    Row(
        "html",
        "That's a text file",
        http=415,
        file=_doc(
            lambda: b"<!doctype html><html><body><img src=x></body></html>", "text/html", "a.html"
        ),
    ),
    Row(
        "pdf",
        "That's a PDF document",
        http=415,
        file=_doc(
            lambda: b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF",
            "application/pdf",
            "a.pdf",
        ),
    ),
    Row(
        "heic-header-only",
        "damaged",
        http=422,
        file=_doc(images.heic_like, "image/heic", "IMG_0001.HEIC"),
    ),
    Row(
        "ico-unsupported-format",
        "not supported",
        http=415,
        file=_doc(lambda: images.encode(images.gradient(64, 64), "ICO"), "image/x-icon", "a.ico"),
    ),
    Row(
        "octet-stream-not-an-image",
        "not an image",
        http=415,
        file=_doc(lambda: bytes(range(256)) * 8, "application/octet-stream", "blob"),
    ),
    Row(
        "decompression-bomb-20000x20000",
        "too large",
        http=422,
        file=_doc(images.png_bomb, "image/png", "bomb.png"),
    ),
    Row(
        "30-mb-file",
        "too large",
        http=413,
        file=_doc(
            lambda: b"\xff\xd8\xff" + b"\x00" * (30 * MB),
            "image/jpeg",
            "big.jpg",
            declared_size=30 * MB + 3,
        ),
    ),
    # --- files: unusual but valid images are answered
    Row(
        "animated-gif-as-file",
        ANSWERED,
        http=200,
        file=_doc(images.animated_gif, "image/gif", "a.gif"),
    ),
    Row(
        "png-16-bit",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(images.gradient(mode="L").convert("I;16"), "PNG"),
            "image/png",
            "a.png",
        ),
    ),
    Row(
        "cmyk-jpeg",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(images.gradient().convert("CMYK"), "JPEG"), "image/jpeg", "a.jpg"
        ),
    ),
    Row(
        "grayscale-jpeg",
        ANSWERED,
        http=200,
        file=_doc(lambda: images.encode(images.gradient(mode="L"), "JPEG"), "image/jpeg", "a.jpg"),
    ),
    Row(
        "rgba-transparent-png",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(Image.new("RGBA", (300, 300), (0, 0, 0, 0)), "PNG"),
            "image/png",
            "a.png",
        ),
    ),
    Row(
        "palette-png",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(images.gradient().convert("P"), "PNG"), "image/png", "a.png"
        ),
    ),
    Row(
        "exif-rotated-jpeg", ANSWERED, http=200, file=_doc(rotated_with_exif, "image/jpeg", "a.jpg")
    ),
    Row(
        "heic-from-an-iphone",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: (PHOTOS / "dog_beagle_rotated.heic").read_bytes(), "image/heic", "a.HEIC"
        ),
    ),
    Row(
        "avif",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: (PHOTOS / "cat_persian_rotated.avif").read_bytes(), "image/avif", "a.avif"
        ),
    ),
    Row(
        "1x1-pixel",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG"),
            "image/png",
            "a.png",
        ),
    ),
    Row(
        "5000x10-strip",
        ANSWERED,
        http=200,
        file=_doc(
            lambda: images.encode(Image.new("RGB", (5000, 10), (0, 128, 0)), "PNG"),
            "image/png",
            "a.png",
        ),
    ),
    Row(
        "jpeg-sent-without-type",
        ANSWERED,
        http=200,
        file=_doc(jpeg_photo, "application/octet-stream", "blob"),
    ),
    Row(
        "webp",
        ANSWERED,
        http=200,
        file=_doc(lambda: images.encode(images.gradient(), "WEBP"), "image/webp", "a.webp"),
    ),
    # --- Telegram-only messages
    Row("sticker", "That's a sticker", message=lambda api, p: u.sticker_message()),
    Row("video", "That's a video", message=lambda api, p: u.video_message()),
    Row("voice", "That's a voice message", message=lambda api, p: u.voice_message()),
    Row(
        "animated-gif-as-animation",
        "That's an animation",
        message=lambda api, p: u.message(
            animation={
                "file_id": "anim",
                "file_unique_id": "u-anim",
                "width": 200,
                "height": 200,
                "duration": 1,
            },
            document={"file_id": "anim", "file_unique_id": "u-anim", "mime_type": "video/mp4"},
        ),
    ),
    Row(
        "empty-breed-command",
        "reply to a photo with /breed",
        message=lambda api, p: u.text_message("/breed"),
    ),
    Row(
        "empty-breed-command-in-group",
        "reply with it to a photo",
        message=lambda api, p: u.text_message(f"/breed@{api.username}", chat=u.GROUP_CHAT),
    ),
    Row(
        "photo-with-empty-caption",
        ANSWERED,
        message=lambda api, p: u.photo_message(_sizes(api, p), caption=""),
    ),
    Row(
        "unknown-file-id",
        "something went wrong on my side",
        message=lambda api, p: u.document_message("no-such-file", file_size=100),
    ),
    Row(
        "declared-over-20-mb-photo",
        "too large",
        message=lambda api, p: u.photo_message(
            [
                {
                    "file_id": f"{p}-huge",
                    "file_unique_id": "u-h",
                    "width": 9000,
                    "height": 9000,
                    "file_size": 21 * MB,
                }
            ]
        ),
    ),
    Row("4096-char-text", "Send me a photo", message=lambda api, p: u.text_message("a" * 4096)),
    Row(
        "group-chatter-not-addressed",
        NO_REPLY,
        message=lambda api, p: u.photo_message(_sizes(api, p), chat=u.GROUP_CHAT),
    ),
    # --- updates that are not messages, or not updates at all
    Row(
        "unknown-update-type",
        NO_REPLY,
        raw_update=lambda: {"a_future_update_type": {"whatever": [1, 2, 3]}},
    ),
    Row(
        "update-ptb-cannot-parse",
        NO_REPLY,
        webhook=422,
        raw_update=lambda: {"message": "not an object"},
    ),
    Row(
        "malformed-json",
        NO_REPLY,
        webhook=400,
        webhook_body=lambda: b'{"update_id": 1, "message": {',
        polling=False,
    ),
    Row(
        "huge-request-body",
        NO_REPLY,
        webhook=413,
        webhook_body=lambda: b'{"update_id": 2, "message": {"text": "' + b"x" * (2 * MB) + b'"}}',
        polling=False,
    ),
    Row(
        "wrong-secret",
        NO_REPLY,
        webhook=403,
        message=lambda api, p: u.text_message("/start"),
        secret="not-the-secret",
        polling=False,
    ),
    Row(
        "missing-secret",
        NO_REPLY,
        webhook=403,
        message=lambda api, p: u.text_message("/start"),
        secret=None,
        polling=False,
    ),
)
FILE_ROWS = [row for row in ROWS if row.file is not None]
POLLING_ROWS = [row for row in ROWS if row.polling]
assert len(ROWS) >= 25


def _sizes(api: BotApiDouble, prefix: str) -> list[dict[str, Any]]:
    sizes, files = u.photo_sizes(jpeg_photo(), prefix)
    for file_id, data in files.items():
        api.add_file(file_id, data)
    return sizes


def build_update(row: Row, api: BotApiDouble) -> dict[str, Any]:
    """The update for ``row`` (files are stored in ``api``), with a fresh update_id."""
    prefix = f"{row.id}-{next(_ids)}"
    if row.raw_update is not None:
        return {"update_id": next(_ids), **row.raw_update()}
    if row.message is not None:
        msg = row.message(api, prefix)
    else:
        assert row.file is not None
        data = row.file.data()
        size = row.file.declared_size if row.file.declared_size is not None else len(data)
        api.add_file(prefix, data, file_path=f"files/{prefix}", file_size=size)
        if row.file.as_photo:
            msg = u.photo_message(
                [
                    {
                        "file_id": prefix,
                        "file_unique_id": f"u-{prefix}",
                        "width": 800,
                        "height": 600,
                        "file_size": size,
                    }
                ]
            )
        else:
            msg = u.document_message(
                prefix, file_size=size, mime_type=row.file.mime, file_name=row.file.name
            )
    return {"update_id": next(_ids), **u.update(msg)}


def replies_to(api: BotApiDouble, update: dict[str, Any]) -> list[str]:
    message = update.get("message")
    if not isinstance(message, dict) or "message_id" not in message:
        return []
    return [
        m["text"]
        for m in api.sent_messages
        if m.get("reply_parameters", {}).get("message_id") == message["message_id"]
        and int(m["chat_id"]) == message["chat"]["id"]
    ]


def check_reply(row: Row, texts: list[str]) -> None:
    if row.bot is NO_REPLY:
        assert texts == [], f"{row.id}: unexpected reply {texts}"
        return
    assert len(texts) == 1, f"{row.id}: expected one reply, got {texts}"
    text = texts[0]
    if row.bot == ANSWERED:
        assert PREDICTION.search(text), f"{row.id}: {text!r}"
    else:
        assert row.bot.lower() in text.lower(), f"{row.id}: {text!r}"
    assert not INTERNALS.search(text), f"{row.id}: internals in {text!r}"


# ----- the polling bot: one bot, every row in one batch ------------------------------------


@dataclass
class PollingRun:
    api: BotApiDouble
    updates: dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def polling_run(tmp_path_factory) -> Iterator[PollingRun]:
    """The real polling bot in its own thread and loop, fed every polling row at once."""
    from bot.application import build_application
    from bot.config import BotSettings
    from bot.polling import run_polling

    with BotApiDouble() as api:
        settings = BotSettings(
            token=api.token,
            api_base_url=api.base_url,
            retry_backoff_seconds=0.05,
            retry_backoff_max_seconds=0.2,
            poll_timeout=1,
            concurrent_updates=8,
            state_dir=str(tmp_path_factory.mktemp("catalogue-state")),
            rate_limit_per_minute=0,  # one user sends the whole catalogue at once
            rate_limit_per_day=0,
            _env_file=None,
        )
        ready, stop_requested = threading.Event(), threading.Event()
        failure: list[BaseException] = []

        async def main() -> None:
            stop, started = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(
                run_polling(build_application(settings), stop, ready=started)
            )
            await asyncio.wait_for(started.wait(), 20)
            ready.set()
            await asyncio.to_thread(stop_requested.wait)
            stop.set()
            await asyncio.wait_for(task, 20)

        def thread_main() -> None:
            try:
                asyncio.run(main())
            except BaseException as exc:  # noqa: BLE001 - reported by the fixture
                failure.append(exc)
                ready.set()

        thread = threading.Thread(target=thread_main, name="catalogue-bot", daemon=True)
        thread.start()
        try:
            assert ready.wait(30) and not failure, failure
            updates = {row.id: build_update(row, api) for row in POLLING_ROWS}
            api.push_updates(*updates.values())
            # Every row that expects a reply gets one; then the queue is drained.
            expected = sum(1 for row in POLLING_ROWS if row.bot is not NO_REPLY)
            answered = api.wait_until(lambda: len(api.sent_messages) >= expected, timeout=60)
            assert answered, api.sent_texts
            assert api.wait_until(lambda: api.pending_updates == 0, timeout=10)
            yield PollingRun(api, updates)
        finally:
            stop_requested.set()
            thread.join(30)
        assert not thread.is_alive(), "the polling bot did not stop"
        assert not failure, failure


@pytest.mark.parametrize("row", POLLING_ROWS, ids=[r.id for r in POLLING_ROWS])
def test_polling_bot(polling_run: PollingRun, row: Row) -> None:
    check_reply(row, replies_to(polling_run.api, polling_run.updates[row.id]))


def test_polling_bot_sent_nothing_else(polling_run: PollingRun) -> None:
    expected = sum(1 for row in POLLING_ROWS if row.bot is not NO_REPLY)
    assert len(polling_run.api.sent_messages) == expected
    assert polling_run.api.pending_updates == 0


# ----- the Lambda handler: webhook, form, API ----------------------------------------------


@pytest.fixture(scope="module")
def lambda_handler() -> Iterator[WarmLambda]:
    # One user sends the whole catalogue: no rate limit here (tests/test_feedback_e2e.py).
    with warm_lambda(
        SECRET, BOT_RATE_LIMIT_PER_MINUTE="0", BOT_RATE_LIMIT_PER_DAY="0"
    ) as container:
        yield container


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_webhook(lambda_handler: WarmLambda, row: Row) -> None:
    api = lambda_handler.api
    if row.webhook_body is not None:
        event = telegram_webhook_event(row.webhook_body(), secret=row.secret)
        update: dict[str, Any] = {}
    else:
        update = build_update(row, api)
        event = telegram_webhook_event(update, secret=row.secret)
    before = len(api.sent_messages)
    result = lambda_handler(event)
    assert result.status == row.webhook, result.text
    assert "method" not in result.text  # Telegram would run it as a Bot API call
    assert not INTERNALS.search(result.text), result.text
    if row.webhook == 200:
        check_reply(row, replies_to(api, update))
    else:
        assert len(api.sent_messages) == before


@pytest.mark.parametrize("row", FILE_ROWS, ids=[r.id for r in FILE_ROWS])
@pytest.mark.parametrize("entry", ["form", "api"])
def test_upload(lambda_handler: WarmLambda, row: Row, entry: str) -> None:
    assert row.file is not None
    path = "/breed-classifier" if entry == "form" else "/api/classify"
    accept = "text/html" if entry == "form" else "application/json"
    event = upload_event(path, row.file.name, row.file.data(), row.file.mime or "", accept=accept)
    result = lambda_handler(event)
    assert result.status == row.http, result.text[:500]
    if entry == "api":
        body = result.json()
        if row.http == 200:
            assert isinstance(body["is_pet"], bool)
            assert body["top"] or not body["is_pet"]
        else:
            assert body["detail"] and not INTERNALS.search(body["detail"]), body
    else:
        assert result.headers["content-type"].startswith("text/html")
        assert not INTERNALS.search(result.text), "internals on the form page"


def test_api_without_a_multipart_body_is_4xx(lambda_handler: WarmLambda) -> None:
    event = http_event(
        "POST",
        "/api/classify",
        body=b'{"url": "http://127.0.0.1:9/cat.jpg"}',
        headers={"content-type": "application/json"},
    )
    assert lambda_handler(event).status == 422
