"""/start, /help, /breeds, /about and /breed."""

from __future__ import annotations

import asyncio
import logging

from telegram import Update
from telegram.ext import ContextTypes

from bot import feedback_replies, replies
from bot.handlers.photos import answer_image
from bot.services import Services, reply, services
from classifier import Breed, ClassifierError, ClassifierSettings
from classifier.labels import load_labels

log = logging.getLogger(__name__)


def _is_private(update: Update) -> bool:
    return update.effective_chat is not None and update.effective_chat.type == "private"


async def on_start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    if _is_private(update):
        user = update.effective_user
        text = replies.start_text(user.first_name if user else None)
    else:
        text = replies.help_text(private=False, bot_username=context.bot.username)
    await reply(message, text, services(context))


async def on_help(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None:
        text = replies.help_text(private=_is_private(update), bot_username=context.bot.username)
        await reply(message, text, services(context))


async def _known_breeds(svc: Services) -> tuple[Breed, ...]:
    try:
        classifier = await svc.classifier()
        return classifier.breeds
    except ClassifierError:
        # The label file is enough to list breeds while the model is unavailable.
        log.warning("Classifier unavailable; listing breeds from the label file")
        return await asyncio.to_thread(load_labels, ClassifierSettings.from_env().labels_path)


async def on_breeds(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    try:
        breeds = await _known_breeds(svc)
    except ClassifierError:
        log.exception("No breed list available")
        await reply(message, replies.model_unavailable(), svc)
        return
    await reply(message, replies.breeds_text(breeds), svc)


async def on_about(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    privacy = feedback_replies.kept_data_text(
        svc.settings.answer_retention_days, svc.settings.feedback_retention_days
    )
    try:
        classifier = await svc.classifier()
    except ClassifierError:
        log.exception("The classifier is not available")
        text = replies.about_text(
            name=None,
            version=None,
            backbone=None,
            metrics=None,
            breed_count=None,
            privacy=privacy,
        )
    else:
        card = classifier.card
        text = replies.about_text(
            name=card.name,
            version=card.version,
            backbone=card.backbone,
            metrics=card.metrics,
            breed_count=sum(b.pedigree for b in classifier.breeds),
            privacy=privacy,
        )
    await reply(message, text, svc)


async def on_breed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/breed`` as a reply to a photo or image file -> its answer; alone -> how to use it."""
    message = update.effective_message
    if message is None:
        return
    svc = services(context)
    replied = message.reply_to_message
    if replied is not None and (replied.photo or replied.document or replied.sticker):
        await answer_image(replied, message, svc)
        return
    await reply(message, replies.breed_usage(private=_is_private(update)), svc)
