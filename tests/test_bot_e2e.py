"""The real bot, polling the Bot API double over real HTTP, with the real classifier."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests.support import updates as u
from tests.support.bot_api_double import DOWNLOAD, BotApiDouble


def add_photo(bot_api: BotApiDouble, data: bytes, prefix: str) -> list[dict]:
    sizes, files = u.photo_sizes(data, prefix)
    for file_id, content in files.items():
        bot_api.add_file(file_id, content, file_path=f"photos/{file_id}.jpg")
    return sizes


def expected_size(sizes: list[dict]) -> str:
    """The file_id the bot should download among Telegram's sizes of one photo."""
    from classifier import get_classifier

    needed = get_classifier().detail_side
    big_enough = [s for s in sizes if min(s["width"], s["height"]) >= needed]
    best = min(big_enough, key=lambda s: s["width"] * s["height"]) if big_enough else sizes[-1]
    return best["file_id"]


def bot_user(bot_api: BotApiDouble) -> dict:
    return {"id": bot_api.bot_id, "is_bot": True, "first_name": "Bot", "username": bot_api.username}


def replied_to(message: dict) -> int:
    return message["reply_parameters"]["message_id"]


async def test_private_photo_answered_with_breed_from_the_right_size(
    bot_api, polling_bot, photo
) -> None:
    sizes = add_photo(bot_api, photo("dog_beagle"), "beagle")
    msg = u.photo_message(sizes)
    bot_api.push_update(u.update(msg))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()

    assert "Beagle" in answer["text"] and "(dog)" in answer["text"]
    assert "%" in answer["text"]
    assert replied_to(answer) == msg["message_id"]
    assert int(answer["chat_id"]) == u.PRIVATE_CHAT["id"]
    # 500x333 original re-encoded at 90/320/800/1280: the 800 one (533 px short side) is below
    # the classifier's detail side (686 px, so that small pets in big photos keep their
    # detail); the 1280 one is the smallest that has it.
    assert bot_api.downloaded_paths == [f"photos/{expected_size(sizes)}.jpg"]
    assert bot_api.downloaded_paths == ["photos/beagle-1280.jpg"]
    actions = bot_api.calls("sendChatAction")
    assert actions and actions[0].params["action"] == "typing"
    assert actions[0].at < bot_api.calls("sendMessage")[0].at
    assert len(bot_api.sent_messages) == 1


def unsure_pet_photo(photo) -> bytes:
    """A real pet photo (or a blend of two) that the current model is not confident about."""
    import io
    import itertools

    from PIL import Image

    from classifier import get_classifier

    names = [
        "cat_british_shorthair",
        "cat_siamese",
        "cat_persian",
        "dog_american_pit_bull_terrier",
        "dog_beagle",
        "dog_pug",
        "dog_dalmatian",  # no dalmatian label: never a sure answer
    ]
    candidates = [photo(name) for name in names]
    for a, b in itertools.combinations(names, 2):
        first, second = (Image.open(io.BytesIO(photo(n))).convert("RGB") for n in (a, b))
        buffer = io.BytesIO()
        Image.blend(first, second.resize(first.size), 0.5).save(buffer, format="JPEG")
        candidates.append(buffer.getvalue())
    for data in candidates:
        # Unsure at the size the bot downloads among those Telegram would offer.
        sizes, files = u.photo_sizes(data, "probe")
        prediction = get_classifier().classify(files[expected_size(sizes)])
        if prediction.is_pet and prediction.pedigree and not prediction.confident:
            return data
    pytest.fail("no unsure pet photo among the fixtures and their blends")


async def test_unsure_answer_lists_top_three(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, unsure_pet_photo(photo), "unsure")
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    text = answer["text"]
    assert "not sure" in text
    assert [line[:2] for line in text.splitlines()[1:]] == ["1.", "2.", "3."]


