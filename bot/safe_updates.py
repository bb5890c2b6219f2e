"""Polling must survive an update python-telegram-bot cannot parse.

ptb parses a whole ``getUpdates`` batch at once. One update it cannot turn into objects (a
field of an unexpected type, a future Bot API change...) makes the batch fail: ptb logs the
raw data (users' messages) at CRITICAL and polls again *with the same offset*, so it gets the
same batch back at once, forever. Every later update of every chat is stuck behind it.

``GuardedUpdatesRequest`` is the HTTP request object used for ``getUpdates`` only: it checks
each update of the answer on its own and replaces one that cannot be parsed by a bare
``{"update_id": N}``. No handler matches that, ptb confirms it with the next offset, and the
updates after it are answered normally.
"""

from __future__ import annotations

import logging
from typing import Any

from telegram import Update
from telegram.request import HTTPXRequest

log = logging.getLogger(__name__)


def _parses(item: dict[str, Any]) -> bool:
    try:
        Update.de_json(dict(item), None)
    except Exception:  # noqa: BLE001 - whatever ptb raises on a field it cannot read
        return False
    return True


def sanitize_updates(result: Any) -> Any:
    """The ``result`` of a getUpdates answer with unparseable updates neutralised.

    Items without an integer ``update_id`` cannot be confirmed or processed: they are dropped.
    """
    if not isinstance(result, list):
        return result
    clean: list[Any] = []
    for item in result:
        update_id = item.get("update_id") if isinstance(item, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            log.warning("Dropping an update without an update_id from getUpdates")
            continue
        if _parses(item):
            clean.append(item)
        else:
            kinds = ", ".join(sorted(str(key) for key in item if key != "update_id")) or "none"
            log.warning("Update %d cannot be parsed (fields: %s): skipped", update_id, kinds)
            clean.append({"update_id": update_id})
    return clean


class GuardedUpdatesRequest(HTTPXRequest):
    """``HTTPXRequest`` for getUpdates that never lets one bad update block polling."""

    def parse_json_payload(self, payload: bytes) -> Any:  # type: ignore[override]
        data = super().parse_json_payload(payload)
        if isinstance(data, dict) and data.get("ok") is True and "result" in data:
            data["result"] = sanitize_updates(data["result"])
        return data
