"""The pure parts of issue 11: the rate-limit policy, callback data, keyboards, user hashes,
``BREEDBOT_STORE`` parsing, /stats and the export rows, and how a bad setting is named."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot import feedback, feedback_replies
from bot.export import row, true_label
from bot.privacy import UserHasher
from bot.ratelimit import DAY, MINUTE, RateLimits, decide
from bot.store import AnswerRecord, Guess, RateState, parse_store_url
from bot.store.config import StoreSettings
from classifier import BreedGuess, Prediction

T0 = 1_800_000_000.0
LIMITS = RateLimits(per_minute=3, per_day=5)


def run(times: list[float], limits: RateLimits = LIMITS, state: RateState | None = None):
    decisions = []
    for now in times:
        decision, state, _ = decide(state, now, limits)
        decisions.append(decision)
    return decisions, state


# ----- rate limits
def test_a_minute_allows_the_limit_then_tells_once_then_is_silent() -> None:
    decisions, _ = run([T0 + i for i in range(6)])
    assert [d.allowed for d in decisions] == [True, True, True, False, False, False]
    assert [d.notify for d in decisions] == [False, False, False, True, False, False]
    assert decisions[3].window == "minute" and decisions[3].retry_after == pytest.approx(57)


def test_the_minute_window_starts_at_the_first_photo_not_the_clock_minute() -> None:
    decisions, _ = run([T0 + 50, T0 + 51, T0 + 52, T0 + 61, T0 + 109.9, T0 + 110])
    assert [d.allowed for d in decisions] == [True, True, True, False, False, True]
    assert [d.notify for d in decisions] == [False, False, False, True, False, False]


def test_the_day_limit_counts_answered_photos_only_and_tells_once_per_block() -> None:
    times = [T0, T0 + 1, T0 + 2, T0 + 3, T0 + MINUTE + 1, T0 + MINUTE + 2, T0 + MINUTE + 3]
    decisions, state = run(times)
    assert [d.allowed for d in decisions] == [True, True, True, False, True, True, False]
    assert decisions[6].window == "day" and decisions[6].notify
    assert state.day_count == 5
    later, _ = run([T0 + 2 * MINUTE, T0 + DAY - 1, T0 + DAY], state=state)
    assert [d.allowed for d in later] == [False, False, True]
    assert not any(d.notify for d in later[:2])


def test_a_clock_slightly_behind_stays_in_the_same_window() -> None:
    """Another container's clock 200 ms behind must not reopen the window (this let 17 of 30
    photos through before it was fixed)."""
    decisions, _ = run([T0, T0 - 0.2, T0 + 0.1, T0 - 0.1])
    assert [d.allowed for d in decisions] == [True, True, True, False]


def test_zero_turns_a_limit_off() -> None:
    decisions, _ = run([T0 + i / 10 for i in range(50)], RateLimits(per_minute=0, per_day=0))
    assert all(d.allowed for d in decisions)
    assert not RateLimits(0, 0).enabled and RateLimits(0, 1).enabled


def test_the_limit_message_says_when_to_come_back() -> None:
    assert "45 seconds" in feedback_replies.rate_limited("minute", 10, 44.2)
    assert "10 photos a minute" in feedback_replies.rate_limited("minute", 10, 44.2)
    assert "24 hours" in feedback_replies.rate_limited("day", 200, DAY - 10)


# ----- callback data and keyboards
def test_callback_data_fits_64_bytes_and_round_trips() -> None:
    answer_id = feedback.new_answer_id()
    tag = UserHasher(b"k").button_tag(7001)
    for code in ("y", "n", "g1", "g9", "o", "m"):
        data = feedback.callback_data(answer_id, tag, code)
        assert len(data.encode()) <= 29
        assert feedback.parse(data) == feedback.Choice(answer_id, tag, code)


@pytest.mark.parametrize(
    "data",
    [
        None,
        "",
        "fb1",
        "fb1:short:0123abcd:y",
        "fb1:AAAAAAAAAAA:0123abcd:x",
        "fb1:AAAAAAAAAAA:0123abcd:g0",
        "fb1:AAAAAAAAAAA:0123ABCD:y",
        "fb1:AAAAAAAAAAA:0123abcd:y:extra",
        "fb2:AAAAAAAAAAA:0123abcd:y",
        "fb1:AAAA AAAAAA:0123abcd:y",
        "x" * 200,
        "fb1:ÄAAAAAAAAAA:0123abcd:y",
    ],
)
def test_malformed_callback_data_is_refused(data) -> None:
    assert feedback.parse(data) is None


def record(**fields) -> AnswerRecord:
    values = {
        "answer_id": "A" * 11,
        "user_hash": "h",
        "chat_type": "private",
        "file_unique_id": "AQAD",
        "model_version": "2.0",
        "guesses": (
            Guess("beagle", "Beagle", 0.6),
            Guess("basset_hound", "Basset Hound", 0.3),
            Guess("english_foxhound", "English Foxhound", 0.05),
        ),
        "created_at": T0,
        "expires_at": T0 + DAY,
    }
    values.update(fields)
    return AnswerRecord(**values)


def test_the_correction_keyboard_offers_the_other_guesses_then_other_and_mixed() -> None:
    keyboard = feedback.correction_keyboard(record(), "0123abcd")
    texts = [button.text for row_ in keyboard.inline_keyboard for button in row_]
    assert texts == ["Basset Hound", "English Foxhound", "Other breed", "Mixed / domestic"]
    choice = feedback.parse(keyboard.inline_keyboard[1][0].callback_data)
    assert feedback.correction_of(record(), choice) == "english_foxhound"
    too_far = feedback.Choice("A" * 11, "0123abcd", "g3")
    assert feedback.correction_of(record(), too_far) is None


def test_no_record_for_a_photo_without_a_pet() -> None:
    nothing = Prediction(False, None, None, None, 0.9)
    assert (
        feedback.answer_record(
            nothing,
            answer_id="A" * 11,
            user_hash="h",
            chat_type="private",
            file_unique_id=None,
            model_version="2",
            now=T0,
            expires_at=T0 + 1,
        )
        is None
    )
    pet = Prediction(True, "dog", "pug", "Pug", 0.9, (BreedGuess("pug", "Pug", "dog", 0.9),))
    kept = feedback.answer_record(
        pet,
        answer_id="A" * 11,
        user_hash="h",
        chat_type="group",
        file_unique_id="AQ",
        model_version="2",
        now=T0,
        expires_at=T0 + 1,
    )
    assert kept is not None and kept.answer == Guess("pug", "Pug", 0.9)


# ----- user hashes
def test_user_hashes_are_keyed_stable_and_not_the_id() -> None:
    keyed = UserHasher.for_bot("a-long-secret-key", "123")
    assert keyed.user_hash(7001) == UserHasher.for_bot("a-long-secret-key", "999").user_hash(7001)
    assert keyed.user_hash(7001) != UserHasher.for_bot("another-key", "123").user_hash(7001)
    assert keyed.user_hash(7001) != keyed.user_hash(7002)
    assert "7001" not in keyed.user_hash(7001) and len(keyed.user_hash(7001)) == 32
    assert keyed.button_tag(7001) not in keyed.user_hash(7001)
    unkeyed = UserHasher.for_bot(None, "123")
    assert unkeyed.user_hash(7001) != UserHasher.for_bot(None, "124").user_hash(7001)


# ----- BREEDBOT_STORE
@pytest.mark.parametrize(
    ("url", "scheme", "where"),
    [
        ("memory://", "memory", None),
        ("sqlite:///state/bot.sqlite3", "sqlite", "state/bot.sqlite3"),
        ("sqlite:////var/lib/breed-bot/bot.sqlite3", "sqlite", "/var/lib/breed-bot/bot.sqlite3"),
        ("dynamodb://breed-bot-store", "dynamodb", "breed-bot-store"),
        ("DynamoDB://t-1.x?region=eu-west-1", "dynamodb", "t-1.x"),
    ],
)
def test_store_urls(url, scheme, where) -> None:
    location = parse_store_url(url)
    assert location.scheme == scheme
    assert (str(location.path) if location.path else location.table) == where


@pytest.mark.parametrize(
    "url",
    [
        "postgres://db",
        "sqlite://",
        "sqlite:///",
        "sqlite:///dir/..",
        "dynamodb://",
        "dynamodb://ab",
        "dynamodb://table/extra",
        "dynamodb://table?colour=blue",
        "dynamodb://table?endpoint=ftp://x",
        "memory://somewhere",
        "just-a-path.sqlite3",
    ],
)
def test_bad_store_urls_are_refused_by_name(url, monkeypatch) -> None:
    monkeypatch.setenv("BREEDBOT_STORE", url)
    with pytest.raises(ValidationError) as exc:
        StoreSettings(_env_file=None)
    assert "BREEDBOT_STORE" in str(exc.value) or "url" in str(exc.value)
    from bot.store.config import settings_problems

    [problem] = settings_problems()
    assert problem.startswith("BREEDBOT_STORE: ")


# ----- /stats and the export
def test_stats_per_breed_and_corrections() -> None:
    records = [
        record(answer_id="a" * 11, verdict="right", rated_at=T0),
        record(answer_id="b" * 11, verdict="wrong", correction="basset_hound", rated_at=T0),
        record(answer_id="c" * 11),
        record(
            answer_id="d" * 11,
            guesses=(Guess("pug", "Pug", 0.9),),
            verdict="wrong",
            correction="mixed",
            rated_at=T0,
        ),
    ]
    text = feedback_replies.stats_text(records, answer_days=7)
    assert "Answers kept: 4" in text and "👍 1, 👎 2" in text and "agreement 33%" in text
    assert "• Beagle: 3, 1/1, 50%" in text and "• Pug: 1, 0/1, 0%" in text
    assert "Beagle → Basset Hound: 1" in text and "Pug → mixed / domestic: 1" in text
    assert "No answers" in feedback_replies.stats_text([], answer_days=7)
    many = [
        record(answer_id=f"{i:011d}", guesses=(Guess(f"b{i}", f"B{i}", 1.0),)) for i in range(500)
    ]
    assert len(feedback_replies.stats_text(many, answer_days=7)) <= 4096


def test_export_rows_and_labels() -> None:
    right = record(verdict="right", rated_at=T0 + 5)
    assert true_label(right) == "beagle"
    assert true_label(record(verdict="wrong", correction="basset_hound")) == "basset_hound"
    assert true_label(record(verdict="wrong", correction="other")) == ""
    assert true_label(record()) == ""
    values = row(right)
    assert values["answered_at"].startswith("2027-01-15T") and values["verdict"] == "right"
    assert values["other_guesses"] == "basset_hound=0.3000;english_foxhound=0.0500"


# ----- settings name the variable, never the value
@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BREEDBOT_THREADS", "two"),
        ("BREEDBOT_POOL_SIZE", "0"),
        ("BREEDBOT_MAX_PIXELS", "lots"),
    ],
)
def test_a_bad_classifier_variable_is_a_classifier_error_naming_it(
    monkeypatch, variable, value
) -> None:
    from classifier import ClassifierError, ClassifierSettings

    monkeypatch.setenv(variable, value)
    with pytest.raises(ClassifierError) as exc:
        ClassifierSettings.from_env()
    assert variable in str(exc.value) and f"'{value}'" not in str(exc.value)


def test_bot_settings_problems_name_variables(monkeypatch) -> None:
    from bot.config import settings_problems

    monkeypatch.setenv("BOT_RATE_LIMIT_PER_MINUTE", "-3")
    monkeypatch.setenv("BOT_ADMIN_IDS", "12,abc")
    monkeypatch.setenv("TELEGRAM_API_BASE_URL", "ftp://nope")
    problems = settings_problems()
    names = sorted(p.split(":")[0] for p in problems)
    assert names == ["BOT_ADMIN_IDS", "BOT_RATE_LIMIT_PER_MINUTE", "TELEGRAM_API_BASE_URL"]
    assert not any("abc" in p or "nope" in p for p in problems)


def test_admin_ids_are_a_comma_separated_list(monkeypatch) -> None:
    from bot.config import BotSettings

    monkeypatch.setenv("BOT_ADMIN_IDS", " 12, 34 ,")
    assert BotSettings(_env_file=None).admin_ids == frozenset({12, 34})
    monkeypatch.setenv("BOT_ADMIN_IDS", "")
    assert BotSettings(_env_file=None).admin_ids == frozenset()


def test_every_settings_class_reads_the_env_file(monkeypatch, tmp_path) -> None:
    from bot.config import BotSettings
    from classifier import ClassifierSettings
    from webhook.config import WebSettings

    env_file = tmp_path / "custom.env"
    env_file.write_text(
        "BOT_RATE_LIMIT_PER_DAY=33\nBREEDBOT_THREADS=3\nWEBHOOK_URL=https://x.example\n"
        "BREEDBOT_STORE=memory://\n"
    )
    monkeypatch.setenv("BREEDBOT_ENV_FILE", str(env_file))
    for name in ("BOT_RATE_LIMIT_PER_DAY", "BREEDBOT_THREADS", "WEBHOOK_URL", "BREEDBOT_STORE"):
        monkeypatch.delenv(name, raising=False)
    assert BotSettings().rate_limit_per_day == 33
    assert ClassifierSettings.from_env().threads == 3
    assert WebSettings().webhook_url == "https://x.example"
    assert StoreSettings().location(None).scheme == "memory"
    monkeypatch.setenv("BREEDBOT_THREADS", "2")  # the environment wins over the file
    assert ClassifierSettings.from_env().threads == 2
    monkeypatch.setenv("BREEDBOT_ENV_FILE", "")  # no file at all
    assert BotSettings().rate_limit_per_day == 200


def test_every_variable_is_documented_in_env_example() -> None:
    from pathlib import Path

    from bot.config import BotSettings
    from classifier.config import ENV_FILE_VARIABLE, _ClassifierEnv, variable_name
    from webhook.config import WebSettings

    example = (Path(__file__).resolve().parent.parent / ".env.example").read_text()
    names = {ENV_FILE_VARIABLE}
    for settings_cls in (BotSettings, StoreSettings, WebSettings, _ClassifierEnv):
        names |= {variable_name(settings_cls, field) for field in settings_cls.model_fields}
    missing = sorted(name for name in names if name not in example)
    assert missing == []


def test_about_says_what_is_kept() -> None:
    from bot import replies

    privacy = feedback_replies.kept_data_text(7, 365)
    text = replies.about_text(
        name="m", version="2", backbone="b", metrics=None, breed_count=3, privacy=privacy
    )
    for words in ("not stored", "hash of your user id", "7 days", "365 days", "/forget"):
        assert words in text
