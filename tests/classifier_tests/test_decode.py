"""Decoding untrusted bytes: every supported format and mode, every kind of bad input."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from classifier import Classifier, InvalidImageError, decode_image, sniff_format

from . import images
from .conftest import PET_PHOTOS

JPEG = PET_PHOTOS[0].read_bytes()


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("rgb jpeg", images.encode(images.gradient(), "JPEG")),
        ("grayscale jpeg", images.encode(images.gradient(mode="L"), "JPEG")),
        ("cmyk jpeg", images.encode(images.gradient().convert("CMYK"), "JPEG")),
        ("png rgba", images.encode(images.gradient().convert("RGBA"), "PNG")),
        ("png la", images.encode(images.gradient().convert("LA"), "PNG")),
        ("png palette", images.encode(images.gradient().convert("P"), "PNG")),
        ("png 1-bit", images.encode(images.gradient().convert("1"), "PNG")),
        ("png 16-bit", images.encode(images.gradient(mode="L").convert("I;16"), "PNG")),
        ("webp", images.encode(images.gradient(), "WEBP")),
        ("bmp", images.encode(images.gradient(), "BMP")),
        ("tiff", images.encode(images.gradient(), "TIFF")),
        ("animated gif", images.animated_gif()),
        ("1x1 pixel", images.encode(Image.new("RGB", (1, 1), (200, 10, 10)), "PNG")),
        ("5000x10 strip", images.encode(Image.new("RGB", (5000, 10), (0, 128, 0)), "PNG")),
    ],
)
def test_supported_images_decode_to_rgb(name: str, data: bytes) -> None:
    image = decode_image(data)
    assert image.mode == "RGB"
    assert image.width >= 1 and image.height >= 1


def test_transparency_is_flattened_onto_white() -> None:
    clear = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    image = decode_image(images.encode(clear, "PNG"))
    assert image.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    ("orientation", "size"), [(1, (300, 200)), (6, (200, 300)), (8, (200, 300))]
)
def test_exif_orientation_is_applied(orientation: int, size: tuple[int, int]) -> None:
    data = images.with_exif_orientation(images.gradient(300, 200), orientation)
    assert decode_image(data).size == size


def test_big_jpeg_is_decoded_in_draft_mode() -> None:
    data = images.encode(images.gradient(4000, 3000), "JPEG", quality=80)
    image = decode_image(data, min_side=256)
    assert 256 <= min(image.size) < 3000 / 2


def test_format_comes_from_content_not_name() -> None:
    assert sniff_format(JPEG) == "JPEG"
    assert sniff_format(images.encode(images.gradient(), "PNG")) == "PNG"
    assert sniff_format(b"hello, I am a text file named cat.jpg") is None


@pytest.mark.parametrize(
    ("name", "data", "phrase"),
    [
        ("zero bytes", b"", "empty"),
        ("truncated jpeg", JPEG[: len(JPEG) // 2], "damaged"),
        ("corrupt png", images.encode(images.gradient(), "PNG")[:60] + b"\x00garbage" * 50, ""),
        ("text named .jpg", b"just some text, not a photo\n" * 10, "not an image"),
        ("html", b"<!doctype html><html><body><img src=x></body></html>", "not an image"),
        ("pdf", b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF", "not an image"),
        ("heic header only", images.heic_like(), "damaged"),
        ("decompression bomb", images.png_bomb(), "too large"),
        ("over the byte limit", b"\xff\xd8\xff" + b"\x00" * (26 * 1024 * 1024), "too large"),
        (
            "ico (unsupported format)",
            images.encode(images.gradient(64, 64), "ICO"),
            "not supported",
        ),
    ],
)
def test_bad_input_raises_one_typed_error(name: str, data: bytes, phrase: str) -> None:
    with pytest.raises(InvalidImageError) as caught:
        decode_image(data)
    message = str(caught.value)
    assert phrase.lower() in message.lower()
    assert "Traceback" not in message and "PIL" not in message


def test_classifier_raises_the_same_error(classifier: Classifier) -> None:
    with pytest.raises(InvalidImageError):
        classifier.classify(b"not an image")


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=2048))
def test_random_bytes_never_crash(data: bytes) -> None:
    with contextlib.suppress(InvalidImageError):
        decode_image(data)


@settings(max_examples=60, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(JPEG) - 1), flip=st.integers(0, 255))
def test_mangled_jpegs_never_crash(cut: int, flip: int) -> None:
    mangled = bytearray(JPEG)
    mangled[cut] ^= flip
    with contextlib.suppress(InvalidImageError):
        decode_image(bytes(mangled))
