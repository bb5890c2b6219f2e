"""The upload form, the JSON API and /healthz through the Lambda handler itself.

``webhook.main.handler(event, context)`` is called with real-shaped Function URL and API Gateway
HTTP API events (payload 2.0), multipart bodies base64-encoded as Lambda delivers them, the real
classifier and real photos.
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from PIL import Image

from classifier import get_classifier
from tests.support.lambda_events import call, http_event, upload_event

PHOTOS = Path(__file__).resolve().parent / "fixtures" / "photos"
SOURCES = ["function_url", "http_api"]


def photo(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


def encode(image: Image.Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


# --- JSON API ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_api_classifies_a_dog_like_the_cli(handler, source):
    data = photo("dog_beagle.jpg")
    result = call(
        handler, upload_event("/api/classify", "beagle.jpg", data, "image/jpeg", source=source)
    )
    assert result.status == 200, result.text
    assert result.headers["content-type"] == "application/json"
    body = result.json()
    expected = get_classifier().classify(data, top_k=3).to_dict()
    # The CLI object's fields, identical; extra keys are additions only.
    lists = ("top", "pets")  # their entries gain display names: compared below
    assert {key: body[key] for key in expected if key not in lists} == {
        key: value for key, value in expected.items() if key not in lists
    }

    def cli_fields(guesses):
        return [{"breed": g["breed"], "confidence": g["confidence"]} for g in guesses]

    assert cli_fields(body["top"]) == expected["top"]
    assert [{**pet, "top": cli_fields(pet["top"])} for pet in body["pets"]] == expected["pets"]
    assert body["breed"] == "beagle" and body["species"] == "dog" and body["is_pet"]
    assert body["display_name"] == "Beagle"
    assert body["image_format"] == "JPEG"
    assert body["model_version"] == get_classifier().card.version
    assert len(body["top"]) == 3


def test_api_says_no_pet_for_food(handler):
    result = call(handler, upload_event("/api/classify", "x.jpg", photo("nonpet_food.jpg")))
    assert result.status == 200
    body = result.json()
    assert body["is_pet"] is False and body["breed"] is None and body["species"] is None
    assert body["top"] == []


def test_api_sniffs_the_type_from_content_not_the_name(handler):
    """A PNG called .txt and sent as text/plain is still an image; the name does not matter."""
    png = encode(Image.open(io.BytesIO(photo("dog_pug.jpg"))), "PNG")
    result = call(handler, upload_event("/api/classify", "notes.txt", png, "text/plain"))
    assert result.status == 200, result.text
    assert result.json()["image_format"] == "PNG"
    assert result.json()["species"] == "dog"


def test_api_top_k(handler):
    event = upload_event("/api/classify", "a.jpg", photo("dog_pug.jpg"))
    event["rawQueryString"] = "top_k=5"
    assert len(call(handler, event).json()["top"]) == 5


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "empty"),
        (b"%PDF-1.7 not an image at all", 415, "not an image"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00", 422, "damaged"),
        (photo("dog_beagle.jpg")[:600], 422, "damaged"),
    ],
    ids=["empty", "pdf", "heic-header-only", "truncated-jpeg"],
)
def test_api_rejects_bad_files_with_a_message(handler, content, status, message):
    result = call(handler, upload_event("/api/classify", "f.bin", content))
    assert result.status == status, result.text
    assert message.lower() in result.json()["detail"].lower()


def test_api_without_a_file_field_is_422(handler):
    event = upload_event("/api/classify", "a.jpg", photo("dog_pug.jpg"), field_name="image")
    result = call(handler, event)
    assert result.status == 422
    assert "file" in result.text


def test_api_refuses_bodies_over_the_limit_before_reading_them(handler):
    from webhook.config import get_settings

    big = b"\xff\xd8" + b"\x00" * (get_settings().upload_max_bytes + 10)
    result = call(handler, upload_event("/api/classify", "big.jpg", big))
    assert result.status == 413
    assert "too large" in result.json()["detail"]


def test_api_is_documented_in_openapi(handler):
    result = call(handler, http_event("GET", "/openapi.json"))
    assert result.status == 200
    spec = result.json()
    operation = spec["paths"]["/api/classify"]["post"]
    assert {"200", "400", "413", "415", "422", "503"} <= set(operation["responses"])
    schema = spec["components"]["schemas"]["ClassifyResponse"]
    assert {"is_pet", "species", "breed", "confidence", "top"} <= set(schema["properties"])
    assert "/breed-classifier" in spec["paths"] and "/healthz" in spec["paths"]


# --- the upload form --------------------------------------------------------------------------


@pytest.mark.parametrize("source", SOURCES)
def test_form_page_is_mobile_friendly(handler, source):
    result = call(handler, http_event("GET", "/breed-classifier", source=source))
    assert result.status == 200
    assert result.headers["content-type"].startswith("text/html")
    html = result.text
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert 'enctype="multipart/form-data"' in html and 'name="file"' in html
    assert 'action="/breed-classifier"' in html


def test_root_redirects_to_the_form(handler):
    result = call(handler, http_event("GET", "/"))
    assert result.status == 307
    assert result.headers["location"] == "/breed-classifier"


@pytest.mark.parametrize("source", SOURCES)
def test_form_shows_breed_confidence_top3_and_a_preview(handler, source):
    event = upload_event(
        "/breed-classifier",
        "IMG_0001.JPG",
        photo("dog_beagle.jpg"),
        "image/jpeg",
        source=source,
        accept="text/html",
    )
    result = call(handler, event)
    assert result.status == 200, result.text
    html = result.text
    assert re.search(r'id="answer">\s*Beagle\s*<', html)
    assert re.search(r"(\d+|>99|<1)% sure", html)
    assert len(re.findall(r'<span class="breed">', html)) == 3
    match = re.search(r'id="preview" src="data:image/jpeg;base64,([^"]+)"', html)
    assert match, "no preview"
    preview = Image.open(io.BytesIO(base64.b64decode(match.group(1))))
    assert max(preview.size) <= 480


def test_form_says_clearly_when_there_is_no_cat_or_dog(handler):
    event = upload_event("/breed-classifier", "x.jpg", photo("nonpet_landscape.jpg"))
    result = call(handler, event)
    assert result.status == 200
    assert "No cat or dog found in this photo." in result.text
    assert '<span class="breed">' not in result.text


@pytest.mark.parametrize(
    ("content", "status", "message"),
    [
        (b"", 400, "The file is empty"),
        (b"GIF89a-but-not-really", 422, "image"),
        (b"hello, I am a text file", 415, "not an image I can read"),
    ],
)
def test_form_shows_a_friendly_error_for_bad_files(handler, content, status, message):
    result = call(handler, upload_event("/breed-classifier", "f", content))
    assert result.status == status
    assert result.headers["content-type"].startswith("text/html")
    assert 'id="error"' in result.text and message in result.text
    assert "Traceback" not in result.text


def test_form_too_large_is_a_friendly_page(handler):
    from webhook.config import get_settings

    big = b"\x89PNG" + b"\x00" * (get_settings().upload_max_bytes + 1)
    result = call(handler, upload_event("/breed-classifier", "big.png", big))
    assert result.status == 413
    assert result.headers["content-type"].startswith("text/html")
    assert "too large" in result.text and 'id="error"' in result.text


def test_form_escapes_what_it_echoes(handler):
    """Nothing from the request is echoed raw (file names are never shown)."""
    name = '"><script>alert(1)</script>.jpg'
    result = call(handler, upload_event("/breed-classifier", name, b"not an image"))
    assert "<script>alert(1)</script>" not in result.text


# --- health -----------------------------------------------------------------------------------


def test_healthz_reports_the_loaded_model(handler):
    result = call(handler, http_event("GET", "/healthz"))
    assert result.status == 200
    body = result.json()
    card = get_classifier().card
    assert body["status"] == "ok" and body["model_loaded"] is True
    assert body["labels"] == 135 == len(get_classifier().breeds)
    assert body["pedigree_breeds"] == 133
    assert body["model_version"] == card.version and body["model_name"] == card.name
    assert set(body["telegram"]) == {"token_configured", "secret_configured", "application_ready"}


def test_unknown_path_is_404_json(handler):
    result = call(handler, http_event("GET", "/nope", source="http_api"))
    assert result.status == 404
