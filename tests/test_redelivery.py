"""Telegram delivering an update again (same ``update_id``) never gets a second answer.

Polling: a batch carrying the same update twice, a redelivery after a restart of the bot (the
answered ids are kept in a small file under ``BOT_STATE_DIR``), and an update ptb cannot parse
(it used to block polling for good). The webhook's own memory is covered in
tests/test_webhook_telegram.py and, under concurrency, by ``make loadtest``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from pathlib import Path

import pytest

from bot.dedup import PersistentUpdateIds, RecentUpdateIds, state_file
from bot.safe_updates import sanitize_updates
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


async def test_a_redelivery_after_a_restart_is_not_answered_again(
    bot_api, bot_settings, photo
) -> None:
    msg = u.photo_message(add_photo(bot_api, photo("dog_beagle"), "restart"))
    update = {"update_id": 7000, **u.update(msg)}

    first = await start_polling_bot(bot_settings)
    bot_api.push_update(update)
    await bot_api.wait_for_messages(1)
    await first.stop()
    saved = state_file(bot_settings.state_dir, bot_settings.token.get_secret_value())
    assert saved is not None and 7000 in json.loads(saved.read_text())["update_ids"]
    assert bot_settings.token.get_secret_value() not in saved.read_text()

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


# ----- the store
def test_processed_ids_survive_a_restart_and_stay_bounded(tmp_path) -> None:
    path = state_file(tmp_path / "state", "123456:secret-part")
    assert path is not None and path.name == "updates-123456.json"
    store = PersistentUpdateIds(path, max_size=20)
    for update_id in range(30):
        assert store.begin(update_id)
        store.finish(update_id)
    assert not store.begin(29)

    reloaded = PersistentUpdateIds(path, max_size=20)
    assert reloaded.processed() == list(range(10, 30))
    assert not reloaded.begin(15) and reloaded.begin(5)
    assert "secret-part" not in path.read_text()
    assert oct(path.parent.stat().st_mode & 0o777) == "0o700"


@pytest.mark.parametrize(
    "content",
    [b"", b"{not json", b"[]", b'{"update_ids": "x"}', b'{"update_ids": [1, "2", true, 3]}'],
)
def test_a_corrupt_state_file_is_never_fatal(tmp_path, content, caplog) -> None:
    path = tmp_path / "updates-1.json"
    path.write_bytes(content)
    store = PersistentUpdateIds(path)
    assert set(store.processed()) <= {1, 3}
    assert store.begin(99)
    store.finish(99)
    assert 99 in json.loads(path.read_text())["update_ids"]


def test_an_unwritable_state_dir_degrades_to_memory(tmp_path, caplog) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    store = PersistentUpdateIds(blocker / "updates-1.json")
    assert store.begin(1)
    store.finish(1)
    store.finish(2)
    assert not store.begin(1)
    assert caplog.text.count("Cannot write the update state file") == 1


def test_state_dir_setting(monkeypatch, tmp_path) -> None:
    from bot.config import BotSettings

    monkeypatch.delenv("BOT_STATE_DIR", raising=False)
    default = BotSettings(_env_file=None).state_dir
    assert default.startswith(tempfile.gettempdir()) and "breed-bot-" in default
    monkeypatch.setenv("BOT_STATE_DIR", str(tmp_path))
    assert BotSettings(_env_file=None).state_dir == str(tmp_path)
    assert state_file("", "1:x") is None


def test_the_webhook_uses_the_same_bounded_memory() -> None:
    from webhook.main import create_app

    assert isinstance(create_app().state.recent_updates, RecentUpdateIds)
