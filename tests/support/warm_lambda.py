"""One warm Lambda container for tests: ``webhook.main.handler`` on one persistent event loop,
its Telegram side aimed at a Bot API double (environment set for the duration)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support.bot_api_double import BotApiDouble
from tests.support.lambda_events import FakeLambdaContext, LambdaResult, read_result


@dataclass
class WarmLambda:
    api: BotApiDouble
    loop: asyncio.AbstractEventLoop
    secret: str

    def __call__(self, event: dict[str, Any]) -> LambdaResult:
        from webhook.main import handler

        return read_result(handler(event, FakeLambdaContext()))


@contextlib.contextmanager
def warm_lambda(secret: str, **env_vars: str) -> Iterator[WarmLambda]:
    from webhook.config import get_settings
    from webhook.telegram_app import runtime

    with BotApiDouble() as api, pytest.MonkeyPatch.context() as env:
        env.setenv("TELEGRAM_BOT_TOKEN", api.token)
        env.setenv("TELEGRAM_API_BASE_URL", api.base_url)
        env.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
        env.setenv("BOT_RETRY_BACKOFF_SECONDS", "0.05")
        env.setenv("BOT_RETRY_BACKOFF_MAX_SECONDS", "0.2")
        for name in ("BREEDBOT_MAX_UPLOAD_BYTES", "WEBHOOK_MAX_BODY_BYTES"):
            env.delenv(name, raising=False)
        for name, value in env_vars.items():
            env.setenv(name, value)
        get_settings.cache_clear()
        runtime.forget()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            yield WarmLambda(api, loop, secret)
        finally:
            loop.run_until_complete(runtime.shutdown())
            loop.close()
            asyncio.set_event_loop(None)
            get_settings.cache_clear()
            runtime.forget()
