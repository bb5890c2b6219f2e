"""Answer each Telegram update once, even when Telegram delivers it again.

Telegram re-sends an update it believes was not received: a webhook call that timed out or
answered non-2xx, or (polling) an update fetched by a bot that stopped before its next
``getUpdates`` confirmed it. ``RecentUpdateIds`` remembers recently processed ``update_id``s
(bounded, least recently seen first out), with an "in flight" state for concurrent servers.

``PersistentUpdateIds`` also keeps them in a small JSON file, so a polling bot that is
restarted (or crashed) does not answer the same photo twice. ``install_dedup`` wires a store
into a ptb ``Application``: a duplicate is dropped before any handler runs, and an update is
marked processed only after its handlers ran (a crash in between means it is handled again,
never lost).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections import OrderedDict
from pathlib import Path

from telegram import Update
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes, TypeHandler

log = logging.getLogger(__name__)

DEDUP_KEY = "breedbot.dedup"
# Handler groups: the check runs before every handler (group 0), the mark after all of them.
CHECK_GROUP = -100
DONE_GROUP = 100
_FORMAT_VERSION = 1


class RecentUpdateIds:
    """A bounded LRU set of update ids with an "in flight" state for concurrent servers."""

    def __init__(self, max_size: int = 2048) -> None:
        if max_size < 1:
            raise ValueError("max_size must be >= 1")
        self.max_size = max_size
        self._done: OrderedDict[int, None] = OrderedDict()
        self._in_flight: set[int] = set()

    def __len__(self) -> int:
        return len(self._done)

    def __contains__(self, update_id: object) -> bool:
        return update_id in self._done or update_id in self._in_flight

    def begin(self, update_id: int) -> bool:
        """Claim ``update_id``; False when it was already processed or is being processed."""
        if update_id in self:
            if update_id in self._done:
                self._done.move_to_end(update_id)
            return False
        self._in_flight.add(update_id)
        return True

    def finish(self, update_id: int) -> None:
        """Mark a claimed id as processed (it is then remembered until pushed out)."""
        self._in_flight.discard(update_id)
        self._done[update_id] = None
        self._done.move_to_end(update_id)
        while len(self._done) > self.max_size:
            self._done.popitem(last=False)

    def abandon(self, update_id: int) -> None:
        """Release a claimed id without marking it processed (a redelivery will be handled)."""
        self._in_flight.discard(update_id)

    def processed(self) -> list[int]:
        """The remembered processed ids, oldest first."""
        return list(self._done)


def default_state_dir() -> str:
    """A per-user directory under the system temp dir (``/tmp/breed-bot-<uid>`` on Linux)."""
    user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    return str(Path(tempfile.gettempdir()) / f"breed-bot-{user}")


def state_file(state_dir: str | os.PathLike[str] | None, token: str) -> Path | None:
    """Where the processed update ids of this bot are kept; None: memory only.

    Named by the bot's public numeric id (the part of the token before ':'), never the secret.
    """
    if state_dir is None or not str(state_dir).strip():
        return None
    bot_id = token.split(":", 1)[0]
    if not bot_id.isdigit():
        bot_id = "bot"
    return Path(state_dir).expanduser() / f"updates-{bot_id}.json"


class PersistentUpdateIds(RecentUpdateIds):
    """``RecentUpdateIds`` saved to ``path`` after each processed update (atomic replace).

    A missing, unreadable or corrupt file means "nothing processed yet" (logged, never fatal);
    a directory that cannot be written leaves the store working in memory (logged once).
    """

    def __init__(self, path: Path | None, max_size: int = 2048) -> None:
        super().__init__(max_size)
        self.path = path
        self._save_failed = False
        if path is not None:
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("Cannot read the update state file %s (%s); starting empty", path, exc)
            return
        try:
            data = json.loads(raw)
            ids = data["update_ids"] if isinstance(data, dict) else None
            if not isinstance(ids, list):
                raise ValueError("no update_ids list")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("Ignoring a corrupt update state file %s (%s)", path, exc)
            return
        for update_id in ids[-self.max_size :]:
            if isinstance(update_id, int) and not isinstance(update_id, bool):
                super().finish(update_id)
        log.info("Remembering %d processed update ids from %s", len(self), path)

    def finish(self, update_id: int) -> None:
        super().finish(update_id)
        self.save()

    def save(self) -> None:
        path = self.path
        if path is None or self._save_failed:
            return
        payload = json.dumps({"version": _FORMAT_VERSION, "update_ids": self.processed()})
        tmp: str | None = None
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".updates-", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            self._save_failed = True
            log.warning(
                "Cannot write the update state file %s (%s): duplicates are only detected "
                "until the bot restarts",
                path,
                exc,
            )
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)


def install_dedup(app: Application, store: RecentUpdateIds) -> None:
    """Drop updates ``store`` has seen; mark each update processed after its handlers ran."""

    async def check(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not store.begin(update.update_id):
            log.info("Update %d was already handled: not answering it again", update.update_id)
            raise ApplicationHandlerStop

    async def done(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        store.finish(update.update_id)

    app.bot_data[DEDUP_KEY] = store
    app.add_handler(TypeHandler(Update, check), group=CHECK_GROUP)
    app.add_handler(TypeHandler(Update, done), group=DONE_GROUP)
