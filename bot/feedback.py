"""Feedback buttons under the bot's answers: the callback data, the keyboards, the records.

Pure functions, no Telegram calls (the handlers are in ``bot.handlers.feedback``). The flow:

1. Under each breed answer: "👍 Right" / "👎 Wrong".
2. "Wrong" swaps them for the other top guesses, "Other breed" and "Mixed / domestic".
3. Any final choice is thanked and the buttons go away.

Callback data is ``fb1:<answer id>:<asker tag>:<choice>``, at most 29 bytes (Telegram allows
64): the answer id (random, 11 characters) finds the record, the asker tag
(``bot.privacy.UserHasher.button_tag``) tells at once whether the person pressing is the one
who asked, and the choice is ``y`` (right), ``n`` (wrong), ``g1``-``g9`` (the n-th guess of the
answer), ``o`` (other breed) or ``m`` (mixed / domestic). Anything else is "malformed" and gets
a polite answer, never a write.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.store import AnswerRecord, Guess
from classifier import Prediction

PREFIX = "fb1"
MAX_CALLBACK_DATA = 64  # bytes, Telegram's limit
RIGHT, WRONG, OTHER, MIXED = "y", "n", "o", "m"
CORRECTION_OTHER, CORRECTION_MIXED = "other", "mixed"
_DATA = re.compile(
    rf"{PREFIX}:(?P<answer>[A-Za-z0-9_-]{{11}}):(?P<tag>[0-9a-f]{{8}}):"
    r"(?P<choice>[ynom]|g[1-9])"
)


@dataclass(frozen=True)
class Choice:
    """A parsed button press."""

    answer_id: str
    tag: str
    code: str  # y, n, g1..g9, o, m

    @property
    def guess_index(self) -> int | None:
        return int(self.code[1:]) if self.code.startswith("g") else None

    @property
    def is_verdict(self) -> bool:
        return self.code in (RIGHT, WRONG)


def new_answer_id() -> str:
    return secrets.token_urlsafe(8)  # 11 characters, 64 random bits


def callback_data(answer_id: str, tag: str, code: str) -> str:
    data = f"{PREFIX}:{answer_id}:{tag}:{code}"
    if len(data.encode()) > MAX_CALLBACK_DATA or parse(data) is None:
        raise ValueError(f"not valid callback data: {data!r}")
    return data


def parse(data: str | None) -> Choice | None:
    """The press, or None when the data is not ours, malformed or forged out of shape."""
    if not data or len(data) > MAX_CALLBACK_DATA:
        return None
    match = _DATA.fullmatch(data)
    if match is None:
        return None
    return Choice(match["answer"], match["tag"], match["choice"])


def verdict_keyboard(answer_id: str, tag: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    "👍 Right", callback_data=callback_data(answer_id, tag, RIGHT)
                ),
                InlineKeyboardButton(
                    "👎 Wrong", callback_data=callback_data(answer_id, tag, WRONG)
                ),
            ]
        ]
    )


def correction_keyboard(record: AnswerRecord, tag: str) -> InlineKeyboardMarkup:
    """The other top guesses, one per row, then "Other breed" and "Mixed / domestic"."""
    rows = [
        [
            InlineKeyboardButton(
                guess.name, callback_data=callback_data(record.answer_id, tag, f"g{index}")
            )
        ]
        for index, guess in enumerate(record.guesses[1:10], start=1)
    ]
    rows.append(
        [
            InlineKeyboardButton(
                "Other breed", callback_data=callback_data(record.answer_id, tag, OTHER)
            ),
            InlineKeyboardButton(
                "Mixed / domestic", callback_data=callback_data(record.answer_id, tag, MIXED)
            ),
        ]
    )
    return InlineKeyboardMarkup(rows)


def correction_of(record: AnswerRecord, choice: Choice) -> str | None:
    """The correction a press stands for (a breed label, "other", "mixed"), or None when it
    does not fit this answer (a guess it does not have)."""
    if choice.code == OTHER:
        return CORRECTION_OTHER
    if choice.code == MIXED:
        return CORRECTION_MIXED
    index = choice.guess_index
    if index is not None and 1 <= index < len(record.guesses):
        return record.guesses[index].label
    return None


def correction_name(record: AnswerRecord, correction: str | None) -> str | None:
    """What the user chose, in words."""
    if correction == CORRECTION_OTHER:
        return "another breed"
    if correction == CORRECTION_MIXED:
        return "mixed / domestic"
    for guess in record.guesses:
        if guess.label == correction:
            return guess.name
    return correction


def photo_id(message: Message) -> str | None:
    """Telegram's ``file_unique_id`` of the photo (its largest size) or image file: the same
    picture sent again has the same one. It cannot be used to download anything."""
    if message.photo:
        return message.photo[-1].file_unique_id
    if message.document is not None:
        return message.document.file_unique_id
    return None


def answer_record(
    prediction: Prediction,
    *,
    answer_id: str,
    user_hash: str,
    chat_type: str,
    file_unique_id: str | None,
    model_version: str,
    now: float,
    expires_at: float,
) -> AnswerRecord | None:
    """The record to keep for a breed answer (None for "no cat or dog": nothing to rate)."""
    if not prediction.is_pet or not prediction.top:
        return None
    guesses = tuple(Guess(g.breed, g.display_name, float(g.confidence)) for g in prediction.top)
    return AnswerRecord(
        answer_id=answer_id,
        user_hash=user_hash,
        chat_type=chat_type,
        file_unique_id=file_unique_id,
        model_version=model_version,
        guesses=guesses,
        created_at=now,
        expires_at=expires_at,
    )
