"""A Telegram Bot API test double: a real HTTP server on 127.0.0.1 (random port).

It speaks the Bot API layout, ``/bot<token>/<method>`` and ``/file/bot<token>/<path>``, so the
real python-telegram-bot client talks to it over real HTTP (``TELEGRAM_API_BASE_URL`` =
``double.base_url``). Implemented: getMe, getUpdates (long poll, offsets), getFile and file
downloads, sendMessage (with inline keyboards, checked like Telegram: at most 64 bytes of
callback data), sendChatAction, setMyCommands, getWebhookInfo, setWebhook, deleteWebhook,
answerCallbackQuery (once per query, text up to 200 characters), editMessageReplyMarkup and
editMessageText ("message is not modified" when nothing changes). ``press`` builds the
callback_query update a user's tap on a button produces. Faults can be injected per method
(``fail_next``: 429 with ``retry_after``, 5xx, 400...; ``delay_next``: slow answers;
``drop_next``: the connection is closed without an answer) and for the whole server
(``refuse_connections`` / ``refuse_connections_after``: the port is closed, so clients get
"connection refused", then reopened). Every request is recorded.

Thread-safe: the server runs in its own thread; tests read its state from any thread or loop.
Use ``"download"`` as the method name for file downloads in ``fail_next``/``delay_next``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

DEFAULT_TOKEN = "1234567:AAH-test-token-for-the-double_0123456"
DOWNLOAD = "download"
DROPPED = -1  # RecordedRequest.status of a call whose connection drop_next closed


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # load tests open hundreds of connections at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client closed its keep-alive connection (a process stopping): normal
        super().handle_error(request, client_address)


@dataclass
class RecordedRequest:
    method: str  # Bot API method, or "download"
    params: dict[str, Any]
    status: int = 0  # HTTP status the double answered
    path: str = ""  # file path, for downloads
    at: float = field(default_factory=time.monotonic)

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class Fault:
    status: int = 429
    retry_after: int | None = None
    description: str | None = None
    times: int = 1


@dataclass
class Delay:
    seconds: float
    times: int = 1


@dataclass
class Outage:
    seconds: float
    times: int = 1


@dataclass
class StoredFile:
    file_id: str
    data: bytes
    file_path: str
    file_size: int  # what getFile reports (may differ from len(data) to fake huge files)


class BotApiDouble:
    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_id: int | None = None,
        username: str = "breed_test_bot",
        first_name: str = "Breed Test Bot",
    ) -> None:
        self.token = token
        self.bot_id = bot_id if bot_id is not None else int(token.split(":")[0])
        self.username = username
        self.first_name = first_name
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[Any] = set()  # open client sockets (closed by an outage)
        self._timers: list[threading.Timer] = []
        self._stopping = False
        self.reset()

    # ----- lifecycle
    def start(self, port: int = 0) -> BotApiDouble:
        double = self

        class Handler(_Handler):
            pass

        Handler.double = double
        self._server = _Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="bot-api-double",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        for timer in list(self._timers):
            timer.cancel()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> BotApiDouble:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Forget everything: updates, files, faults, requests, webhook."""
        with self._lock:
            self.requests: list[RecordedRequest] = []
            self.files: dict[str, StoredFile] = {}
            self.webhook_url = ""
            self.commands: dict[str, list[dict[str, Any]]] = {}
            self._updates: deque[dict[str, Any]] = deque()
            self._next_update_id = 1000
            self._message_ids = itertools.count(50_000)
            self._faults: dict[str, deque[Fault]] = {}
            self._delays: dict[str, deque[Delay]] = {}
            self._drops: dict[str, deque[Delay]] = {}
            self._outages_after: dict[str, deque[Outage]] = {}
            self.outages: list[tuple[float, float]] = []  # (start, end) of each refusal window
            self._chats: dict[int, dict[str, Any]] = {}
            # Messages the bot sent, by (chat id, message id): text and current keyboard.
            self.messages: dict[tuple[int, int], dict[str, Any]] = {}
            self._queries: dict[str, bool] = {}  # callback query id -> answered
            self._query_ids = itertools.count(900_000)

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the double first"
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        """The value for TELEGRAM_API_BASE_URL."""
        return f"http://127.0.0.1:{self.port}"

    # ----- test API
    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates (an update_id is assigned when missing)."""
        with self._changed:
            update = dict(update)
            if "update_id" not in update:
                update["update_id"] = self._next_update_id
            self._next_update_id = max(self._next_update_id, update["update_id"]) + 1
            message = update.get("message") or update.get("edited_message") or {}
            chat = message.get("chat") if isinstance(message, dict) else None
            if isinstance(chat, dict) and isinstance(chat.get("id"), int):
                self._chats[chat["id"]] = chat
            self._updates.append(update)
            self._changed.notify_all()
            return update["update_id"]

    def push_updates(self, *updates: dict[str, Any]) -> list[int]:
        """Queue several updates at once: the next getUpdates returns them in one batch (the
        same update twice included, as Telegram re-sends an unconfirmed one)."""
        with self._changed:
            return [self.push_update(update) for update in updates]

    def add_file(
        self,
        file_id: str,
        data: bytes,
        *,
        file_path: str | None = None,
        file_size: int | None = None,
    ) -> StoredFile:
        """Make ``file_id`` downloadable. ``file_size`` overrides the size getFile reports."""
        stored = StoredFile(
            file_id=file_id,
            data=data,
            file_path=file_path or f"photos/{file_id}.jpg",
            file_size=len(data) if file_size is None else file_size,
        )
        with self._lock:
            self.files[file_id] = stored
        return stored

    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` with an error (nothing is performed).
        ``status=429`` defaults to ``retry_after=1``."""
        if status == 429 and retry_after is None:
            retry_after = 1
        with self._lock:
            self._faults.setdefault(method, deque()).append(
                Fault(status, retry_after, description, times)
            )

    def delay_next(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Perform the next ``times`` calls of ``method`` but answer ``seconds`` late."""
        with self._lock:
            self._delays.setdefault(method, deque()).append(Delay(seconds, times))

    def drop_next(self, method: str, *, times: int = 1) -> None:
        """Close the connection of the next ``times`` calls of ``method`` without answering
        (nothing is performed): the client sees "server disconnected"."""
        with self._lock:
            self._drops.setdefault(method, deque()).append(Delay(0, times))

    def refuse_connections(self, seconds: float) -> None:
        """Close the port now and reopen it after ``seconds``: every connection attempt in
        between is refused (ECONNREFUSED) and open keep-alive connections are closed."""
        self._begin_outage(seconds)

    def refuse_connections_after(self, method: str, seconds: float) -> None:
        """Answer the next call of ``method`` (with ``Connection: close``), and refuse all
        connections from that moment for ``seconds``: the fault hits whatever comes next."""
        with self._lock:
            self._outages_after.setdefault(method, deque()).append(Outage(seconds))

    def _begin_outage(self, seconds: float, keep: Any = None) -> None:
        server = self._server
        assert server is not None, "start() the double first"
        port = self.port
        server.shutdown()
        server.server_close()
        with self._lock:
            connections = [c for c in self._connections if c is not keep]
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        start = time.monotonic()

        def reopen() -> None:
            if self._stopping:
                return
            self.start(port)
            with self._changed:
                self.outages.append((start, time.monotonic()))
                self._changed.notify_all()

        timer = threading.Timer(seconds, reopen)
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def calls(self, method: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.method == method]

    @property
    def sent_messages(self) -> list[dict[str, Any]]:
        """Parameters of every sendMessage that the double performed (answered 200)."""
        with self._lock:
            return [r.params for r in self.requests if r.method == "sendMessage" and r.ok]

    @property
    def sent_texts(self) -> list[str]:
        return [str(m.get("text", "")) for m in self.sent_messages]

    # ----- inline keyboards and callback queries
    def message(self, chat_id: int, message_id: int) -> dict[str, Any]:
        """A message the bot sent, as it is now (its keyboard may have been edited)."""
        with self._lock:
            return dict(self.messages[(int(chat_id), int(message_id))])

    def buttons(self, chat_id: int, message_id: int) -> list[dict[str, Any]]:
        """The inline buttons under a message the bot sent, row by row flattened."""
        markup = self.message(chat_id, message_id).get("reply_markup") or {}
        return [b for row in markup.get("inline_keyboard", []) for b in row]

    def press(
        self,
        chat_id: int,
        message_id: int,
        button_text: str | None = None,
        *,
        user: dict[str, Any],
        data: str | None = None,
    ) -> dict[str, Any]:
        """The callback_query update a tap on ``button_text`` (or forged ``data``) produces
        (push it, or deliver it to the webhook). The query can be answered once."""
        sent = self.message(chat_id, message_id)
        if data is None:
            matches = [b for b in self.buttons(chat_id, message_id) if b["text"] == button_text]
            assert matches, f"no button {button_text!r} under message {message_id}"
            data = matches[0]["callback_data"]
        with self._lock:
            query_id = str(next(self._query_ids))
            self._queries[query_id] = False
        return {
            "callback_query": {
                "id": query_id,
                "from": user,
                "chat_instance": f"ci-{chat_id}",
                "message": sent,
                "data": data,
            }
        }

    def callback_answers(self) -> list[dict[str, Any]]:
        """Parameters of every answerCallbackQuery the double accepted."""
        with self._lock:
            return [r.params for r in self.requests if r.method == "answerCallbackQuery" and r.ok]

    @property
    def downloaded_paths(self) -> list[str]:
        with self._lock:
            return [r.path for r in self.requests if r.method == DOWNLOAD and r.ok]

    @property
    def pending_updates(self) -> int:
        with self._lock:
            return len(self._updates)

    def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block (a thread) until ``predicate()`` holds; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._changed.wait(min(remaining, 0.05))
        return True

    async def until(self, predicate: Callable[[], bool], within: float = 10.0) -> None:
        """Wait, without blocking the event loop, until ``predicate()`` holds."""
        deadline = time.monotonic() + within
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {within} s")
            await asyncio.sleep(0.02)

    async def wait_for_messages(self, count: int, within: float = 15.0) -> list[dict[str, Any]]:
        await self.until(lambda: len(self.sent_messages) >= count, within)
        return self.sent_messages

    # ----- internals (called from server threads)
    def _take(self, table: dict[str, deque[Any]], method: str) -> Any:
        with self._lock:
            queue = table.get(method)
            if not queue:
                return None
            item = queue[0]
            item.times -= 1
            if item.times <= 0:
                queue.popleft()
            return item

    def _record(self, request: RecordedRequest) -> None:
        with self._changed:
            self.requests.append(request)
            self._changed.notify_all()

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        try:
            chat_id = int(chat_id)
        except (TypeError, ValueError):
            return {"id": 0, "type": "private"}
        with self._lock:
            return self._chats.get(chat_id) or {
                "id": chat_id,
                "type": "private" if chat_id > 0 else "supergroup",
            }

    def _me(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = float(params.get("timeout") or 0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()  # confirmed by the offset
                if self._updates or self._stopping:
                    return list(itertools.islice(self._updates, limit))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(min(remaining, 0.1))

    def _api(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        """Perform ``method``: (HTTP status, result or error description)."""
        if method == "getMe":
            return 200, self._me()
        if method == "getUpdates":
            return 200, self._get_updates(params)
        if method == "sendMessage":
            text = params.get("text")
            if not text:
                return 400, "Bad Request: message text is empty"
            if len(str(text)) > 4096:
                return 400, "Bad Request: message is too long"
            problem = _keyboard_problem(params.get("reply_markup"))
            if problem:
                return 400, problem
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": self._chat(params.get("chat_id")),
                "from": self._me(),
                "text": str(text),
            }
            if params.get("reply_markup"):
                message["reply_markup"] = params["reply_markup"]
            with self._lock:
                self.messages[(message["chat"]["id"], message["message_id"])] = message
            return 200, message
        if method == "answerCallbackQuery":
            query_id = str(params.get("callback_query_id") or "")
            if len(str(params.get("text") or "")) > 200:
                return 400, "Bad Request: MESSAGE_TOO_LONG"
            with self._lock:
                if self._queries.get(query_id, True):  # unknown or already answered
                    return 400, (
                        "Bad Request: query is too old and response timeout expired or "
                        "query ID is invalid"
                    )
                self._queries[query_id] = True
            return 200, True
        if method in ("editMessageReplyMarkup", "editMessageText"):
            return self._edit(method, params)
        if method == "sendChatAction":
            return 200, True
        if method == "setMyCommands":
            scope = params.get("scope") or {"type": "default"}
            with self._lock:
                self.commands[scope.get("type", "default")] = params.get("commands") or []
            return 200, True
        if method == "getWebhookInfo":
            with self._lock:
                return 200, {
                    "url": self.webhook_url,
                    "has_custom_certificate": False,
                    "pending_update_count": len(self._updates),
                }
        if method == "setWebhook":
            with self._lock:
                self.webhook_url = str(params.get("url") or "")
            return 200, True
        if method == "deleteWebhook":
            with self._lock:
                self.webhook_url = ""
                if str(params.get("drop_pending_updates")).lower() == "true":
                    self._updates.clear()
            return 200, True
        if method == "getFile":
            stored = self.files.get(str(params.get("file_id")))
            if stored is None:
                return 400, "Bad Request: invalid file_id"
            if stored.file_size > 20 * 1024 * 1024:
                return 400, "Bad Request: file is too big"
            return 200, {
                "file_id": stored.file_id,
                "file_unique_id": f"u-{stored.file_id}",
                "file_size": stored.file_size,
                "file_path": stored.file_path,
            }
        return 404, "Not Found: method not found"

    def _edit(self, method: str, params: dict[str, Any]) -> tuple[int, Any]:
        try:
            key = (int(params.get("chat_id")), int(params.get("message_id")))
        except (TypeError, ValueError):
            return 400, "Bad Request: message identifier is not specified"
        markup = params.get("reply_markup") or None
        if isinstance(markup, dict) and not markup.get("inline_keyboard"):
            markup = None
        problem = _keyboard_problem(markup)
        if problem:
            return 400, problem
        with self._lock:
            message = self.messages.get(key)
            if message is None:
                return 400, "Bad Request: message to edit not found"
            changed = dict(message)
            if method == "editMessageText":
                text = str(params.get("text") or "")
                if not text:
                    return 400, "Bad Request: message text is empty"
                changed["text"] = text
            if markup is None:
                changed.pop("reply_markup", None)
            else:
                changed["reply_markup"] = markup
            if changed == message:
                return 400, (
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message"
                )
            self.messages[key] = changed
            return 200, changed

    def _file(self, path: str) -> StoredFile | None:
        with self._lock:
            for stored in self.files.values():
                if stored.file_path == path:
                    return stored
        return None


def _keyboard_problem(markup: Any) -> str | None:
    """Telegram's checks of an inline keyboard: each button has a text and callback data of
    1-64 bytes (or a URL)."""
    if not markup:
        return None
    if not isinstance(markup, dict) or not isinstance(markup.get("inline_keyboard"), list):
        return "Bad Request: can't parse reply keyboard markup JSON object"
    for row in markup["inline_keyboard"]:
        for button in row if isinstance(row, list) else [None]:
            if not isinstance(button, dict) or not str(button.get("text") or ""):
                return "Bad Request: inline keyboard button text is empty"
            data = button.get("callback_data")
            if data is None and not button.get("url"):
                return "Bad Request: inline keyboard button has no action"
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


def _decode_value(key: str, value: str) -> Any:
    if key in {"text", "caption"}:
        return value
    stripped = value.strip()
    if (
        stripped[:1] in {"{", "["}
        or stripped.lstrip("-").isdigit()
        or stripped in {"true", "false"}
    ):
        try:
            return json.loads(stripped)
        except ValueError:
            return value
    return value


def _parse_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    pairs: list[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)
    if body:
        if content_type.startswith("application/json"):
            data = json.loads(body.decode("utf-8"))
            return {**dict(pairs), **data}
        if content_type.startswith("multipart/form-data"):
            message = BytesParser(policy=HTTP).parsebytes(
                f"Content-Type: {content_type}\r\n\r\n".encode() + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True) or b""
                if name:
                    pairs.append((str(name), payload.decode("utf-8", "replace")))
        else:
            pairs.extend(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    return {key: _decode_value(key, value) for key, value in pairs}


class _Handler(BaseHTTPRequestHandler):
    double: BotApiDouble
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out separately: no 40 ms ACK stalls

    def log_message(self, format: str, *args: Any) -> None:  # silence stderr
        pass

    def setup(self) -> None:
        super().setup()
        with self.double._lock:
            self.double._connections.add(self.connection)

    def finish(self) -> None:
        with self.double._lock:
            self.double._connections.discard(self.connection)
        with contextlib.suppress(OSError):
            super().finish()

    def do_GET(self) -> None:
        self._safely(self._dispatch)

    def do_POST(self) -> None:
        self._safely(self._dispatch)

    def _safely(self, action: Callable[[], None]) -> None:
        try:
            action()
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True  # the client gave up (timeout, shutdown): fine

    def _send_json(self, status: int, payload: dict[str, Any]) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def _dropped(self, method: str, record: RecordedRequest) -> bool:
        """``drop_next``: close the connection without a word."""
        if self.double._take(self.double._drops, method) is None:
            return False
        record.status = DROPPED
        self.double._record(record)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        return True

    def _outage_after(self, method: str) -> Outage | None:
        """``refuse_connections_after``: close the port before answering this call."""
        outage = self.double._take(self.double._outages_after, method)
        if outage is not None:
            self.close_connection = True  # the client must not reuse this connection
            self.double._begin_outage(outage.seconds, keep=self.connection)
        return outage

    def _dispatch(self) -> None:
        double = self.double
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = unquote(url.path)  # ptb percent-encodes file URLs (the token's ':' too)
        file_prefix = f"/file/bot{double.token}/"
        api_prefix = f"/bot{double.token}/"
        if path.startswith(file_prefix):
            self._download(path[len(file_prefix) :])
            return
        if not path.startswith(api_prefix):
            self._send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        method = path[len(api_prefix) :]
        params = _parse_params(self.headers.get("Content-Type") or "", body, url.query)
        record = RecordedRequest(method=method, params=params)
        if self._dropped(method, record):
            return
        fault = double._take(double._faults, method)
        if fault is not None:
            record.status = fault.status
            double._record(record)
            error: dict[str, Any] = {
                "ok": False,
                "error_code": fault.status,
                "description": fault.description or _default_description(fault),
            }
            if fault.retry_after is not None:
                error["parameters"] = {"retry_after": fault.retry_after}
            self._send_json(fault.status, error)
            return
        status, result = double._api(method, params)
        record.status = status
        double._record(record)
        delay = double._take(double._delays, method)
        if delay is not None:
            time.sleep(delay.seconds)
        self._outage_after(method)
        if status == 200:
            self._send_json(200, {"ok": True, "result": result})
        else:
            self._send_json(status, {"ok": False, "error_code": status, "description": result})

    def _download(self, path: str) -> None:
        double = self.double
        record = RecordedRequest(method=DOWNLOAD, params={}, path=path)
        if self._dropped(DOWNLOAD, record):
            return
        fault = double._take(double._faults, DOWNLOAD)
        if fault is not None:
            record.status = fault.status
            double._record(record)
            self._send_json(fault.status, {"ok": False, "error_code": fault.status})
            return
        stored = double._file(path)
        record.status = 200 if stored is not None else 404
        double._record(record)
        delay = double._take(double._delays, DOWNLOAD)
        if delay is not None:
            time.sleep(delay.seconds)
        if stored is None:
            self._send_json(404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        self._outage_after(DOWNLOAD)
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(stored.data)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(stored.data)


def _default_description(fault: Fault) -> str:
    if fault.status == 429:
        return f"Too Many Requests: retry after {fault.retry_after}"
    if fault.status >= 500:
        return "Internal Server Error"
    return "Bad Request"
