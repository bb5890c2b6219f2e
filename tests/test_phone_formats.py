"""Photos as phones store them, through every entry point.

An iPhone sends a photo "as a file" as HEIC; some Android phones and browsers make AVIF. The
fixtures (``tests/fixtures/photos/*_rotated.heic|avif``, made by ``make_rotated.py`` from the
JPEG fixtures) keep the pixels sideways and say in their EXIF (and HEIF) orientation how to turn
them upright, as a camera does. Each goes through the decoder, the command line, the JSON API
and the upload form (the real app through real Lambda events) and the polling bot (a document,
against the Bot API double), and must give the upright photo and the same answer as its JPEG.
"""

from __future__ import annotations

import base64
import html
import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from classifier import Classifier, InvalidImageError, decode_image, get_classifier, sniff_format
from classifier.decode import ACCEPTED_FORMATS
from classifier.formatting import percent
from tests.classifier_tests import images
from tests.support import updates as u
from tests.support.cli import run_cli
from tests.support.lambda_events import call, http_event, upload_event

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ROOT / "tests" / "fixtures" / "photos"
ORIENTATION = 0x0112

# fixture, the JPEG it was made from, Pillow's format name, MIME type, the stored orientation
PHONE_PHOTOS = [
    ("dog_beagle_rotated.heic", "dog_beagle.jpg", "HEIF", "image/heic", 6),
    ("cat_siamese_rotated.heic", "cat_siamese.jpg", "HEIF", "image/heic", 8),
    ("cat_persian_rotated.avif", "cat_persian.jpg", "AVIF", "image/avif", 8),
]
IDS = [row[0] for row in PHONE_PHOTOS]


def stored_orientation(path: Path) -> int | None:
    """The EXIF orientation written in the file, before any decoder applies it."""
    with Image.open(path) as image:
        if image.format == "HEIF":  # the plugin resets it once applied; it keeps the original
            return image.info.get("original_orientation")
        return image.getexif().get(ORIENTATION)


def mean_difference(a: Image.Image, b: Image.Image) -> float:
    return sum(ImageStat.Stat(ImageChops.difference(a, b)).mean) / 3


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return get_classifier()


@pytest.mark.parametrize(("name", "jpeg", "fmt", "mime", "orientation"), PHONE_PHOTOS, ids=IDS)
def test_decoded_upright_like_the_jpeg(name, jpeg, fmt, mime, orientation) -> None:
    data = (PHOTOS / name).read_bytes()
    upright = decode_image((PHOTOS / jpeg).read_bytes(), min_side=10_000)
    assert stored_orientation(PHOTOS / name) == orientation  # the fixture really is sideways
    assert sniff_format(data) == fmt

    image = decode_image(data, min_side=10_000)

    assert image.mode == "RGB"
    assert image.size == upright.size  # 6 and 8 swap width and height unless applied
    assert mean_difference(image, upright) < 4  # the same pixels, up to compression
    assert mean_difference(image.transpose(Image.Transpose.ROTATE_180), upright) > 20


@pytest.mark.parametrize(("name", "jpeg", "fmt", "mime", "orientation"), PHONE_PHOTOS, ids=IDS)
def test_same_answer_as_the_jpeg(classifier, name, jpeg, fmt, mime, orientation) -> None:
    phone = classifier.classify((PHOTOS / name).read_bytes())
    reference = classifier.classify((PHOTOS / jpeg).read_bytes())
    assert phone.is_pet and phone.breed == reference.breed
    # Re-encoding moves pixels a little, and with them the pet finder's box by a few pixels;
    # a pet off centre is named from that box, so its confidence moves more than a centre
    # crop's would (the Siamese: box 480x271 vs 484x281, 0.74 vs 0.89).
    assert abs(phone.confidence - reference.confidence) < 0.2


