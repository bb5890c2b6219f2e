"""Real-shaped AWS Lambda events for calling ``webhook.main.handler(event, context)`` in tests.

Two HTTP event sources reach the function in production, both with payload format 2.0:

- a Lambda Function URL (what template.yaml deploys): ``requestContext.domainName`` is
  ``<url-id>.lambda-url.<region>.on.aws``, ``routeKey`` ``$default``;
- an API Gateway HTTP API: ``<api-id>.execute-api.<region>.amazonaws.com``, a route key such as
  ``POST /telegram/webhook`` or ``$default``.

Shapes follow the AWS documentation's examples: lower-case header names, cookies in their own
list, ``rawQueryString``, and a binary body base64-encoded with ``isBase64Encoded`` true (text
bodies plain). Helpers also build multipart bodies, and read a handler's result back.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs

ACCOUNT_ID = "123456789012"
REGION = "eu-west-1"
URL_ID = "abcdefghijklmnopqrstuvwxyz012345"
API_ID = "a1b2c3d4e5"
TEXT_TYPES = ("text/", "application/json", "application/x-www-form-urlencoded")

Source = Literal["function_url", "http_api"]


@dataclass
class FakeLambdaContext:
    """The attributes of the runtime's context object that handlers usually read."""

    function_name: str = "breed-bot"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1769
    timeout_ms: int = 60_000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/breed-bot"
    log_stream_name: str = "2026/11/26/[$LATEST]0123456789abcdef"
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = int((time.monotonic() - self.started) * 1000)
        return max(0, self.timeout_ms - elapsed)


def _is_text(content_type: str | None) -> bool:
    return content_type is not None and content_type.lower().startswith(TEXT_TYPES)


def http_event(
    method: str,
    path: str,
    *,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
    cookies: list[str] | None = None,
    source: Source = "function_url",
    source_ip: str = "203.0.113.7",
    user_agent: str = "pytest",
) -> dict[str, Any]:
    """A payload-2.0 event as Lambda delivers it for ``method path`` from ``source``."""
    if source == "function_url":
        domain_prefix = URL_ID
        domain = f"{URL_ID}.lambda-url.{REGION}.on.aws"
        route_key = "$default"
    else:
        domain_prefix = API_ID
        domain = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
        route_key = f"{method} {path}"
    request_headers = {
        "host": domain,
        "user-agent": user_agent,
        "accept": "*/*",
        "x-amzn-trace-id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)}",
        "x-forwarded-for": source_ip,
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    request_headers.update({k.lower(): v for k, v in (headers or {}).items()})

    raw = body.encode("utf-8") if isinstance(body, str) else body
    event_body: str | None = None
    is_base64 = False
    if raw is not None:
        request_headers.setdefault("content-length", str(len(raw)))
        try:
            text = raw.decode("utf-8") if _is_text(request_headers.get("content-type")) else None
        except UnicodeDecodeError:
            text = None  # not valid text after all: Lambda sends it base64-encoded
        if text is not None:
            event_body = text
        else:
            event_body = base64.b64encode(raw).decode("ascii")
            is_base64 = True

    now = time.time()
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": query,
        "headers": request_headers,
        "requestContext": {
            "accountId": ACCOUNT_ID if source == "http_api" else "anonymous",
            "apiId": domain_prefix,
            "domainName": domain,
            "domainPrefix": domain_prefix,
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": user_agent,
            },
            "requestId": str(uuid.uuid4()),
            "routeKey": route_key,
            "stage": "$default",
            "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if query:
        event["queryStringParameters"] = {k: ",".join(v) for k, v in parse_qs(query).items()}
    if cookies:
        event["cookies"] = list(cookies)
    if event_body is not None:
        event["body"] = event_body
    if source == "http_api":
        event["pathParameters"] = None
        event["stageVariables"] = None
    return event


def telegram_webhook_event(
    update: dict[str, Any] | bytes | str,
    *,
    secret: str | None,
    source: Source = "function_url",
    path: str = "/telegram/webhook",
) -> dict[str, Any]:
    """What Telegram's webhook delivery looks like: a JSON POST with the secret header."""
    body = update if isinstance(update, bytes | str) else json.dumps(update)
    headers = {"content-type": "application/json", "user-agent": ""}
    if secret is not None:
        headers["x-telegram-bot-api-secret-token"] = secret
    return http_event(
        "POST", path, body=body, headers=headers, source=source, source_ip="149.154.167.220"
    )


def multipart_body(
    fields: dict[str, tuple[str, bytes, str] | str],
) -> tuple[bytes, str]:
    """Encode ``fields`` as multipart/form-data: a tuple is a file (name, bytes, type)."""
    boundary = "----BreedBotTest" + secrets.token_hex(8)
    parts: list[bytes] = []
    for name, value in fields.items():
        if isinstance(value, tuple):
            filename, content, content_type = value
            head = (
                f'Content-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {content_type}\r\n\r\n"
            ).encode()
            parts.append(f"--{boundary}\r\n".encode() + head + content + b"\r\n")
        else:
            head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            parts.append(f"--{boundary}\r\n".encode() + head + value.encode() + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def upload_event(
    path: str,
    filename: str,
    content: bytes,
    content_type: str = "application/octet-stream",
    *,
    field_name: str = "file",
    source: Source = "function_url",
    accept: str = "*/*",
) -> dict[str, Any]:
    """A browser-like multipart upload (binary, so base64 in the event)."""
    body, multipart_type = multipart_body({field_name: (filename, content, content_type)})
    return http_event(
        "POST",
        path,
        body=body,
        headers={"content-type": multipart_type, "accept": accept},
        source=source,
    )


@dataclass(frozen=True)
class LambdaResult:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)


def read_result(result: dict[str, Any]) -> LambdaResult:
    """Decode a handler's payload-2.0 response (base64 bodies included)."""
    assert isinstance(result.get("statusCode"), int), result
    raw = result.get("body", "")
    body = base64.b64decode(raw) if result.get("isBase64Encoded") else raw.encode("utf-8")
    return LambdaResult(result["statusCode"], dict(result.get("headers") or {}), body)


def call(handler: Any, event: dict[str, Any]) -> LambdaResult:
    """Invoke a Lambda handler with ``event`` as Lambda would, and decode its response."""
    return read_result(handler(event, FakeLambdaContext()))
