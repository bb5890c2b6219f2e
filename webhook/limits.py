"""Request body limits with answers people can read.

FastAPI enforces each router's ``max_body_size`` while the body streams in (the backstop, which
answers a terse plain-text 413). This middleware answers first whenever ``Content-Length``
already tells the body is too large (browsers, Telegram, API Gateway and Function URL events
all send it): the form gets its page back with a friendly error, the API and the webhook JSON.
The body is never read in that case.
"""

from __future__ import annotations

from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from webhook.uploads import too_large_message


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        limit_for_path: Callable[[str], int | None],
        html_page: Callable[[Request, int, str], Response] | None = None,
        html_paths: frozenset[str] = frozenset(),
    ) -> None:
        self.app = app
        self.limit_for_path = limit_for_path
        self.html_page = html_page
        self.html_paths = html_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        limit = self.limit_for_path(path)
        if limit is not None:
            length = Headers(scope=scope).get("content-length")
            if length is not None and length.isdigit() and int(length) > limit:
                message = too_large_message(limit)
                if self.html_page is not None and path in self.html_paths:
                    response = self.html_page(Request(scope), 413, message)
                else:
                    response = JSONResponse({"detail": message}, status_code=413)
                response.headers["connection"] = "close"
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)
