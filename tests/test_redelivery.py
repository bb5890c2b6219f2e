"""Telegram delivering an update again (same ``update_id``) never gets a second answer.

Polling: a batch carrying the same update twice, a redelivery after a restart of the bot (the
claims are kept in the store, by default a SQLite file under ``BOT_STATE_DIR``), a claim left
by a crashed bot, and an update ptb cannot parse (it used to block polling for good). The
webhook's claims are covered in tests/test_webhook_telegram.py and tests/test_store_e2e.py
(two processes), and under concurrency by ``make loadtest``.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import tempfile
from pathlib import Path

from bot.dedup import bot_id_of
from bot.safe_updates import sanitize_updates
from bot.store.config import DEFAULT_FILE_NAME
from tests.conftest import start_polling_bot
from tests.support import updates as u
from tests.support.bot_api_double import BotApiDouble


def add_photo(bot_api: BotApiDouble, data: bytes, prefix: str) -> list[dict]:
    sizes, files = u.photo_sizes(data, prefix)
    for file_id, content in files.items():
        bot_api.add_file(file_id, content)
    return sizes


def answers_to(bot_api: BotApiDouble, message: dict) -> list[str]:
    return [
        m["text"]
        for m in bot_api.sent_messages
        if m["reply_parameters"]["message_id"] == message["message_id"]
    ]


async def test_the_same_update_twice_in_one_batch_is_answered_once(
    bot_api, polling_bot, photo
) -> None:
    msg = u.photo_message(add_photo(bot_api, photo("dog_pug"), "twice"))
    update = {"update_id": 5000, **u.update(msg)}
    last = u.text_message("/help")
    bot_api.push_updates(update, dict(update), {"update_id": 5001, **u.update(last)})

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    assert len(answers_to(bot_api, msg)) == 1
    assert len(answers_to(bot_api, last)) == 1
    assert len(bot_api.downloaded_paths) == 1


def claims_in(state_dir: str) -> dict[str, str]:
    with sqlite3.connect(Path(state_dir) / DEFAULT_FILE_NAME) as db:
        return dict(db.execute("SELECT key, state FROM update_claims").fetchall())


async def test_a_redelivery_after_a_restart_is_not_answered_again(
    bot_api, bot_settings, photo
) -> None:
    msg = u.photo_message(add_photo(bot_api, photo("dog_beagle"), "restart"))
    update = {"update_id": 7000, **u.update(msg)}

    first = await start_polling_bot(bot_settings)
    bot_api.push_update(update)
    await bot_api.wait_for_messages(1)
    await first.stop()
    token = bot_settings.token.get_secret_value()
    claims = await asyncio.to_thread(claims_in, bot_settings.state_dir)
    assert claims == {f"{bot_id_of(token)}:7000": "done"}
    data = await asyncio.to_thread((Path(bot_settings.state_dir) / DEFAULT_FILE_NAME).read_bytes)
    assert token.split(":")[1].encode() not in data

    # The bot crashed before confirming it: Telegram sends the same update to the new process.
    second = await start_polling_bot(bot_settings)
    bot_api.push_update(dict(update))
    later = u.text_message("hello")
    bot_api.push_update(u.update(later))
    await bot_api.wait_for_messages(2)
    await second.stop()
    assert len(answers_to(bot_api, msg)) == 1
    assert len(answers_to(bot_api, later)) == 1
    assert len(bot_api.downloaded_paths) == 1


async def test_an_update_a_crashed_bot_left_half_done_is_answered_after_the_restart(
    bot_api, bot_settings
) -> None:
    """The claim of a bot killed mid-update does not swallow the update: the next poller of
    the same bot takes it over at once (only one process can poll a bot)."""
    from bot.store import StoreSettings, process_store

    token = bot_settings.token.get_secret_value()
    store = process_store(bot_settings.state_dir, StoreSettings(_env_file=None))
    key = f"{bot_id_of(token)}:7100"
    assert (await store.claim_update(key, f"poll-{bot_id_of(token)}", 120)).value == "claimed"

    bot = await start_polling_bot(bot_settings)
    msg = u.text_message("/help")
    bot_api.push_update({"update_id": 7100, **u.update(msg)})
    await bot_api.wait_for_messages(1)
    await bot.stop()
    assert len(answers_to(bot_api, msg)) == 1


async def test_memory_only_state_still_drops_in_process_duplicates(bot_api, bot_settings) -> None:
    settings = bot_settings.model_copy(update={"state_dir": ""})
    state_dir = Path(bot_settings.state_dir)
    bot = await start_polling_bot(settings)
    msg = u.text_message("hello")
    update = {"update_id": 8000, **u.update(msg)}
    bot_api.push_updates(update, dict(update))
    await bot_api.wait_for_messages(1)
    await bot_api.until(lambda: bot_api.pending_updates == 0)
    await bot.stop()
    assert len(answers_to(bot_api, msg)) == 1
    assert not await asyncio.to_thread(state_dir.exists)  # nothing written


async def test_an_update_ptb_cannot_parse_does_not_block_polling(
    bot_api, polling_bot, caplog
) -> None:
    """Regression: ptb parsed the batch as a whole, logged it (users' messages) at CRITICAL and
    fetched the same batch again at once, forever; later updates were never answered and the
    bot could not even stop cleanly."""
    caplog.set_level(logging.WARNING)
    bot_api.push_update({"message": "not an object"})
    bot_api.push_update({"message": {"message_id": 1, "chat": 5}})
    later = u.text_message("hello, private content")
    bot_api.push_update(u.update(later))
    bot_api.push_update({"edited_message": ["nope"]})  # last of the batch

    await bot_api.wait_for_messages(1)
    await bot_api.until(lambda: bot_api.pending_updates == 0)
    await polling_bot.stop()
    assert len(answers_to(bot_api, later)) == 1
    assert len(bot_api.calls("getUpdates")) < 20  # no hot loop
    assert not [r for r in caplog.records if r.levelno >= logging.CRITICAL]
    assert "private content" not in caplog.text
    assert "cannot be parsed" in caplog.text


def test_sanitize_updates_keeps_good_ones_and_neutralises_bad_ones() -> None:
    good = {"update_id": 1, **u.update(u.text_message("hi"))}
    result = sanitize_updates(
        [good, {"update_id": 2, "message": "x"}, {"no_id": True}, "junk", {"update_id": True}]
    )
    assert result == [good, {"update_id": 2}]
    assert sanitize_updates({"not": "a list"}) == {"not": "a list"}


# ----- the state directory
async def test_a_corrupt_store_file_is_never_fatal(bot_api, bot_settings, caplog) -> None:
    """Garbage where the SQLite file should be: the bot answers anyway (in-memory claims) and
    says so once in the log."""
    path = Path(bot_settings.state_dir) / DEFAULT_FILE_NAME
    await asyncio.to_thread(path.parent.mkdir, parents=True)
    await asyncio.to_thread(path.write_bytes, b"this is not a database" * 100)
    bot = await start_polling_bot(bot_settings)
    msg = u.text_message("hello")
    update = {"update_id": 9000, **u.update(msg)}
    bot_api.push_updates(update, dict(update))
    await bot_api.wait_for_messages(1)
    await bot_api.until(lambda: bot_api.pending_updates == 0)
    await asyncio.sleep(0.2)
    await bot.stop()
    assert len(answers_to(bot_api, msg)) == 1
    assert caplog.text.count("Going on without it") == 1


def test_an_unwritable_state_dir_degrades_to_memory(tmp_path, caplog) -> None:
    from bot.store import StoreSettings, process_store

    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = process_store(str(blocker / "state"), StoreSettings(_env_file=None))

    async def twice() -> list[str]:
        first = await store.claim_update("1:1", "a", 60)
        await store.finish_update("1:1", "a", 60)
        second = await store.claim_update("1:1", "b", 60)
        return [first.value, second.value]

    assert asyncio.run(twice()) == ["claimed", "done"]
    assert caplog.text.count("Going on without it") == 1


def test_state_dir_setting(monkeypatch, tmp_path) -> None:
    from bot.config import BotSettings
    from bot.store import StoreSettings

    monkeypatch.delenv("BOT_STATE_DIR", raising=False)
    default = BotSettings(_env_file=None).state_dir
    assert default.startswith(tempfile.gettempdir()) and "breed-bot-" in default
    monkeypatch.setenv("BOT_STATE_DIR", str(tmp_path))
    state_dir = BotSettings(_env_file=None).state_dir
    assert state_dir == str(tmp_path)
    location = StoreSettings(_env_file=None).location(state_dir)
    assert location.scheme == "sqlite" and location.path == tmp_path / DEFAULT_FILE_NAME
    assert StoreSettings(_env_file=None).location("").scheme == "memory"
