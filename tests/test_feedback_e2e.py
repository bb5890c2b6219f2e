"""Feedback, /forget, /stats, the export and the rate limits, end to end: the real bot polling
the Bot API double over HTTP, the real classifier, the real store (a SQLite file), and the
real ``python -m bot feedback export`` in its own process.
"""

from __future__ import annotations

import asyncio
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from bot.feedback import MAX_CALLBACK_DATA
from bot.store.config import DEFAULT_FILE_NAME
from bot.store.sqlite import SQLiteBackend
from tests.conftest import start_polling_bot
from tests.support import updates as u
from tests.support.bot_api_double import BotApiDouble

ROOT = Path(__file__).resolve().parent.parent
ADMIN = {"id": 4242, "is_bot": False, "first_name": "Ada"}
ADMIN_CHAT = {"id": 4242, "type": "private", "first_name": "Ada"}


def photo_update(
    api: BotApiDouble,
    data: bytes,
    prefix: str,
    *,
    user: dict = u.USER,
    chat: dict = u.PRIVATE_CHAT,
    caption: str | None = None,
) -> dict:
    sizes, files = u.photo_sizes(data, prefix, long_sides=(320, 800))
    for file_id, content in files.items():
        api.add_file(file_id, content)
    return u.update(u.photo_message(sizes, user=user, chat=chat, caption=caption))


def command(text: str, *, user: dict = u.USER, chat: dict = u.PRIVATE_CHAT) -> dict:
    return u.update(u.text_message(text, user=user, chat=chat))


def answer_to(api: BotApiDouble, update: dict) -> dict:
    """The bot's message answering ``update`` (exactly one)."""
    msg = update["message"]
    answers = [
        m
        for m in api.requests
        if m.method == "sendMessage"
        and m.ok
        and m.params["reply_parameters"]["message_id"] == msg["message_id"]
    ]
    assert len(answers) == 1, [a.params.get("text") for a in answers]
    sent = [
        value
        for (chat_id, _), value in api.messages.items()
        if chat_id == msg["chat"]["id"] and value["text"] == answers[0].params["text"]
    ]
    return sent[-1]


def stored(state_dir: str) -> list:
    return list(SQLiteBackend(Path(state_dir) / DEFAULT_FILE_NAME).scan_answers(time.time()))


async def press(api: BotApiDouble, sent: dict, text: str | None, *, user: dict, data=None) -> str:
    """Tap a button (or send forged ``data``); returns the bot's answerCallbackQuery text."""
    before = len(api.callback_answers())
    api.push_update(api.press(sent["chat"]["id"], sent["message_id"], text, user=user, data=data))
    await api.until(lambda: len(api.callback_answers()) > before)
    return str(api.callback_answers()[-1].get("text", ""))


def button_texts(api: BotApiDouble, sent: dict) -> list[str]:
    return [b["text"] for b in api.buttons(sent["chat"]["id"], sent["message_id"])]


async def buttons_after_edit(api: BotApiDouble, sent: dict, before: list[str]) -> list[str]:
    """The buttons once the bot has edited them (it answers the press first, then edits)."""
    await api.until(lambda: button_texts(api, sent) != before)
    return button_texts(api, sent)


