"""Feedback on answers (the 👍/👎 buttons), ``/forget`` and ``/stats``.

A button press is always answered (``answerCallbackQuery``: the client's spinner stops) and
written at most once: the store's conditional write decides, so a double tap, a second client
or a re-delivered callback cannot record twice. Presses that are malformed, forged, stale, or
from someone other than the asker get a polite answer and no write. When the store is down the
user is told to try later; nothing breaks.
"""

from __future__ import annotations

import hmac
import logging
import time

from telegram import CallbackQuery, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import ContextTypes

from bot import feedback
from bot import feedback_replies as texts
from bot.retry import call_with_retries
from bot.services import Services, reply, services
from bot.store import AnswerRecord, Rating, StoreUnavailable
from classifier import Prediction

log = logging.getLogger(__name__)
DAY = 24 * 3600.0


async def feedback_keyboard(
    prediction: Prediction, source: Message, answer_to: Message, svc: Services, model_version: str
) -> InlineKeyboardMarkup | None:
    """Keep the answer and return its 👍/👎 buttons; None when there is nothing to rate or the
    store cannot keep it (the answer is then sent without buttons)."""
    user = answer_to.from_user
    if user is None:
        return None
    now = time.time()
    record = feedback.answer_record(
        prediction,
        answer_id=feedback.new_answer_id(),
        user_hash=svc.hasher.user_hash(user.id),
        chat_type=answer_to.chat.type,
        file_unique_id=feedback.photo_id(source),
        model_version=model_version,
        now=now,
        expires_at=now + svc.settings.answer_retention_days * DAY,
    )
    if record is None or not await svc.store.save_answer(record):
        return None
    return feedback.verdict_keyboard(record.answer_id, svc.hasher.button_tag(user.id))


async def _answer_query(query: CallbackQuery, text: str, svc: Services) -> None:
    try:
        await call_with_retries(
            "answerCallbackQuery", lambda: query.answer(text), svc.retry, idempotent=True
        )
    except TelegramError as exc:  # e.g. "query is too old": the user has moved on
        log.info("answerCallbackQuery failed: %s: %s", type(exc).__name__, exc.message)


async def _set_buttons(
    query: CallbackQuery, markup: InlineKeyboardMarkup | None, svc: Services
) -> None:
    """Replace (or with None remove) the buttons under the answer."""
    if query.inline_message_id is None and (
        query.message is None or not query.message.is_accessible
    ):
        return  # no message, or one too old to edit (Telegram sends it with date 0)
    try:
        await call_with_retries(
            "editMessageReplyMarkup",
            lambda: query.edit_message_reply_markup(reply_markup=markup),
            svc.retry,
            idempotent=True,
        )
    except BadRequest as exc:  # "message is not modified", or too old / deleted
        log.info("editMessageReplyMarkup refused: %s", exc.message)
    except TelegramError as exc:
        log.warning("editMessageReplyMarkup failed: %s: %s", type(exc).__name__, exc.message)


async def on_feedback_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    if query is None:
        return
    svc = services(context)
    choice = feedback.parse(query.data)
    if choice is None:
        log.info("Callback with data that is not a feedback button: ignored politely")
        await _answer_query(query, texts.button_expired(), svc)
        return
    user_id = query.from_user.id
    if not hmac.compare_digest(choice.tag, svc.hasher.button_tag(user_id)):
        await _answer_query(query, texts.not_yours(), svc)
        return
    user_hash = svc.hasher.user_hash(user_id)
    try:
        record = await svc.store.get_answer(user_hash, choice.answer_id)
        if record is None:
            await _answer_query(query, texts.button_expired(), svc)
            await _set_buttons(query, None, svc)
            return
        await _apply(query, record, choice, user_hash, svc)
    except StoreUnavailable:
        await _answer_query(query, texts.feedback_unavailable(), svc)


async def _apply(
    query: CallbackQuery,
    record: AnswerRecord,
    choice: feedback.Choice,
    user_hash: str,
    svc: Services,
) -> None:
    now = time.time()
    keep_until = now + svc.settings.feedback_retention_days * DAY
    tag = choice.tag
    if choice.is_verdict:
        if record.verdict == "wrong" and record.correction is None and choice.code == "n":
            # "Wrong" pressed again (a second client, a retry): show the choices again.
            await _answer_query(query, texts.ask_correction(), svc)
            await _set_buttons(query, feedback.correction_keyboard(record, tag), svc)
            return
        verdict = "right" if choice.code == feedback.RIGHT else "wrong"
        rating = Rating(verdict, None, now, keep_until, expect_verdict=None)
        if record.verdict is not None or not await svc.store.rate_answer(
            user_hash, record.answer_id, rating
        ):
            await _answer_query(query, texts.already_rated(), svc)
            await _set_buttons(query, None, svc)
            return
        log.info("Feedback: %s for model %s", verdict, record.model_version)
        if verdict == "right":
            await _answer_query(query, texts.thanks_right(), svc)
            await _set_buttons(query, None, svc)
        else:
            await _answer_query(query, texts.ask_correction(), svc)
            await _set_buttons(query, feedback.correction_keyboard(record, tag), svc)
        return

    correction = feedback.correction_of(record, choice)
    if correction is None or record.verdict is None:
        # A guess this answer does not have, or a correction without "Wrong": not a button
        # the bot made for this answer.
        await _answer_query(query, texts.button_expired(), svc)
        return
    rating = Rating("wrong", correction, now, keep_until, expect_verdict="wrong")
    if record.correction is not None or not await svc.store.rate_answer(
        user_hash, record.answer_id, rating
    ):
        await _answer_query(query, texts.already_rated(), svc)
        await _set_buttons(query, None, svc)
        return
    log.info("Feedback: corrected, model %s", record.model_version)
    await _answer_query(
        query, texts.thanks_correction(feedback.correction_name(record, correction)), svc
    )
    await _set_buttons(query, None, svc)


async def on_forget(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/forget``: delete every answer and rating linked to this user."""
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    svc = services(context)
    try:
        count = await svc.store.forget_user(svc.hasher.user_hash(user.id))
    except StoreUnavailable:
        await reply(message, texts.forget_unavailable(), svc)
        return
    log.info("/forget: %d records deleted", count)
    await reply(message, texts.forgotten(count), svc)


async def on_stats(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``/stats`` (``BOT_ADMIN_IDS`` only): answers, feedback and agreement per breed."""
    message, user = update.effective_message, update.effective_user
    if message is None:
        return
    svc = services(context)
    if user is None or not svc.is_admin(user.id):
        await reply(message, texts.stats_forbidden(), svc)
        return
    try:
        records = await svc.store.answers()
    except StoreUnavailable:
        await reply(message, texts.stats_unavailable(), svc)
        return
    text = texts.stats_text(records, answer_days=svc.settings.answer_retention_days)
    await reply(message, text, svc)
