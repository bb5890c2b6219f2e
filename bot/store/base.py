"""The store's interface and records: what the bot keeps between updates and processes.

Three things, each with the smallest operation that makes it safe when several processes (or
Lambda containers) use one store at the same time:

- **Update claims** (once-only replies): ``claim_update`` is one conditional write that
  succeeds for exactly one caller; a claim is finished (kept for Telegram's 24 h retention) or
  released, and a claim left by a crashed caller expires after its lease.
- **Rate windows**: a tiny record per user, changed by compare-and-set on a version number
  (``read_rate`` / ``write_rate``); the policy itself is a pure function (``bot.ratelimit``).
- **Answers and feedback**: one record per answered photo, keyed by the hashed user id, rated
  at most once by a conditional write; deleted per user (``/forget``), listed for ``/stats`` and
  the CSV export. No photo bytes, no user id, no name.

Back-ends are synchronous (sqlite3 and boto3 are); ``bot.store.service.Store`` runs them in
worker threads with a timeout and falls back when they fail.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

# Telegram keeps an undelivered update for 24 hours: a finished claim must outlive that.
UPDATE_RETENTION_SECONDS = 24 * 3600


class StoreError(RuntimeError):
    """The store could not do what was asked (unreachable, timed out, refused)."""


class ClaimOutcome(enum.Enum):
    CLAIMED = "claimed"  # this caller handles the update
    DONE = "done"  # already handled: acknowledge, do not answer again
    BUSY = "busy"  # another caller is handling it right now


@dataclass(frozen=True, slots=True)
class RateState:
    """A user's two windows, each starting at the first photo after the previous one ended."""

    minute_start: float = 0.0
    minute_count: int = 0
    day_start: float = 0.0
    day_count: int = 0
    notified_until: float = 0.0  # the "please wait" message was sent for the block ending then

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RateState:
        return cls(
            minute_start=float(data.get("minute_start", 0)),
            minute_count=int(data.get("minute_count", 0)),
            day_start=float(data.get("day_start", 0)),
            day_count=int(data.get("day_count", 0)),
            notified_until=float(data.get("notified_until", 0)),
        )


@dataclass(frozen=True, slots=True)
class Guess:
    """One of the classifier's guesses, as kept with an answer."""

    label: str
    name: str  # display name at the time of the answer
    confidence: float


@dataclass(frozen=True, slots=True)
class AnswerRecord:
    """One answered photo and, once the user pressed a button, their feedback."""

    answer_id: str  # random, in the buttons' callback data
    user_hash: str  # bot.privacy.UserHasher: a keyed hash, never the Telegram id
    chat_type: str  # "private", "group", "supergroup"
    file_unique_id: str | None  # Telegram's stable id of the photo (not downloadable)
    model_version: str
    guesses: tuple[Guess, ...]  # the answer first, then the other top guesses
    created_at: float  # Unix time
    expires_at: float  # Unix time; an unrated answer expires sooner than a rated one
    verdict: str | None = None  # "right" or "wrong"
    correction: str | None = None  # a breed label, "other" or "mixed" (after "wrong")
    rated_at: float | None = None

    @property
    def answer(self) -> Guess:
        return self.guesses[0]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["guesses"] = [asdict(g) for g in self.guesses]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerRecord:
        guesses = tuple(
            Guess(str(g["label"]), str(g["name"]), float(g["confidence"])) for g in data["guesses"]
        )
        rated_at = data.get("rated_at")
        return cls(
            answer_id=str(data["answer_id"]),
            user_hash=str(data["user_hash"]),
            chat_type=str(data["chat_type"]),
            file_unique_id=data.get("file_unique_id"),
            model_version=str(data["model_version"]),
            guesses=guesses,
            created_at=float(data["created_at"]),
            expires_at=float(data["expires_at"]),
            verdict=data.get("verdict"),
            correction=data.get("correction"),
            rated_at=None if rated_at is None else float(rated_at),
        )


@dataclass(frozen=True, slots=True)
class Rating:
    """A button press to record: ``verdict`` alone ("right", "wrong"), or the correction that
    follows "wrong". Recorded only when the answer is in the state ``expect``."""

    verdict: str
    correction: str | None
    rated_at: float
    expires_at: float
    expect_verdict: str | None = None  # None: not rated yet; "wrong": waiting for a correction


class Backend(ABC):
    """A store back-end. Thread-safe: ``Store`` calls it from several worker threads."""

    kind: ClassVar[str]

    # ----- once-only updates
    @abstractmethod
    def claim_update(self, key: str, owner: str, now: float, lease_until: float) -> ClaimOutcome:
        """Claim ``key`` for ``owner`` until ``lease_until``, unless it is finished (and not
        expired) or claimed by another owner whose lease has not run out."""

    @abstractmethod
    def finish_update(self, key: str, owner: str, expires_at: float) -> None:
        """Mark ``key`` handled (kept until ``expires_at``), if ``owner`` still holds it."""

    @abstractmethod
    def release_update(self, key: str, owner: str) -> None:
        """Drop ``owner``'s unfinished claim: the next delivery handles the update."""

    # ----- rate windows
    @abstractmethod
    def read_rate(self, key: str) -> tuple[RateState | None, int]:
        """The state and its version (0: no record)."""

    @abstractmethod
    def write_rate(self, key: str, state: RateState, version: int, expires_at: float) -> bool:
        """Store ``state`` as version ``version + 1`` if the stored version is still
        ``version``; False when another writer came first."""

    # ----- answers and feedback
    @abstractmethod
    def put_answer(self, record: AnswerRecord) -> None: ...

    @abstractmethod
    def get_answer(self, user_hash: str, answer_id: str, now: float) -> AnswerRecord | None:
        """The answer, or None when there is none (or it expired)."""

    @abstractmethod
    def rate_answer(self, user_hash: str, answer_id: str, rating: Rating, now: float) -> bool:
        """Record ``rating`` if the answer exists, has not expired, has no correction and its
        verdict is ``rating.expect_verdict``; False otherwise (nothing written)."""

    @abstractmethod
    def delete_user(self, user_hash: str) -> int:
        """Delete every answer of this user; how many there were."""

    @abstractmethod
    def scan_answers(self, now: float) -> Iterator[AnswerRecord]:
        """Every answer that has not expired (``/stats``, the export)."""

    # ----- upkeep
    @abstractmethod
    def ping(self) -> None:
        """One cheap round trip; raises when the store cannot be used."""

    def close(self) -> None:  # noqa: B027 - optional
        """Release connections."""