async def test_right_wrong_correction_stale_forged_forget_and_stats(
    bot_api, bot_settings, photo, tmp_path
) -> None:
    settings = bot_settings.model_copy(update={"admin_ids": frozenset({ADMIN["id"]})})
    bot = await start_polling_bot(settings)
    first = photo_update(bot_api, photo("dog_beagle"), "fb-beagle")
    second = photo_update(bot_api, photo("cat_siamese"), "fb-siamese")
    bot_api.push_updates(first, second)
    await bot_api.wait_for_messages(2)

    # Every answer carries 👍/👎, with callback data within Telegram's 64 bytes (the double
    # refuses longer data like Telegram does).
    beagle = answer_to(bot_api, first)
    assert button_texts(bot_api, beagle) == ["👍 Right", "👎 Wrong"]
    for button in bot_api.buttons(beagle["chat"]["id"], beagle["message_id"]):
        assert len(button["callback_data"].encode()) <= MAX_CALLBACK_DATA
    old_keyboard = list(bot_api.buttons(beagle["chat"]["id"], beagle["message_id"]))

    # 👎 Wrong -> the other top guesses, "Other breed", "Mixed / domestic".
    assert "Which one" in await press(bot_api, beagle, "👎 Wrong", user=u.USER)
    choices = await buttons_after_edit(bot_api, beagle, ["👍 Right", "👎 Wrong"])
    assert choices[-2:] == ["Other breed", "Mixed / domestic"] and len(choices) >= 3
    [record] = [r for r in stored(settings.state_dir) if r.verdict]
    assert record.verdict == "wrong" and record.correction is None
    guess = choices[0]
    assert guess == record.guesses[1].name  # the runner-up comes first
    assert guess in await press(bot_api, beagle, guess, user=u.USER)
    assert await buttons_after_edit(bot_api, beagle, choices) == []  # the buttons are gone

    # What is kept: hashed user, chat type, the photo's file_unique_id, model, answer, time.
    [record] = [r for r in stored(settings.state_dir) if r.verdict]
    assert record.correction == record.guesses[1].label
    assert record.user_hash != str(u.USER["id"]) and str(u.USER["id"]) not in record.user_hash
    assert record.chat_type == "private"
    assert record.file_unique_id == first["message"]["photo"][-1]["file_unique_id"]
    assert record.answer.label == "beagle" and 0 < record.answer.confidence <= 1
    assert record.model_version and record.rated_at >= record.created_at

    # A stale button (the first keyboard, still on another client) and forged data: a polite
    # answer, and nothing written.
    right = next(b for b in old_keyboard if b["text"] == "👍 Right")
    before = stored(settings.state_dir)
    assert "already rated" in await press(
        bot_api, beagle, None, user=u.USER, data=right["callback_data"]
    )
    tag = right["callback_data"].split(":")[2]
    for forged in (
        f"fb1:AAAAAAAAAAA:{tag}:y",
        "fb1:garbage",
        "x" * 64,
        "",
        f"fb1:AAAAAAAAAAA:{tag}:g7",
    ):
        text = await press(bot_api, beagle, None, user=u.USER, data=forged or "-")
        assert "expired" in text
    assert stored(settings.state_dir) == before

    # 👍 on the other answer.
    siamese = answer_to(bot_api, second)
    assert "right" in await press(bot_api, siamese, "👍 Right", user=u.USER)
    assert await buttons_after_edit(bot_api, siamese, ["👍 Right", "👎 Wrong"]) == []

    # /stats: admins only.
    bot_api.push_update(command("/stats"))
    bot_api.push_update(command("/stats", user=ADMIN, chat=ADMIN_CHAT))
    await bot_api.wait_for_messages(4)
    refused, stats = bot_api.sent_texts[2:4]
    if "admins" not in refused:
        refused, stats = stats, refused
    assert "only for the bot's admins" in refused
    assert "Answers kept: 2" in stats and "👍 1, 👎 1" in stats and "agreement 50%" in stats
    assert "Beagle: 1, 0/1, 0%" in stats and "Siamese: 1, 1/0, 100%" in stats

    # The export, by the real CLI in its own process, reading the same store.
    out = tmp_path / "exports" / "feedback.csv"
    env = {
        **os.environ,
        "BOT_STATE_DIR": settings.state_dir,
        "PYTHONPATH": str(ROOT),
        "BREEDBOT_ENV_FILE": "",
    }
    env.pop("BREEDBOT_STORE", None)
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "feedback", "export", "--out", str(out)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "2 answers written" in done.stdout
    rows = list(csv.DictReader(out.open(encoding="utf-8")))
    by_answer = {row["answer"]: row for row in rows}
    assert by_answer["beagle"]["verdict"] == "wrong"
    assert by_answer["beagle"]["true_label"] == record.guesses[1].label
    assert by_answer["siamese"]["true_label"] == "siamese"
    assert str(u.USER["id"]) not in out.read_text()

    # /forget: everything about this user goes; their old buttons then expire politely.
    bot_api.push_update(command("/forget"))
    await bot_api.wait_for_messages(5)
    assert "deleted 2 records" in bot_api.sent_texts[4]
    assert stored(settings.state_dir) == []
    assert "expired" in await press(bot_api, beagle, None, user=u.USER, data=right["callback_data"])
    await bot.stop()


async def test_in_a_group_only_the_asker_can_rate(bot_api, bot_settings, photo) -> None:
    bot = await start_polling_bot(bot_settings)
    asked = photo_update(bot_api, photo("dog_pug"), "grp", chat=u.GROUP_CHAT, caption="/breed")
    bot_api.push_update(asked)
    await bot_api.wait_for_messages(1)
    answer = answer_to(bot_api, asked)
    assert "Only the person who asked" in await press(
        bot_api, answer, "👍 Right", user=u.OTHER_USER
    )
    assert [r.verdict for r in stored(bot_settings.state_dir)] == [None]
    assert button_texts(bot_api, answer) == ["👍 Right", "👎 Wrong"]
    assert "right" in await press(bot_api, answer, "👍 Right", user=u.USER)
    [record] = stored(bot_settings.state_dir)
    assert record.verdict == "right" and record.chat_type == "supergroup"
    await bot.stop()


