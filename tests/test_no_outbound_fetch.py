"""Only Telegram's own file URLs are ever fetched: links in texts, captions, entities, file
names or file ids are never downloaded, through the polling bot or the webhook; error answers
never show internals."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.support import updates as u
from tests.support.bot_api_double import DOWNLOAD, BotApiDouble
from tests.support.lambda_events import telegram_webhook_event
from tests.support.warm_lambda import warm_lambda


class Trap:
    """An HTTP server on loopback that records every request it gets (none is the goal)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        trap = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                trap.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_POST = do_GET

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def trap() -> Iterator[Trap]:
    server = Trap()
    yield server
    server.close()


def messages_with_links(api: BotApiDouble, trap: Trap) -> list[dict]:
    url = f"{trap.url}/cat.jpg"
    text = f"look {url} @{api.username}"
    link_entity = {"type": "text_link", "offset": 0, "length": 4, "url": url}
    url_entity = {"type": "url", "offset": 5, "length": len(url)}
    api.add_file("evil-path", b"\xff\xd8\xff not really", file_path=url)  # absolute file_path
    return [
        u.text_message(text),
        u.message(text=text, entities=[link_entity, url_entity]),
        u.photo_message(
            [{"file_id": url, "file_unique_id": "u-x", "width": 800, "height": 600}],
            caption=url,
            caption_entities=[{"type": "url", "offset": 0, "length": len(url)}],
        ),
        u.document_message(url, file_size=10, file_name=url),
        u.document_message("evil-path", file_size=10, file_name="x.jpg"),
        u.text_message(url, chat=u.GROUP_CHAT),
        u.text_message(
            f"/breed@{api.username}",
            chat=u.GROUP_CHAT,
            reply_to_message=u.message(text=url, entities=[url_entity], chat=u.GROUP_CHAT),
        ),
    ]


def assert_only_telegram_was_asked(api: BotApiDouble, trap: Trap) -> None:
    assert trap.hits == []
    stored = {f.file_path for f in api.files.values()}
    assert all(r.path in stored for r in api.calls(DOWNLOAD)), api.calls(DOWNLOAD)
    for text in api.sent_texts:
        assert trap.url not in text and "Traceback" not in text and ".py" not in text


async def test_polling_bot_never_fetches_a_user_supplied_url(bot_api, polling_bot, trap) -> None:
    messages = messages_with_links(bot_api, trap)
    for msg in messages:
        bot_api.push_update(u.update(msg))
    await bot_api.until(lambda: bot_api.pending_updates == 0)
    await bot_api.wait_for_messages(6)
    await polling_bot.stop()
    assert_only_telegram_was_asked(bot_api, trap)


def test_webhook_never_fetches_a_user_supplied_url(trap) -> None:
    secret = "links_secret-" + "q" * 20
    with warm_lambda(secret) as container:
        for index, msg in enumerate(messages_with_links(container.api, trap)):
            result = container(
                telegram_webhook_event(
                    {"update_id": 10_000 + index, **u.update(msg)}, secret=secret
                )
            )
            assert result.status == 200, result.text
        assert len(container.api.sent_messages) >= 6
        assert_only_telegram_was_asked(container.api, trap)
