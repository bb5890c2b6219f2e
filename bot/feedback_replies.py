"""What the bot says about feedback, rate limits, ``/forget`` and ``/stats``: pure functions.

Kept apart from ``bot.replies`` (the answers about photos) so each can be reworded on its own.
Texts for ``answerCallbackQuery`` stay under Telegram's 200 characters.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.store import AnswerRecord

MAX_MESSAGE_LENGTH = 4096
STATS_BREEDS = 30  # rows of the per-breed table


# ----- button presses (answerCallbackQuery texts)
def thanks_right() -> str:
    return "Thanks! Glad I got it right."


def ask_correction() -> str:
    return "Which one is it? Pick below."


def thanks_correction(name: str | None) -> str:
    if name:
        return f"Thanks! Noted: {name}. That helps me learn."
    return "Thanks! That helps me learn."


def already_rated() -> str:
    return "You already rated this answer. Thanks!"


def not_yours() -> str:
    return "Only the person who asked about this photo can rate the answer."


def button_expired() -> str:
    return "Sorry, this button has expired (or it isn't one of mine)."


def feedback_unavailable() -> str:
    return "Sorry, I can't save feedback right now. Please try again later."


# ----- rate limits
def _duration(seconds: float) -> str:
    seconds = max(1, math.ceil(seconds))
    if seconds < 90:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"{minutes} minutes"
    hours = math.ceil(seconds / 3600)
    return f"{hours} hours"


def rate_limited(window: str | None, limit: int, retry_after: float) -> str:
    period = "a day" if window == "day" else "a minute"
    return (
        f"That's a lot of photos! I answer up to {limit} photos {period} per person. "
        f"Please send more in about {_duration(retry_after)}; "
        "until then I'll quietly skip new photos."
    )


# ----- /forget
def forgotten(count: int) -> str:
    if count == 0:
        return "I had no feedback or answers linked to you. Nothing is kept about you now."
    noun = "record" if count == 1 else "records"
    return (
        f"Done: I deleted {count} {noun} of answers and feedback linked to you. "
        "Photos are never stored."
    )


def forget_unavailable() -> str:
    return "Sorry, I can't reach my storage right now, so nothing was deleted. Please try later."


# ----- /about
def kept_data_text(answer_days: float, feedback_days: float) -> str:
    """What /about says is kept (the privacy paragraph)."""
    return (
        "Privacy: photos are only used to answer you; they are not stored. "
        "To make the 👍/👎 buttons work I keep, for each answer: a keyed hash of your user "
        "id (not the id), the chat type, Telegram's id for the photo (it cannot be used to "
        "download it), the model version, my answer with its confidence, and the time; "
        f"for {_days(answer_days)}, or {_days(feedback_days)} once you rate it, with your "
        "correction. /forget deletes all of it. I also count photos per user for the rate "
        "limit (a day at most)."
    )


def _days(days: float) -> str:
    whole = round(days)
    return "1 day" if whole == 1 else f"{whole} days"


# ----- /stats
def stats_forbidden() -> str:
    return "Sorry, /stats is only for the bot's admins."


def stats_unavailable() -> str:
    return "Sorry, I can't reach my storage right now. Please try /stats again later."


@dataclass
class BreedStats:
    name: str
    answers: int = 0
    right: int = 0
    wrong: int = 0

    @property
    def rated(self) -> int:
        return self.right + self.wrong


@dataclass
class Summary:
    answers: int = 0
    right: int = 0
    wrong: int = 0
    breeds: dict[str, BreedStats] = field(default_factory=dict)
    corrections: Counter[tuple[str, str]] = field(default_factory=Counter)
    models: Counter[str] = field(default_factory=Counter)


def summarise(records: Iterable[AnswerRecord]) -> Summary:
    summary = Summary()
    for record in records:
        summary.answers += 1
        summary.models[record.model_version] += 1
        answer = record.answer
        breed = summary.breeds.setdefault(answer.label, BreedStats(answer.name))
        breed.answers += 1
        if record.verdict == "right":
            summary.right += 1
            breed.right += 1
        elif record.verdict == "wrong":
            summary.wrong += 1
            breed.wrong += 1
            if record.correction:
                names = {g.label: g.name for g in record.guesses}
                names |= {"other": "another breed", "mixed": "mixed / domestic"}
                summary.corrections[(answer.name, names.get(record.correction, "?"))] += 1
    return summary


def _agreement(right: int, wrong: int) -> str:
    return f"{100 * right / (right + wrong):.0f}%" if right + wrong else "-"


def stats_text(records: Iterable[AnswerRecord], *, answer_days: float) -> str:
    summary = summarise(records)
    if summary.answers == 0:
        return f"No answers kept (answers without feedback are kept {_days(answer_days)})."
    lines = [
        f"📊 Answers kept: {summary.answers} (unrated ones for {_days(answer_days)})",
        f"Rated: {summary.right + summary.wrong} (👍 {summary.right}, 👎 {summary.wrong}), "
        f"agreement {_agreement(summary.right, summary.wrong)}",
        "Models: " + ", ".join(f"{v} ({n})" for v, n in summary.models.most_common()),
        "",
        "Per breed: answers, 👍/👎, agreement",
    ]
    ordered = sorted(summary.breeds.values(), key=lambda b: (-b.answers, b.name.casefold()))
    for breed in ordered[:STATS_BREEDS]:
        lines.append(
            f"• {breed.name}: {breed.answers}, {breed.right}/{breed.wrong}, "
            f"{_agreement(breed.right, breed.wrong)}"
        )
    if len(ordered) > STATS_BREEDS:
        lines.append(f"… and {len(ordered) - STATS_BREEDS} more breeds")
    if summary.corrections:
        lines += ["", "Most common corrections:"]
        for (said, was), count in summary.corrections.most_common(10):
            lines.append(f"• {said} → {was}: {count}")
    text = "\n".join(lines)
    if len(text) > MAX_MESSAGE_LENGTH:
        text = text[: MAX_MESSAGE_LENGTH - 2].rstrip() + " …"
    return text