def test_a_cut_off_heic_is_damaged_not_unsupported() -> None:
    data = (PHOTOS / "dog_beagle_rotated.heic").read_bytes()
    for broken in (images.heic_like(), data[: len(data) // 2]):
        with pytest.raises(InvalidImageError, match="damaged"):
            decode_image(broken)


def test_messages_name_exactly_the_formats_that_decode() -> None:
    """Every format a 'please send ...' message names decodes, and every one that decodes is
    named (the message once named three formats while six were accepted)."""
    samples = {
        "JPEG": images.encode(images.gradient(), "JPEG"),
        "PNG": images.encode(images.gradient(), "PNG"),
        "WebP": images.encode(images.gradient(), "WEBP"),
        "HEIC": (PHOTOS / "dog_beagle_rotated.heic").read_bytes(),
        "AVIF": (PHOTOS / "cat_persian_rotated.avif").read_bytes(),
        "GIF": images.animated_gif(),
        "BMP": images.encode(images.gradient(), "BMP"),
        "TIFF": images.encode(images.gradient(), "TIFF"),
    }
    named = re.split(r", | or ", ACCEPTED_FORMATS)
    assert sorted(named) == sorted(samples)
    for fmt in named:
        assert decode_image(samples[fmt]).mode == "RGB", fmt
    for bad in (b"just text, not a photo", images.encode(images.gradient(64, 64), "ICO")):
        with pytest.raises(InvalidImageError) as caught:
            decode_image(bad)
        assert ACCEPTED_FORMATS in str(caught.value)


# --- the command line -------------------------------------------------------------------------


def test_cli_reads_heic_and_avif_and_prints_the_bots_percentages() -> None:
    paths = [str(PHOTOS / name) for name, *_ in PHONE_PHOTOS]
    references = [str(PHOTOS / jpeg) for _, jpeg, *_ in PHONE_PHOTOS]
    as_json = run_cli("--json", *paths, *references)
    plain = run_cli(*paths)

    assert as_json.returncode == 0, as_json.stderr
    assert plain.returncode == 0, plain.stderr
    answers = [json.loads(line) for line in as_json.stdout.splitlines()]
    phone, reference = answers[: len(paths)], answers[len(paths) :]
    assert [a["breed"] for a in phone] == [a["breed"] for a in reference]
    for line, answer in zip(plain.stdout.splitlines(), phone, strict=True):
        assert line.startswith(f"{answer['path']}: ")
        assert f"({answer['species']}), {percent(answer['confidence'])}" in line
        assert "100%" not in line and " 0%" not in line


# --- the JSON API and the upload form, through the Lambda handler -----------------------------


@pytest.mark.parametrize(("name", "jpeg", "fmt", "mime", "orientation"), PHONE_PHOTOS, ids=IDS)
def test_api_answers_like_for_the_jpeg(handler, name, jpeg, fmt, mime, orientation) -> None:
    phone = call(handler, upload_event("/api/classify", name, (PHOTOS / name).read_bytes(), mime))
    reference = call(handler, upload_event("/api/classify", jpeg, (PHOTOS / jpeg).read_bytes()))
    assert phone.status == 200, phone.text
    assert phone.json()["image_format"] == fmt
    assert phone.json()["breed"] == reference.json()["breed"]


@pytest.mark.parametrize(("name", "jpeg", "fmt", "mime", "orientation"), PHONE_PHOTOS, ids=IDS)
def test_form_shows_the_breed_and_an_upright_preview(
    handler, classifier, name, jpeg, fmt, mime, orientation
) -> None:
    data = (PHOTOS / name).read_bytes()
    result = call(handler, upload_event("/breed-classifier", name, data, mime, accept="text/html"))
    assert result.status == 200, result.text
    reference = classifier.classify((PHOTOS / jpeg).read_bytes())
    answer = classifier.classify(data)
    assert reference.display_name in result.text
    assert html.escape(f"{percent(answer.confidence)} sure") in result.text

    match = re.search(r'id="preview" src="data:image/jpeg;base64,([^"]+)"', result.text)
    assert match, "no preview"
    preview = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    with Image.open(PHOTOS / jpeg) as upright:
        assert (preview.width > preview.height) == (upright.width > upright.height)


def test_form_and_api_docs_name_the_accepted_formats(handler) -> None:
    assert ACCEPTED_FORMATS in call(handler, http_event("GET", "/breed-classifier")).text
    schema = call(handler, http_event("GET", "/openapi.json")).json()
    assert ACCEPTED_FORMATS in json.dumps(schema)


# --- the bot: a photo sent "as a file" ----------------------------------------------------------


@pytest.mark.parametrize("mime", ["image/heic", "application/octet-stream"])
async def test_bot_answers_an_iphone_photo_sent_as_a_file(bot_api, polling_bot, mime) -> None:
    data = (PHOTOS / "dog_beagle_rotated.heic").read_bytes()
    reference = get_classifier().classify((PHOTOS / "dog_beagle.jpg").read_bytes())
    answer = get_classifier().classify(data)
    bot_api.add_file("doc-heic", data, file_path="documents/IMG_0001.HEIC")
    message = u.document_message(
        "doc-heic", file_size=len(data), mime_type=mime, file_name="IMG_0001.HEIC"
    )
    bot_api.push_update(u.update(message))

    [reply] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert reference.display_name in reply["text"]
    assert f"{percent(answer.confidence)} sure" in reply["text"]
    assert bot_api.downloaded_paths == ["documents/IMG_0001.HEIC"]
