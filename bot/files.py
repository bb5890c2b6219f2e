"""What to download: which size of a photo, and whether a document is (probably) an image."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Document, Message, PhotoSize

# Documents with one of these MIME types may be images saved without a proper type: download
# them (within the size limit) and sniff the content.
UNKNOWN_MIME_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


class Kind(enum.Enum):
    PHOTO = "photo"
    IMAGE_DOCUMENT = "image document"  # image/* MIME type
    MAYBE_IMAGE_DOCUMENT = "document"  # no useful MIME type: sniff after download
    NOT_IMAGE = "not an image"  # another document type, sticker, video, voice...


@dataclass(frozen=True, slots=True)
class Attachment:
    """The one file of a message we might classify."""

    kind: Kind
    file_id: str | None = None
    file_size: int | None = None
    description: str = ""  # for NOT_IMAGE: "a video", "a PDF document"...

    @property
    def is_candidate(self) -> bool:
        return self.kind is not Kind.NOT_IMAGE


def choose_photo_size(sizes: Sequence[PhotoSize], input_size: int, margin: float) -> PhotoSize:
    """The smallest size whose short side is >= ``input_size * margin``, else the largest.

    Telegram sends each photo in several sizes (thumbnail ... original); the model only sees
    ``input_size`` pixels after a resize and centre crop, so a larger download is wasted time.
    """
    if not sizes:
        raise ValueError("a photo message has at least one size")
    by_area = sorted(sizes, key=lambda s: (s.width * s.height, s.file_size or 0))
    needed = input_size * margin
    for size in by_area:
        if min(size.width, size.height) >= needed:
            return size
    return by_area[-1]


def _describe_document(document: Document) -> str:
    mime = (document.mime_type or "").lower()
    if mime == "application/pdf":
        return "a PDF document"
    if mime.startswith("video/"):
        return "a video file"
    if mime.startswith("audio/"):
        return "an audio file"
    if mime.startswith("text/"):
        return "a text file"
    return "a file that is not an image"


def document_attachment(document: Document) -> Attachment:
    mime = (document.mime_type or "").split(";")[0].strip().lower()
    if mime.startswith("image/"):
        kind = Kind.IMAGE_DOCUMENT
    elif mime in UNKNOWN_MIME_TYPES:
        kind = Kind.MAYBE_IMAGE_DOCUMENT
    else:
        return Attachment(Kind.NOT_IMAGE, description=_describe_document(document))
    return Attachment(kind, document.file_id, document.file_size)


def attachment_of(message: Message, input_size: int, margin: float) -> Attachment | None:
    """The file of ``message`` worth classifying, a NOT_IMAGE attachment, or None (text...)."""
    if message.photo:
        size = choose_photo_size(message.photo, input_size, margin)
        return Attachment(Kind.PHOTO, size.file_id, size.file_size)
    for attribute, description in (
        ("sticker", "a sticker"),
        ("animation", "an animation"),  # GIFs: checked first, they also carry a document
        ("video", "a video"),
        ("video_note", "a video message"),
        ("voice", "a voice message"),
        ("audio", "an audio file"),
    ):
        if getattr(message, attribute, None):
            return Attachment(Kind.NOT_IMAGE, description=description)
    if message.document:
        return document_attachment(message.document)
    return None
