"""``sqlite:///PATH``: the store in one SQLite file, safe for several processes on one machine.

WAL mode lets readers and one writer work at once; every write that depends on what is stored
(a claim, a compare-and-set, a rating) is a single statement or runs under ``BEGIN IMMEDIATE``,
so two processes can never both win. ``busy_timeout`` makes a writer wait for the lock instead
of failing at once; ``bot.store.service.Store`` bounds the whole call anyway.

Each worker thread gets its own connection (sqlite3 connections are not to be shared between
threads while in use). Expired rows are deleted now and then by whoever writes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from bot.store.base import AnswerRecord, Backend, ClaimOutcome, RateState, Rating, StoreError

SCHEMA_VERSION = 1
PURGE_EVERY_WRITES = 500
_SCHEMA = """
CREATE TABLE IF NOT EXISTS update_claims (
    key TEXT PRIMARY KEY,
    state TEXT NOT NULL,              -- 'busy' or 'done'
    owner TEXT NOT NULL,
    lease_until REAL NOT NULL,
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rate_windows (
    key TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    state TEXT NOT NULL,              -- JSON of bot.store.base.RateState
    expires_at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS answers (
    user_hash TEXT NOT NULL,
    answer_id TEXT NOT NULL,
    record TEXT NOT NULL,             -- JSON of bot.store.base.AnswerRecord
    verdict TEXT,
    correction TEXT,
    rated_at REAL,
    expires_at REAL NOT NULL,
    PRIMARY KEY (user_hash, answer_id)
) WITHOUT ROWID;
"""


class SQLiteBackend(Backend):
    kind = "sqlite"

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._init_lock = threading.Lock()
        self._writes = 0
        self._ready = False

    # ----- connections
    def _connect(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            return connection
        try:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            connection = sqlite3.connect(
                self.path,
                timeout=self.busy_timeout,
                isolation_level=None,  # autocommit; explicit BEGIN IMMEDIATE where it matters
                check_same_thread=False,  # only close() touches it from another thread
            )
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            connection.execute("PRAGMA synchronous = NORMAL")  # durable across app crashes in WAL
            if not self._ready:
                # One thread of this process initialises; the others wait, then skip it.
                with self._init_lock:
                    if not self._ready:
                        self._initialise(connection)
        except (sqlite3.Error, OSError) as exc:
            if connection is not None:
                connection.close()
            raise StoreError(f"cannot open the SQLite store: {exc}") from exc
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def _initialise(self, connection: sqlite3.Connection) -> None:
        mode = self._wal(connection)
        if str(mode).lower() != "wal":
            raise StoreError(f"SQLite refused WAL mode (got {mode})")
        with self._transaction(connection):
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)
        self._ready = True

    def _wal(self, connection: sqlite3.Connection) -> str:
        """Switch to WAL. Another process switching at the same moment makes SQLite answer
        "database is locked" at once (the busy timeout does not cover a journal-mode change),
        so retry for as long as the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout
        while True:
            try:
                return str(connection.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    @contextlib.contextmanager
    def _transaction(self, connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock first, so a read followed
        by a write cannot interleave with another process's."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            yield connection
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _run(self, action, *args):  # type: ignore[no-untyped-def]
        """Run ``action(connection, *args)``; sqlite3 errors become StoreError."""
        connection = self._connect()
        try:
            return action(connection, *args)
        except sqlite3.Error as exc:
            raise StoreError(f"SQLite store: {exc}") from exc

    def _wrote(self, connection: sqlite3.Connection, now: float) -> None:
        self._writes += 1
        if self._writes % PURGE_EVERY_WRITES == 0:
            for table in ("update_claims", "rate_windows", "answers"):
                connection.execute(f"DELETE FROM {table} WHERE expires_at <= ?", (now,))

    # ----- once-only updates
    def claim_update(self, key: str, owner: str, now: float, lease_until: float) -> ClaimOutcome:
        def action(db: sqlite3.Connection) -> ClaimOutcome:
            with self._transaction(db):
                cursor = db.execute(
                    """
                    INSERT INTO update_claims (key, state, owner, lease_until, expires_at)
                    VALUES (:key, 'busy', :owner, :lease, :lease)
                    ON CONFLICT (key) DO UPDATE
                    SET state = 'busy', owner = :owner, lease_until = :lease, expires_at = :lease
                    WHERE update_claims.expires_at <= :now
                       OR (update_claims.state = 'busy'
                           AND (update_claims.lease_until <= :now
                                OR update_claims.owner = :owner))
                    """,
                    {"key": key, "owner": owner, "lease": lease_until, "now": now},
                )
                if cursor.rowcount == 1:
                    self._wrote(db, now)
                    return ClaimOutcome.CLAIMED
                row = db.execute("SELECT state FROM update_claims WHERE key = ?", (key,)).fetchone()
            return ClaimOutcome.DONE if row and row[0] == "done" else ClaimOutcome.BUSY

        return self._run(action)

    def finish_update(self, key: str, owner: str, expires_at: float) -> None:
        self._run(
            lambda db: db.execute(
                "UPDATE update_claims SET state = 'done', expires_at = ?"
                " WHERE key = ? AND owner = ?",
                (expires_at, key, owner),
            )
        )

    def release_update(self, key: str, owner: str) -> None:
        self._run(
            lambda db: db.execute(
                "DELETE FROM update_claims WHERE key = ? AND owner = ? AND state = 'busy'",
                (key, owner),
            )
        )

    # ----- rate windows
    def read_rate(self, key: str) -> tuple[RateState | None, int]:
        row = self._run(
            lambda db: db.execute(
                "SELECT state, version FROM rate_windows WHERE key = ?", (key,)
            ).fetchone()
        )
        if row is None:
            return None, 0
        return RateState.from_dict(json.loads(row[0])), int(row[1])

    def write_rate(self, key: str, state: RateState, version: int, expires_at: float) -> bool:
        payload = json.dumps(state.to_dict())

        def action(db: sqlite3.Connection) -> bool:
            if version == 0:
                cursor = db.execute(
                    "INSERT INTO rate_windows (key, version, state, expires_at) VALUES (?, 1, ?, ?)"
                    " ON CONFLICT (key) DO NOTHING",
                    (key, payload, expires_at),
                )
            else:
                cursor = db.execute(
                    "UPDATE rate_windows SET version = version + 1, state = ?, expires_at = ?"
                    " WHERE key = ? AND version = ?",
                    (payload, expires_at, key, version),
                )
            if cursor.rowcount == 1:
                self._wrote(db, time.time())
                return True
            return False

        return self._run(action)

    # ----- answers and feedback
    def put_answer(self, record: AnswerRecord) -> None:
        def action(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO answers (user_hash, answer_id, record, verdict, correction,"
                " rated_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.user_hash,
                    record.answer_id,
                    json.dumps(record.to_dict()),
                    record.verdict,
                    record.correction,
                    record.rated_at,
                    record.expires_at,
                ),
            )
            self._wrote(db, record.created_at)

        self._run(action)

    @staticmethod
    def _record(row: tuple) -> AnswerRecord:
        data = json.loads(row[0])
        data.update(verdict=row[1], correction=row[2], rated_at=row[3], expires_at=row[4])
        return AnswerRecord.from_dict(data)

    def get_answer(self, user_hash: str, answer_id: str, now: float) -> AnswerRecord | None:
        row = self._run(
            lambda db: db.execute(
                "SELECT record, verdict, correction, rated_at, expires_at FROM answers"
                " WHERE user_hash = ? AND answer_id = ? AND expires_at > ?",
                (user_hash, answer_id, now),
            ).fetchone()
        )
        return None if row is None else self._record(row)

    def rate_answer(self, user_hash: str, answer_id: str, rating: Rating, now: float) -> bool:
        def action(db: sqlite3.Connection) -> bool:
            cursor = db.execute(
                "UPDATE answers SET verdict = ?, correction = ?, rated_at = ?, expires_at = ?"
                " WHERE user_hash = ? AND answer_id = ? AND expires_at > ?"
                " AND correction IS NULL AND verdict IS ?",
                (
                    rating.verdict,
                    rating.correction,
                    rating.rated_at,
                    rating.expires_at,
                    user_hash,
                    answer_id,
                    now,
                    rating.expect_verdict,
                ),
            )
            return cursor.rowcount == 1

        return self._run(action)

    def delete_user(self, user_hash: str) -> int:
        return self._run(
            lambda db: db.execute("DELETE FROM answers WHERE user_hash = ?", (user_hash,)).rowcount
        )

    def scan_answers(self, now: float) -> Iterator[AnswerRecord]:
        rows = self._run(
            lambda db: db.execute(
                "SELECT record, verdict, correction, rated_at, expires_at FROM answers"
                " WHERE expires_at > ?",
                (now,),
            ).fetchall()
        )
        for row in rows:
            yield self._record(row)

    # ----- upkeep
    def ping(self) -> None:
        self._run(lambda db: db.execute("SELECT 1 FROM update_claims LIMIT 1").fetchall())

    def close(self) -> None:
        with self._lock:
            connections, self._connections = self._connections, []
        for connection in connections:
            with contextlib.suppress(sqlite3.Error):
                connection.close()
        self._local = threading.local()
