"""Shared by the upload form and the JSON API: read an upload, classify it, make a preview.

Everything that touches pixels is blocking and runs in a worker thread (``run_in_threadpool``),
never on the event loop.
"""

from __future__ import annotations

import base64
import io
import logging
from dataclasses import dataclass

from fastapi import HTTPException, UploadFile
from starlette.concurrency import run_in_threadpool

from classifier import (
    Classifier,
    ClassifierError,
    InvalidImageError,
    Prediction,
    decode_image,
    get_classifier,
    sniff_format,
)
from classifier.decode import looks_like_image

logger = logging.getLogger(__name__)

# What the form's file picker offers; the server still sniffs the content, never trusts a name.
ACCEPT = (
    "image/jpeg,image/png,image/webp,image/heic,image/heif,image/avif,image/gif,image/bmp,"
    "image/tiff,.heic,.heif,.avif,image/*"
)
MODEL_UNAVAILABLE = "The breed model is not available right now; please try again later."


class UploadProblem(Exception):
    """Bad input from the user: an HTTP status and a sentence that is safe to show them."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message


@dataclass(frozen=True, slots=True)
class Classified:
    prediction: Prediction
    image_format: str | None  # Pillow's name, sniffed from the content ("JPEG", "PNG", ...)
    size_bytes: int


async def load_classifier() -> Classifier:
    """FastAPI dependency: the process-wide classifier, loaded on first use in a thread.

    A missing or inconsistent model is a server problem: 503 with a plain message (the details
    go to the log).
    """
    try:
        return await run_in_threadpool(get_classifier)
    except ClassifierError as exc:
        logger.error("the classifier could not be loaded: %s", exc)
        raise HTTPException(status_code=503, detail=MODEL_UNAVAILABLE) from None


async def read_upload(file: UploadFile | None) -> bytes:
    """The uploaded bytes; an absent or empty file is the user's problem (400)."""
    if file is None:
        raise UploadProblem(400, "No file was uploaded; please choose a photo of a cat or a dog.")
    data = await file.read()
    if not data:
        raise UploadProblem(400, "The file is empty; please choose a photo of a cat or a dog.")
    return data


def problem_status(data: bytes, image_format: str | None) -> int:
    """415 for what is not a supported image type, 422 for a supported image we cannot use
    (its format was sniffed, or it starts like one: a damaged image)."""
    return 422 if image_format is not None or looks_like_image(data) else 415


def _classify_sync(classifier: Classifier, data: bytes, top_k: int) -> Classified:
    image_format = sniff_format(data)
    try:
        prediction = classifier.classify(data, top_k=top_k)
    except InvalidImageError as exc:
        raise UploadProblem(problem_status(data, image_format), str(exc)) from None
    return Classified(prediction=prediction, image_format=image_format, size_bytes=len(data))


async def classify_upload(classifier: Classifier, data: bytes, top_k: int = 3) -> Classified:
    return await run_in_threadpool(_classify_sync, classifier, data, top_k)


def _preview_sync(data: bytes, max_side: int) -> str | None:
    try:
        image = decode_image(data, min_side=max_side)
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=80, optimize=True)
    except Exception:  # a preview is a nicety; never fail the answer for it
        logger.debug("no preview for this upload", exc_info=True)
        return None
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


async def make_preview(data: bytes, max_side: int) -> str | None:
    """A small JPEG data URL of the (upright) image, or None when it cannot be decoded."""
    return await run_in_threadpool(_preview_sync, data, max_side)


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.3g} MB"
    return f"{size / 1024:.3g} KB"


def too_large_message(limit: int) -> str:
    return f"The upload is too large; please send an image under {human_size(limit)}."