async def test_two_pets_are_answered_left_to_right(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("scene_cat_and_dog"), "two")
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    lines = answer["text"].splitlines()
    assert lines[0] == "I see 2 pets:"
    # The Siamese is unsure between Siamese and Birman, as its close-up is.
    assert lines[1].startswith("1. 🐱") and "(left)" in lines[1] and "Siamese" in lines[1]
    assert lines[2].startswith("2. 🐶") and "Beagle (right)" in lines[2]


async def test_an_ordinary_cat_is_a_domestic_cat(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("cat_domestic_tabby"), "tabby")
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    text = answer["text"]
    assert "domestic cat, no particular breed" in text
    assert "Closest look-alikes:" in text and "sure." not in text


async def test_non_pet_photo_names_no_breed(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("nonpet_object"), "train")
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "don't see a cat or a dog" in answer["text"]
    assert "%" not in answer["text"]


async def test_image_document_answered(bot_api, polling_bot, photo) -> None:
    data = photo("dog_pug")
    bot_api.add_file("doc-pug", data, file_path="documents/pug.jpg")
    bot_api.push_update(u.update(u.document_message("doc-pug", file_size=len(data))))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "Pug" in answer["text"]
    assert bot_api.downloaded_paths == ["documents/pug.jpg"]


async def test_document_without_mime_type_is_sniffed(bot_api, polling_bot, photo) -> None:
    data = photo("dog_pug")
    bot_api.add_file("doc-blob", data, file_path="documents/blob")
    bot_api.add_file("doc-text", b"hello, not an image", file_path="documents/notes")
    msg_image = u.document_message(
        "doc-blob", file_size=len(data), mime_type="application/octet-stream", file_name="blob"
    )
    msg_text = u.document_message("doc-text", file_size=19, mime_type=None, file_name="notes")
    bot_api.push_update(u.update(msg_image))
    bot_api.push_update(u.update(msg_text))

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    answers = {replied_to(m): m["text"] for m in bot_api.sent_messages}
    assert "Pug" in answers[msg_image["message_id"]]
    assert "not an image" in answers[msg_text["message_id"]]


