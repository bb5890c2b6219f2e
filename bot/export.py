"""``python -m bot feedback export --out FILE.csv``: the feedback as a CSV file for retraining.

One row per rated answer (``--include-unrated`` adds the others): what the model said, what
the user said, and enough to group and de-duplicate (the photo's ``file_unique_id``, the hashed
user, the model version). No photo, no user id: docs/model.md describes how these rows feed the
next model.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from bot.feedback import CORRECTION_MIXED, CORRECTION_OTHER
from bot.store import AnswerRecord

COLUMNS = (
    "answer_id",
    "answered_at",
    "rated_at",
    "user_hash",
    "chat_type",
    "file_unique_id",
    "model_version",
    "answer",
    "answer_confidence",
    "verdict",
    "correction",
    "true_label",
    "other_guesses",
)


def _iso(timestamp: float | None) -> str:
    if timestamp is None:
        return ""
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def true_label(record: AnswerRecord) -> str:
    """The breed label the user confirmed or chose; "" when unknown (unrated, "other breed"
    or "mixed / domestic": those say what it is not, which is useful, but not a label)."""
    if record.verdict == "right":
        return record.answer.label
    if record.correction not in (None, CORRECTION_OTHER, CORRECTION_MIXED):
        return str(record.correction)
    return ""


def row(record: AnswerRecord) -> dict[str, str]:
    return {
        "answer_id": record.answer_id,
        "answered_at": _iso(record.created_at),
        "rated_at": _iso(record.rated_at),
        "user_hash": record.user_hash,
        "chat_type": record.chat_type,
        "file_unique_id": record.file_unique_id or "",
        "model_version": record.model_version,
        "answer": record.answer.label,
        "answer_confidence": f"{record.answer.confidence:.4f}",
        "verdict": record.verdict or "",
        "correction": record.correction or "",
        "true_label": true_label(record),
        "other_guesses": ";".join(f"{g.label}={g.confidence:.4f}" for g in record.guesses[1:]),
    }


def write_csv(records: Iterable[AnswerRecord], out: Path, *, include_unrated: bool) -> int:
    """Write the rows (oldest first) atomically; how many were written."""
    chosen = sorted(
        (r for r in records if include_unrated or r.verdict is not None),
        key=lambda r: (r.created_at, r.answer_id),
    )
    out = out.expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".feedback-", suffix=".csv", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(row(r) for r in chosen)
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(chosen)
