"""Unit tests of the bot's pure parts, and the webhook-style inline use of the factory."""

from __future__ import annotations

import asyncio
import datetime as dtm
import logging

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import PhotoSize, Update
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot import replies
from bot.config import BotSettings, MissingTokenError
from bot.files import choose_photo_size
from bot.filters import addressed_command
from bot.logs import REDACTED, install_token_redaction, redact
from bot.retry import RetryPolicy, call_with_retries, may_retry
from classifier import Breed, BreedGuess, Prediction
from classifier.result import Pet
from tests.support import updates as u

TOKEN = "9876543:AAF_secret-token-value_abcdefghijklmn"


# ----- replies
def guess(name: str, species: str, confidence: float) -> BreedGuess:
    return BreedGuess(name.lower(), name, species, confidence)  # type: ignore[arg-type]


def test_confident_answer_names_breed_species_and_percent() -> None:
    top = (guess("Beagle", "dog", 0.923), guess("Basset Hound", "dog", 0.05))
    prediction = Prediction(True, "dog", "beagle", "Beagle", 0.923, top, 0.9, True)
    text = replies.prediction_text(prediction)
    assert text.startswith("🐶 Beagle (dog), 92% sure.")
    assert "Basset Hound" in text
    assert replies.prediction_text(prediction, compact=True) == "🐶 Beagle (dog), 92% sure."


def test_unsure_answer_gives_top_three() -> None:
    top = (guess("Birman", "cat", 0.5), guess("Ragdoll", "cat", 0.3), guess("Siamese", "cat", 0.1))
    prediction = Prediction(True, "cat", "birman", "Birman", 0.5, top, 0.9, False)
    lines = replies.prediction_text(prediction).splitlines()
    assert "not sure" in lines[0]
    assert lines[1:] == ["1. Birman (cat), 50%", "2. Ragdoll (cat), 30%", "3. Siamese (cat), 10%"]


def test_domestic_cat_and_mixed_dog_are_answers_with_look_alikes() -> None:
    cat = (
        BreedGuess("domestic_cat", "Domestic cat", "cat", 0.81, pedigree=False),
        guess("British Shorthair", "cat", 0.14),
        guess("Russian Blue", "cat", 0.03),
    )
    sure = Prediction(True, "cat", "domestic_cat", "Domestic cat", 0.81, cat, 0.9, True, False)
    assert replies.prediction_text(sure) == (
        "🐱 A domestic cat, no particular breed. "
        "Closest look-alikes: British Shorthair 14%, Russian Blue 3%."
    )
    dog = (
        BreedGuess("mixed_breed_dog", "Mixed-breed dog", "dog", 0.4, pedigree=False),
        guess("Labrador Retriever", "dog", 0.41),
        guess("American Pit Bull Terrier", "dog", 0.12),
    )
    unsure = Prediction(
        True, "dog", "mixed_breed_dog", "Mixed-breed dog", 0.4, dog, 0.9, False, False
    )
    assert replies.prediction_text(unsure) == (
        "🐶 Probably a mixed breed. "
        "Looks most like: Labrador Retriever 41%, American Pit Bull Terrier 12%."
    )


def test_several_pets_are_listed_left_to_right() -> None:
    cat = Pet(
        (700, 90, 1200, 700),
        "cat",
        "siamese",
        "Siamese",
        0.88,
        True,
        True,
        (guess("Siamese", "cat", 0.88),),
        0.9,
    )
    dog = Pet(
        (10, 100, 600, 700),
        "dog",
        "beagle",
        "Beagle",
        0.97,
        True,
        True,
        (guess("Beagle", "dog", 0.97),),
        0.9,
    )
    prediction = Prediction.of_pets((cat, dog), (1280, 720))
    assert replies.prediction_text(prediction).splitlines() == [
        "I see 2 pets:",
        "1. 🐶 Beagle (left), 97% sure.",
        "2. 🐱 Siamese (right), 88% sure.",
    ]


def test_no_pet_never_names_a_breed() -> None:
    prediction = Prediction(False, None, None, None, 0.99, (), 0.01, False)
    assert "don't see a cat or a dog" in replies.prediction_text(prediction)