async def test_oversize_document_refused_without_download(bot_api, polling_bot) -> None:
    bot_api.add_file("doc-huge", b"\xff\xd8" + b"0" * 100, file_size=25 * 1024 * 1024)
    bot_api.push_update(u.update(u.document_message("doc-huge", file_size=25 * 1024 * 1024)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "too large" in answer["text"] and "20 MB" in answer["text"]
    assert bot_api.calls("getFile") == []
    assert bot_api.calls(DOWNLOAD) == []


async def test_oversize_reported_only_by_get_file_is_not_downloaded(bot_api, polling_bot) -> None:
    # The update has no file_size; getFile reports 20 MB + 1 byte.
    bot_api.add_file("doc-big", b"\xff\xd8" + b"0" * 100, file_size=20 * 1024 * 1024 + 1)
    bot_api.push_update(u.update(u.document_message("doc-big", file_size=None)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "too large" in answer["text"]
    assert bot_api.calls(DOWNLOAD) == []


async def test_album_each_photo_answered_once_and_compactly(bot_api, polling_bot, photo) -> None:
    names = ["dog_beagle", "dog_pug", "nonpet_food"]
    messages = [
        u.photo_message(add_photo(bot_api, photo(name), name), media_group_id="album-1")
        for name in names
    ]
    for msg in messages:
        bot_api.push_update(u.update(msg))

    await bot_api.wait_for_messages(3)
    await polling_bot.stop()
    sent = bot_api.sent_messages
    assert len(sent) == 3
    answers = {replied_to(m): m["text"] for m in sent}
    assert set(answers) == {m["message_id"] for m in messages}
    assert "Beagle" in answers[messages[0]["message_id"]]
    assert "Pug" in answers[messages[1]["message_id"]]
    assert "don't see a cat or a dog" in answers[messages[2]["message_id"]]
    assert all("\n" not in text for text in answers.values())  # one line each: no flood
    # For each photo, the smallest size whose short side is >= model input x 1.15 (else the
    # largest): never simply the largest one.
    assert sorted(bot_api.downloaded_paths) == sorted(
        f"photos/{expected_size(msg['photo'])}.jpg" for msg in messages
    )


async def test_group_breed_reply_to_photo(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("dog_beagle"), "g-beagle")
    photo_msg = u.photo_message(sizes, chat=u.GROUP_CHAT, user=u.OTHER_USER)
    command = u.text_message("/breed", chat=u.GROUP_CHAT, reply_to_message=photo_msg)
    bot_api.push_update(u.update(command))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "Beagle" in answer["text"]
    assert replied_to(answer) == command["message_id"]
    assert int(answer["chat_id"]) == u.GROUP_CHAT["id"]


async def test_group_breed_at_this_bot_reply_to_image_document(bot_api, polling_bot, photo) -> None:
    data = photo("dog_pug")
    bot_api.add_file("g-doc", data, file_path="documents/g.jpg")
    doc = u.document_message("g-doc", file_size=len(data), chat=u.GROUP_CHAT, user=u.OTHER_USER)
    command = u.text_message(f"/breed@{bot_api.username}", chat=u.GROUP_CHAT, reply_to_message=doc)
    bot_api.push_update(u.update(command))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "Pug" in answer["text"]


async def test_group_commands_for_other_bots_and_plain_photos_are_ignored(
    bot_api, polling_bot, photo
) -> None:
    sizes = add_photo(bot_api, photo("dog_beagle"), "g-ignored")
    photo_msg = u.photo_message(sizes, chat=u.GROUP_CHAT, user=u.OTHER_USER)
    bot_api.push_update(u.update(photo_msg))  # plain group photo
    bot_api.push_update(
        u.update(u.text_message("/breed@otherbot", chat=u.GROUP_CHAT, reply_to_message=photo_msg))
    )
    bot_api.push_update(
        u.update(u.photo_message(sizes, caption="/breed@otherbot", chat=u.GROUP_CHAT))
    )
    bot_api.push_update(u.update(u.text_message("nice dog!", chat=u.GROUP_CHAT)))
    # Then something the bot does answer, to know the others were processed.
    last = u.text_message("/help", chat=u.GROUP_CHAT)
    bot_api.push_update(u.update(last))

    await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert [replied_to(m) for m in bot_api.sent_messages] == [last["message_id"]]
    assert bot_api.calls("getFile") == [] and bot_api.calls(DOWNLOAD) == []
    assert bot_api.pending_updates == 0


async def test_caption_command_in_group(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("dog_beagle"), "caption")
    for caption in ("/breed", f"/breed@{bot_api.username}"):
        msg = u.photo_message(sizes, caption=caption, chat=u.GROUP_CHAT)
        bot_api.push_update(u.update(msg))

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    assert len(bot_api.sent_messages) == 2
    assert all("Beagle" in text for text in bot_api.sent_texts)


async def test_group_photo_mentioning_or_replying_to_the_bot(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("dog_pug"), "mention")
    caption = f"what is it @{bot_api.username}?"
    mention = u.photo_message(
        sizes,
        caption=caption,
        caption_entities=u.mention_entities(caption, bot_api.username),
        chat=u.GROUP_CHAT,
    )
    earlier = u.bot_message(bot_user(bot_api), "Send a photo", chat=u.GROUP_CHAT)
    reply = u.photo_message(sizes, chat=u.GROUP_CHAT, reply_to_message=earlier)
    bot_api.push_update(u.update(mention))
    bot_api.push_update(u.update(reply))

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    assert sorted(replied_to(m) for m in bot_api.sent_messages) == sorted(
        [mention["message_id"], reply["message_id"]]
    )
    assert all("Pug" in text for text in bot_api.sent_texts)


async def test_breed_with_nothing_to_look_at_explains_usage(bot_api, polling_bot) -> None:
    bot_api.push_update(u.update(u.text_message("/breed", chat=u.GROUP_CHAT)))
    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "reply with it to a photo" in answer["text"]


async def test_text_and_commands_in_private(bot_api, polling_bot) -> None:
    texts = ["hello", "/start", "/help", "/breeds", "/about", "/unknown"]
    messages = [u.text_message(text) for text in texts]
    for msg in messages:
        bot_api.push_update(u.update(msg))

    await bot_api.wait_for_messages(len(texts))
    await polling_bot.stop()
    answers = {replied_to(m): m["text"] for m in bot_api.sent_messages}
    by_text = {text: answers[msg["message_id"]] for text, msg in zip(texts, messages, strict=True)}
    assert "Send me a photo" in by_text["hello"]
    assert by_text["/start"].startswith("Hi Alice!")
    assert "/breeds" in by_text["/help"]
    breeds_reply = by_text["/breeds"]
    assert "133 breeds" in breeds_reply and "Siamese" in breeds_reply
    assert "German Shepherd" in breeds_reply and len(breeds_reply) <= 4096
    assert "right breed" in by_text["/about"] and "not stored" in by_text["/about"]
    assert "Send me a photo" in by_text["/unknown"]
    assert len(bot_api.sent_messages) == len(texts)


async def test_commands_registered_for_private_and_groups(bot_api, polling_bot) -> None:
    await polling_bot.stop()
    assert set(bot_api.commands) == {"all_private_chats", "all_group_chats"}
    assert "breed" in {c["command"] for c in bot_api.commands["all_group_chats"]}
    assert "start" in {c["command"] for c in bot_api.commands["all_private_chats"]}


@pytest.mark.parametrize(
    ("builder", "expected"),
    [
        (u.sticker_message, "a sticker"),
        (u.video_message, "a video"),
        (u.voice_message, "a voice message"),
        (
            lambda: u.document_message(
                "pdf-1", file_size=1000, mime_type="application/pdf", file_name="a.pdf"
            ),
            "a PDF document",
        ),
    ],
)
async def test_non_image_media_get_a_short_explanation(
    bot_api, polling_bot, builder, expected
) -> None:
    bot_api.push_update(u.update(builder()))
    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert expected in answer["text"] and "photo" in answer["text"]
    assert bot_api.calls("getFile") == []


async def test_corrupt_image_gets_a_friendly_answer(bot_api, polling_bot, photo) -> None:
    broken = photo("dog_beagle")[:2000]  # truncated JPEG
    bot_api.add_file("broken-1", broken)
    sizes = [{"file_id": "broken-1", "file_unique_id": "u-b", "width": 800, "height": 533}]
    bot_api.push_update(u.update(u.photo_message(sizes)))
    garbage = u.document_message("garbage", file_size=5, mime_type="image/png")
    bot_api.add_file("garbage", b"\x00\x01garbage")
    bot_api.push_update(u.update(garbage))

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    assert len(bot_api.sent_messages) == 2
    assert all(text.startswith("Sorry, I couldn't read that image.") for text in bot_api.sent_texts)


async def test_huge_dimension_image_refused_politely(bot_api, polling_bot) -> None:
    bomb = u.huge_dimension_jpeg()
    bot_api.add_file("bomb", bomb)
    bot_api.push_update(u.update(u.document_message("bomb", file_size=len(bomb))))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "too large" in answer["text"] and "10000x8000" in answer["text"]


async def test_429_on_send_message_waits_and_sends_once(bot_api, polling_bot) -> None:
    bot_api.fail_next("sendMessage", 429, retry_after=1)
    bot_api.push_update(u.update(u.text_message("hello")))

    await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    attempts = bot_api.calls("sendMessage")
    assert [a.status for a in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 0.95  # waited retry_after
    assert len(bot_api.sent_messages) == 1


async def test_5xx_on_get_file_is_retried_with_backoff(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("dog_pug"), "retry")
    bot_api.fail_next("getFile", 500, times=2)
    bot_api.fail_next(DOWNLOAD, 502)
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "Pug" in answer["text"]
    assert [c.status for c in bot_api.calls("getFile")] == [500, 500, 200]
    assert [c.status for c in bot_api.calls(DOWNLOAD)] == [502, 200]
    assert len(bot_api.sent_messages) == 1


async def test_persistent_5xx_ends_with_an_apology(bot_api, polling_bot, photo) -> None:
    sizes = add_photo(bot_api, photo("dog_pug"), "down")
    bot_api.fail_next("getFile", 503, times=10)
    bot_api.push_update(u.update(u.photo_message(sizes)))

    [answer] = await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert "something went wrong" in answer["text"]
    assert len(bot_api.calls("getFile")) == 4  # first try + 3 retries
    assert bot_api.calls(DOWNLOAD) == []


async def test_slow_send_message_is_not_sent_twice(bot_api, polling_bot) -> None:
    # Telegram performs the sendMessage but answers after the client's read timeout (2 s).
    bot_api.delay_next("sendMessage", 2.5)
    bot_api.push_update(u.update(u.text_message("hello")))

    await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert len(bot_api.calls("sendMessage")) == 1
    assert len(bot_api.sent_messages) == 1


async def test_slow_download_does_not_block_other_chats(bot_api, polling_bot, photo) -> None:
    slow_sizes = add_photo(bot_api, photo("dog_beagle"), "slow")
    bot_api.delay_next(DOWNLOAD, 1.5)
    slow = u.photo_message(slow_sizes)
    other_chat = {"id": 7003, "type": "private", "first_name": "Carol"}
    fast = u.text_message("hi", chat=other_chat, user={**u.OTHER_USER, "id": 7003})
    bot_api.push_update(u.update(slow))
    await bot_api.until(lambda: bool(bot_api.calls(DOWNLOAD)))
    bot_api.push_update(u.update(fast))

    await bot_api.wait_for_messages(2)
    await polling_bot.stop()
    first, second = bot_api.sent_messages
    assert replied_to(first) == fast["message_id"]
    assert replied_to(second) == slow["message_id"]


async def test_edited_messages_are_not_answered_again(bot_api, polling_bot) -> None:
    bot_api.push_update({"edited_message": {**u.text_message("hello"), "edit_date": 1}})
    last = u.text_message("/help")
    bot_api.push_update(u.update(last))
    await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    assert [replied_to(m) for m in bot_api.sent_messages] == [last["message_id"]]


async def test_token_never_logged(bot_api, polling_bot, photo, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    sizes = add_photo(bot_api, photo("dog_pug"), "logs")
    bot_api.fail_next("getFile", 500)
    bot_api.push_update(u.update(u.photo_message(sizes)))
    await bot_api.wait_for_messages(1)
    await polling_bot.stop()
    logging.getLogger("test").info("url was %s", f"{bot_api.base_url}/bot{bot_api.token}/getMe")
    assert caplog.records
    assert bot_api.token not in caplog.text
    assert bot_api.token.split(":")[1] not in caplog.text
    assert all(bot_api.token not in text for text in bot_api.sent_texts)


async def test_polling_refuses_to_delete_a_webhook(bot_api, bot_settings) -> None:
    from bot.application import build_application
    from bot.polling import WebhookIsSetError, run_polling

    bot_api.webhook_url = "https://example.com/telegram/webhook"
    with pytest.raises(WebhookIsSetError, match="--force"):
        await run_polling(build_application(bot_settings), asyncio.Event())
    assert bot_api.calls("deleteWebhook") == []
    assert bot_api.calls("getUpdates") == []
    assert bot_api.webhook_url


async def test_polling_with_force_deletes_the_webhook(bot_api, bot_settings) -> None:
    from bot.application import build_application
    from bot.polling import run_polling

    bot_api.webhook_url = "https://example.com/telegram/webhook"
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        run_polling(build_application(bot_settings), stop, force=True, ready=ready)
    )
    await asyncio.wait_for(ready.wait(), 10)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert bot_api.calls("deleteWebhook")
    assert bot_api.webhook_url == ""
