"""Builders of Bot API update dicts (what Telegram would send), for the Bot API double.

Pure data: push the result with ``double.push_update(...)``.
"""

from __future__ import annotations

import io
import itertools
import time
from typing import Any

from PIL import Image

USER = {"id": 7001, "is_bot": False, "first_name": "Alice", "username": "alice"}
OTHER_USER = {"id": 7002, "is_bot": False, "first_name": "Bob"}
PRIVATE_CHAT = {"id": 7001, "type": "private", "first_name": "Alice", "username": "alice"}
GROUP_CHAT = {"id": -100123, "type": "supergroup", "title": "Pet lovers"}
TELEGRAM_LONG_SIDES = (90, 320, 800, 1280)  # Telegram's usual photo sizes s, m, x, y

_message_ids = itertools.count(1)


def next_message_id() -> int:
    return next(_message_ids)


def photo_sizes(
    data: bytes, prefix: str, long_sides: tuple[int, ...] = TELEGRAM_LONG_SIDES
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """Re-encode a real photo at Telegram-like sizes: (PhotoSize dicts, {file_id: jpeg bytes})."""
    with Image.open(io.BytesIO(data)) as original:
        original = original.convert("RGB")
        sizes, files = [], {}
        for long_side in long_sides:
            scale = long_side / max(original.size)
            width = max(1, round(original.width * scale))
            height = max(1, round(original.height * scale))
            buffer = io.BytesIO()
            original.resize((width, height), Image.Resampling.BICUBIC).save(
                buffer, "JPEG", quality=87
            )
            file_id = f"{prefix}-{long_side}"
            files[file_id] = buffer.getvalue()
            sizes.append(
                {
                    "file_id": file_id,
                    "file_unique_id": f"u-{file_id}",
                    "width": width,
                    "height": height,
                    "file_size": len(files[file_id]),
                }
            )
    return sizes, files


def message(
    *,
    chat: dict[str, Any] = PRIVATE_CHAT,
    user: dict[str, Any] = USER,
    message_id: int | None = None,
    **fields: Any,
) -> dict[str, Any]:
    return {
        "message_id": message_id or next_message_id(),
        "date": int(time.time()),
        "chat": chat,
        "from": user,
        **fields,
    }


def update(msg: dict[str, Any]) -> dict[str, Any]:
    return {"message": msg}


def command_entities(text: str) -> list[dict[str, Any]]:
    """The bot_command entity Telegram adds for a leading ``/command[@bot]``."""
    if not text.startswith("/"):
        return []
    length = len(text.split()[0])
    return [{"type": "bot_command", "offset": 0, "length": length}]


def mention_entities(text: str, username: str) -> list[dict[str, Any]]:
    mention = f"@{username}"
    offset = text.find(mention)
    return [] if offset < 0 else [{"type": "mention", "offset": offset, "length": len(mention)}]


def text_message(text: str, **kwargs: Any) -> dict[str, Any]:
    entities = command_entities(text)
    extra = {"entities": entities} if entities else {}
    return message(text=text, **extra, **kwargs)


def photo_message(
    sizes: list[dict[str, Any]],
    *,
    caption: str | None = None,
    caption_entities: list[dict[str, Any]] | None = None,
    media_group_id: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if caption is not None:
        extra["caption"] = caption
        entities = caption_entities if caption_entities is not None else command_entities(caption)
        if entities:
            extra["caption_entities"] = entities
    if media_group_id is not None:
        extra["media_group_id"] = media_group_id
    return message(photo=sizes, **extra, **kwargs)


def document_message(
    file_id: str,
    *,
    file_size: int | None,
    mime_type: str | None = "image/jpeg",
    file_name: str = "photo.jpg",
    caption: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    document: dict[str, Any] = {
        "file_id": file_id,
        "file_unique_id": f"u-{file_id}",
        "file_name": file_name,
    }
    if mime_type is not None:
        document["mime_type"] = mime_type
    if file_size is not None:
        document["file_size"] = file_size
    extra: dict[str, Any] = {}
    if caption is not None:
        extra["caption"] = caption
        if entities := command_entities(caption):
            extra["caption_entities"] = entities
    return message(document=document, **extra, **kwargs)


def sticker_message(**kwargs: Any) -> dict[str, Any]:
    sticker = {
        "file_id": "sticker-1",
        "file_unique_id": "u-sticker-1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    return message(sticker=sticker, **kwargs)


def video_message(**kwargs: Any) -> dict[str, Any]:
    video = {
        "file_id": "video-1",
        "file_unique_id": "u-video-1",
        "width": 640,
        "height": 360,
        "duration": 3,
    }
    return message(video=video, **kwargs)


def voice_message(**kwargs: Any) -> dict[str, Any]:
    voice = {"file_id": "voice-1", "file_unique_id": "u-voice-1", "duration": 2}
    return message(voice=voice, **kwargs)


def bot_message(bot: dict[str, Any], text: str, *, chat: dict[str, Any]) -> dict[str, Any]:
    """A message the bot sent earlier (for replies to the bot)."""
    return message(chat=chat, user=bot, text=text)


def huge_dimension_jpeg(width: int = 10_000, height: int = 8_000) -> bytes:
    """A small JPEG that claims ``width`` x ``height`` pixels: 80 MP by default, over the
    classifier's 50 MP limit but under Pillow's own bomb warning (89 MP)."""
    buffer = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 120, 40)).save(buffer, "JPEG")
    data = bytearray(buffer.getvalue())
    index = 2
    while index < len(data):
        marker = data[index + 1]
        segment_length = int.from_bytes(data[index + 2 : index + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2):  # SOF: precision(1) height(2) width(2)
            data[index + 5 : index + 7] = height.to_bytes(2, "big")
            data[index + 7 : index + 9] = width.to_bytes(2, "big")
            return bytes(data)
        index += 2 + segment_length
    raise AssertionError("no SOF marker found")