@pytest.mark.parametrize(
    ("probability", "text"), [(0.0, "<1%"), (0.004, "<1%"), (0.5, "50%"), (0.999, ">99%")]
)
def test_percent(probability: float, text: str) -> None:
    assert replies.percent(probability) == text


names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80)


@given(st.lists(st.tuples(names, st.sampled_from(["cat", "dog"])), max_size=400))
def test_breed_list_always_fits_one_message(entries: list[tuple[str, str]]) -> None:
    breeds = [Breed(f"b{i}", name, species) for i, (name, species) in enumerate(entries)]
    text = replies.breeds_text(breeds)
    assert len(text) <= replies.MAX_MESSAGE_LENGTH


def test_about_reads_nested_metrics() -> None:
    text = replies.about_text(
        name="m",
        version="1",
        backbone="lite0",
        metrics={
            "oxford-pets": {"top1_mean_per_class": 0.9, "n": 740},
            "dogs-extra": {"n": 1062, "popular": {"top1": 0.85, "right_and_sure": 0.7}},
            "pets-generic": {"n": 400, "cat": {"answered_non_pedigree": 0.93}},
        },
        breed_count=133,
    )
    assert "the 37 Oxford-IIIT Pet breeds: right breed: 90.0%" in text
    assert "right and stated as sure: 70.0%" in text
    assert 'ordinary cats answered "domestic cat": 93.0%' in text
    assert "2202 held-out photos" in text
    assert "not stored" in text


# ----- photo size
def size(width: int, height: int) -> PhotoSize:
    return PhotoSize(f"f{width}", f"u{width}", width, height, file_size=width * height // 10)


def test_photo_size_smallest_comfortable_one() -> None:
    sizes = [size(1280, 960), size(90, 68), size(320, 240), size(800, 600)]
    assert choose_photo_size(sizes, 224, 1.15).width == 800  # 240 < 257.6 <= 600
    assert choose_photo_size(sizes, 200, 1.15).width == 320  # 240 >= 230
    assert choose_photo_size([size(90, 68), size(320, 240)], 224, 1.15).width == 320  # largest


# ----- commands
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/breed", "breed"),
        ("/breed@Breed_Test_Bot", "breed"),
        ("/breed@breed_test_bot please", "breed"),
        ("/breed@otherbot", None),
        ("/breeds", "breeds"),
        ("/breedx@", None),
        ("breed", None),
        (None, None),
    ],
)
def test_addressed_command(text: str | None, expected: str | None) -> None:
    assert addressed_command(text, "breed_test_bot") == expected


# ----- retries
def with_cause(exc: Exception, cause: Exception) -> Exception:
    exc.__cause__ = cause
    return exc


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (RetryAfter(dtm.timedelta(seconds=1)), False, True),
        (NetworkError("Internal Server Error"), False, True),  # a 5xx answer
        (BadRequest("chat not found"), True, False),
        (Forbidden("blocked"), True, False),
        (with_cause(TimedOut(), httpx.ConnectTimeout("x")), False, True),
        (with_cause(TimedOut(), httpx.ReadTimeout("x")), False, False),  # may be delivered
        (with_cause(TimedOut(), httpx.ReadTimeout("x")), True, True),
        (with_cause(NetworkError("x"), httpx.RemoteProtocolError("x")), False, False),
        (with_cause(NetworkError("x"), httpx.ConnectError("x")), False, True),
    ],
)
def test_may_retry(exc: Exception, idempotent: bool, expected: bool) -> None:
    assert may_retry(exc, idempotent=idempotent) is expected


async def test_retries_are_bounded() -> None:
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise NetworkError("Bad Gateway")

    with pytest.raises(NetworkError):
        await call_with_retries("x", failing, RetryPolicy(attempts=2, backoff=0), idempotent=True)
    assert calls == 3


async def test_too_long_retry_after_is_not_waited() -> None:
    async def limited() -> None:
        raise RetryAfter(dtm.timedelta(hours=1))

    policy = RetryPolicy(attempts=3, max_retry_after=30)
    with pytest.raises(RetryAfter):
        await asyncio.wait_for(call_with_retries("x", limited, policy, idempotent=True), 1)


