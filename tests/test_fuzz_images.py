"""Property tests of image decoding beyond tests/classifier_tests/test_decode.py (which covers
random bytes and one-byte flips of a JPEG): valid images of random mode, size and format; the
headers of every supported format mutated; truncation at any point; the whole classifier."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from classifier import InvalidImageError, Prediction, decode_image, get_classifier
from tests.classifier_tests import images
from tests.fuzzing import fuzz_settings

# Mangled TIFF/EXIF headers make Pillow warn before it gives up: expected here.
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")

MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"]
FORMATS = {
    "PNG": {"1", "L", "LA", "P", "RGB", "RGBA", "I;16"},
    "JPEG": {"L", "RGB", "CMYK"},
    "WEBP": {"RGB", "RGBA"},
    "GIF": {"L", "P"},
    "BMP": {"1", "L", "P", "RGB"},
    "TIFF": {"1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"},
}


@st.composite
def valid_images(draw) -> bytes:
    fmt = draw(st.sampled_from(sorted(FORMATS)))
    mode = draw(st.sampled_from(sorted(FORMATS[fmt])))
    width = draw(st.integers(1, 700))
    height = draw(st.integers(1, 700))
    base = images.gradient(width, height).convert("RGB")
    image = (
        base.convert(mode) if mode not in {"I;16", "I", "F"} else base.convert("L").convert(mode)
    )
    return images.encode(image, fmt)


@fuzz_settings(40)
@given(valid_images())
def test_every_valid_image_decodes_to_rgb(data: bytes) -> None:
    image = decode_image(data)
    assert image.mode == "RGB" and image.width >= 1 and image.height >= 1


_SAMPLES = {
    fmt: images.encode(images.gradient(64, 48).convert("RGB" if fmt != "GIF" else "P"), fmt)
    for fmt in FORMATS
}
_SAMPLES["ANIMATED_GIF"] = images.animated_gif()
_SAMPLES["EXIF_JPEG"] = images.with_exif_orientation(images.gradient(64, 48), 6)


@fuzz_settings(150)
@given(
    fmt=st.sampled_from(sorted(_SAMPLES)),
    edits=st.lists(st.tuples(st.integers(0, 127), st.integers(0, 255)), min_size=1, max_size=6),
    cut=st.one_of(st.none(), st.integers(0, 4096)),
)
def test_mutated_headers_and_truncations_never_crash(fmt, edits, cut) -> None:
    data = bytearray(_SAMPLES[fmt])
    for offset, value in edits:
        if offset < len(data):
            data[offset] = value  # headers: dimensions, depth, chunk lengths, markers...
    if cut is not None:
        data = data[:cut]
    with contextlib.suppress(InvalidImageError):
        image = decode_image(bytes(data))
        assert image.mode == "RGB"


@fuzz_settings(25)
@given(valid_images())
def test_the_classifier_answers_or_refuses_every_image(data: bytes) -> None:
    try:
        prediction = get_classifier().classify(data)
    except InvalidImageError as exc:
        assert str(exc) and "Traceback" not in str(exc)
        return
    assert isinstance(prediction, Prediction)
    assert 0.0 <= prediction.confidence <= 1.0