async def test_no_buttons_and_nothing_kept_for_no_pet(bot_api, bot_settings, photo) -> None:
    bot = await start_polling_bot(bot_settings)
    update = photo_update(bot_api, photo("nonpet_food"), "food")
    bot_api.push_update(update)
    await bot_api.wait_for_messages(1)
    await bot.stop()
    assert "reply_markup" not in answer_to(bot_api, update)
    assert stored(bot_settings.state_dir) == []


async def test_thirty_photos_in_ten_seconds_get_ten_answers_and_one_limit_message(
    bot_api, bot_settings, photo
) -> None:
    bot = await start_polling_bot(bot_settings)
    data = photo("dog_beagle")
    for batch in range(3):  # 30 photos over a few seconds, 10 at a time
        bot_api.push_updates(*(photo_update(bot_api, data, f"rl{batch}-{i}") for i in range(10)))
        await asyncio.sleep(1.0)
    await bot_api.until(lambda: bot_api.pending_updates == 0, within=30)
    await bot_api.wait_for_messages(11, within=30)
    bot_api.push_update(command("/help"))  # commands are never limited
    await bot_api.wait_for_messages(12)
    await asyncio.sleep(0.5)  # a 13th message would show up now
    await bot.stop()
    texts = bot_api.sent_texts
    assert len(texts) == 12, texts
    assert sum("Beagle" in text for text in texts) == 10
    [limit] = [text for text in texts if "a lot of photos" in text]
    assert "10 photos a minute" in limit and "seconds" in limit
    assert texts[-1].startswith("How to use me")
    assert len(bot_api.downloaded_paths) == 10  # the others were neither downloaded nor classified


async def test_admins_are_not_limited(bot_api, bot_settings, photo) -> None:
    settings = bot_settings.model_copy(
        update={"admin_ids": frozenset({ADMIN["id"]}), "rate_limit_per_minute": 3}
    )
    bot = await start_polling_bot(settings)
    data = photo("cat_persian")
    bot_api.push_updates(
        *(photo_update(bot_api, data, f"adm{i}", user=ADMIN, chat=ADMIN_CHAT) for i in range(5))
    )
    await bot_api.wait_for_messages(5)
    await asyncio.sleep(0.3)
    await bot.stop()
    assert len(bot_api.sent_texts) == 5
    assert not any("a lot of photos" in text for text in bot_api.sent_texts)


async def test_the_daily_limit_says_hours(bot_api, bot_settings, photo) -> None:
    settings = bot_settings.model_copy(update={"rate_limit_per_minute": 0, "rate_limit_per_day": 2})
    bot = await start_polling_bot(settings)
    data = photo("dog_pug")
    bot_api.push_updates(*(photo_update(bot_api, data, f"day{i}") for i in range(4)))
    await bot_api.wait_for_messages(3)
    await asyncio.sleep(0.3)
    await bot.stop()
    texts = bot_api.sent_texts
    assert len(texts) == 3
    [limit] = [text for text in texts if "a lot of photos" in text]
    assert "2 photos a day" in limit and "24 hours" in limit


async def test_a_press_on_a_message_too_old_to_edit_is_answered_and_nothing_breaks(
    bot_api, bot_settings, photo
) -> None:
    """Telegram sends an InaccessibleMessage (date 0) for a message older than 48 hours."""
    bot = await start_polling_bot(bot_settings)
    update = photo_update(bot_api, photo("dog_beagle"), "old")
    bot_api.push_update(update)
    await bot_api.wait_for_messages(1)
    sent = answer_to(bot_api, update)
    press = bot_api.press(sent["chat"]["id"], sent["message_id"], "👍 Right", user=u.USER)
    press["callback_query"]["message"] = {
        "chat": sent["chat"],
        "message_id": sent["message_id"],
        "date": 0,
    }
    bot_api.push_update(press)
    await bot_api.until(lambda: len(bot_api.callback_answers()) == 1)
    await asyncio.sleep(0.3)
    await bot.stop()
    assert "right" in bot_api.callback_answers()[0]["text"]
    assert len(bot_api.sent_messages) == 1  # no apology
    assert not bot_api.calls("editMessageReplyMarkup")