# ----- settings and logs
def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "http://localhost:8081/")
    monkeypatch.setenv("BOT_RETRY_ATTEMPTS", "5")
    monkeypatch.setenv("BOT_MAX_DOWNLOAD_BYTES", str(50 * 1024 * 1024))
    settings = BotSettings(_env_file=None)
    assert settings.base_url == "http://localhost:8081/bot"
    assert settings.base_file_url == "http://localhost:8081/file/bot"
    assert settings.retry_attempts == 5
    assert settings.max_download_bytes == 20 * 1024 * 1024  # capped at Telegram's limit
    assert TOKEN not in repr(settings)


def test_missing_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(MissingTokenError):
        BotSettings(_env_file=None).require_token()


def test_token_redacted_from_logs(caplog: pytest.LogCaptureFixture) -> None:
    install_token_redaction(TOKEN)
    caplog.set_level(logging.INFO)
    logging.getLogger("bot.test").info("GET https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise ValueError(f"failed: https://api.telegram.org/bot{TOKEN}/getFile")
    except ValueError:
        logging.getLogger("bot.test").exception("boom")
    assert TOKEN not in caplog.text and REDACTED in caplog.text
    assert redact(f"x 123456:{'a' * 35} y") == f"x {REDACTED} y"
    assert logging.getLogger("httpx").getEffectiveLevel() >= logging.WARNING


# ----- webhook-style use: no updater, one update processed inline
async def test_process_update_inline_without_updater(bot_api, bot_settings, photo) -> None:
    from bot.application import build_application, register_commands

    app = build_application(bot_settings, updater=False)
    assert app.updater is None
    await app.initialize()
    try:
        await register_commands(app.bot)
        sizes, files = u.photo_sizes(photo("dog_beagle"), "inline")
        for file_id, data in files.items():
            bot_api.add_file(file_id, data, file_path=f"photos/{file_id}.jpg")
        for text_or_photo in ("photo", "hello"):
            msg = u.photo_message(sizes) if text_or_photo == "photo" else u.text_message("hello")
            update = Update.de_json({"update_id": 1, **u.update(msg)}, app.bot)
            await app.process_update(update)  # the reply is sent before this returns
        texts = bot_api.sent_texts
        assert len(texts) == 2 and "Beagle" in texts[0] and "Send me a photo" in texts[1]
        assert bot_api.calls("getUpdates") == [] and bot_api.calls("deleteWebhook") == []
        assert len(bot_api.calls("setMyCommands")) == 2
    finally:
        await app.shutdown()


async def test_a_bug_in_a_handler_gets_an_apology_and_the_bot_goes_on(
    bot_api, bot_settings
) -> None:
    from bot.application import build_application
    from classifier import get_classifier

    calls = 0

    def flaky_classifier():
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("a bug")
        return get_classifier()

    app = build_application(bot_settings, updater=False, classifier_factory=flaky_classifier)
    await app.initialize()
    try:
        bot_api.add_file("pug", b"")
        for update_id in (1, 2):
            doc = u.document_message("pug", file_size=10)
            await app.process_update(
                Update.de_json({"update_id": update_id, "message": doc}, app.bot)
            )
        first, second = bot_api.sent_texts
        assert "something went wrong" in first
        assert second.startswith("Sorry, I couldn't read that image.")  # the empty file
    finally:
        await app.shutdown()


async def test_group_mention_as_reply_to_a_photo(bot_api, bot_settings, photo) -> None:
    from bot.application import build_application

    app = build_application(bot_settings, updater=False)
    await app.initialize()
    try:
        data = photo("dog_pug")
        bot_api.add_file("g-pug", data)
        doc = u.document_message("g-pug", file_size=len(data), chat=u.GROUP_CHAT)
        text = f"@{bot_api.username} what breed?"
        mention = u.message(
            chat=u.GROUP_CHAT,
            text=text,
            entities=u.mention_entities(text, bot_api.username),
            reply_to_message=doc,
        )
        alone = u.message(
            chat=u.GROUP_CHAT, text=text, entities=u.mention_entities(text, bot_api.username)
        )
        for update_id, msg in enumerate((mention, alone), start=1):
            await app.process_update(
                Update.de_json({"update_id": update_id, "message": msg}, app.bot)
            )
        pug, help_text = bot_api.sent_texts
        assert "Pug" in pug
        assert "reply to a photo with /breed" in help_text
    finally:
        await app.shutdown()
