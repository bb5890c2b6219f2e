"""Photos and image files -> breed answers (private chats, and groups when asked)."""

from __future__ import annotations

import asyncio
import logging

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import replies
from bot.files import Attachment, Kind, attachment_of
from bot.filters import is_reply_to_bot, mentions_bot
from bot.handlers.feedback import feedback_keyboard
from bot.handlers.ratelimit import admit_photo
from bot.retry import call_with_retries
from bot.services import Services, reply, services, typing
from classifier import ClassifierError, InvalidImageError, sniff_format

log = logging.getLogger(__name__)
_ANY_INPUT_SIZE = 224  # only for telling what a message holds, before the model is loaded


async def answer_image(source: Message, answer_to: Message, svc: Services) -> None:
    """Classify the image in ``source`` and reply to ``answer_to`` (usually the same message;
    for ``/breed`` as a reply, the command)."""
    private = answer_to.chat.type == "private"
    margin = svc.settings.photo_size_margin
    attachment = attachment_of(source, _ANY_INPUT_SIZE, margin)
    if attachment is None:
        await reply(answer_to, replies.breed_usage(private=private), svc)
        return
    if attachment.kind is Kind.NOT_IMAGE:
        await reply(answer_to, replies.not_an_image(attachment.description), svc)
        return
    if not await admit_photo(answer_to, svc):  # over the per-user photo limit
        return
    try:
        classifier = await svc.classifier()
    except ClassifierError:
        log.exception("The classifier is not available")
        await reply(answer_to, replies.model_unavailable(), svc)
        return
    if attachment.kind is Kind.PHOTO:  # now the size can be chosen for the classifier
        # Its detail side (twice the crop's): a pet a third of a phone photo's height keeps
        # real pixels, so Telegram's largest size (1280 px) for most phone photos.
        attachment = attachment_of(source, classifier.detail_side, margin) or attachment
    limit = svc.settings.max_download_bytes
    if attachment.file_size is not None and attachment.file_size > limit:
        await reply(answer_to, replies.too_large(attachment.file_size, limit), svc)
        return

    async with typing(answer_to):
        data = await _download(attachment, answer_to, svc)
        if data is None:
            return
        if attachment.kind is Kind.MAYBE_IMAGE_DOCUMENT and sniff_format(data) is None:
            await reply(answer_to, replies.not_an_image("a file that is not an image"), svc)
            return
        try:
            prediction = await asyncio.to_thread(classifier.classify, data)
        except InvalidImageError as exc:
            await reply(answer_to, replies.invalid_image(str(exc)), svc)
            return
    log.info(
        "Answered chat %s: pet=%s pets=%d breed=%s confidence=%.3f",
        answer_to.chat_id,
        prediction.is_pet,
        len(prediction.pets),
        prediction.breed,
        prediction.confidence,
    )
    compact = source.media_group_id is not None
    buttons = await feedback_keyboard(prediction, source, answer_to, svc, classifier.card.version)
    await reply(
        answer_to, replies.prediction_text(prediction, compact=compact), svc, reply_markup=buttons
    )


async def _download(attachment: Attachment, answer_to: Message, svc: Services) -> bytes | None:
    """getFile + download, with retries; on failure answer the user and return None."""
    bot = answer_to.get_bot()
    limit = svc.settings.max_download_bytes
    file_id = attachment.file_id
    assert file_id is not None
    try:
        tg_file = await call_with_retries(
            "getFile", lambda: bot.get_file(file_id), svc.retry, idempotent=True
        )
        if tg_file.file_size is not None and tg_file.file_size > limit:
            await reply(answer_to, replies.too_large(tg_file.file_size, limit), svc)
            return None
        data = await call_with_retries(
            "download", tg_file.download_as_bytearray, svc.retry, idempotent=True
        )
    except BadRequest as exc:
        if "too big" in exc.message.lower():
            size = attachment.file_size or limit + 1
            await reply(answer_to, replies.too_large(size, limit), svc)
            return None
        log.warning("Could not download %s: %s", attachment.kind.value, exc.message)
        await reply(answer_to, replies.apology(), svc)
        return None
    except TelegramError as exc:
        log.warning(
            "Could not download %s: %s: %s", attachment.kind.value, type(exc).__name__, exc.message
        )
        await reply(answer_to, replies.apology(), svc)
        return None
    if len(data) > limit:
        await reply(answer_to, replies.too_large(len(data), limit), svc)
        return None
    return bytes(data)


async def on_media(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A message that carries what to look at and asked for an answer: any photo, file,
    sticker or video in a private chat, a photo or file captioned ``/breed``, or, in a group,
    one that mentions the bot or replies to it (the handlers' filters decide which)."""
    message = update.effective_message
    if message is not None:
        await answer_image(message, message, services(context))


async def on_group_mention(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Group: a text mentioning the bot. As a reply to a photo it works like ``/breed``."""
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    replied = message.reply_to_message
    if replied is not None and (replied.photo or replied.document) and not is_reply_to_bot(message):
        await answer_image(replied, message, svc)
        return
    if mentions_bot(message):
        await reply(
            message,
            replies.help_text(private=False, bot_username=message.get_bot().username),
            svc,
        )
