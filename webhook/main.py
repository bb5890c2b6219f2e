"""The FastAPI app (``app``, served by ``make run``) and the AWS Lambda handler (``handler``).

Nothing heavy happens at import or in a lifespan: Mangum would run a lifespan on every
invocation (Kludex/mangum#342), so the classifier and the Telegram Application are lazy
process-wide singletons, created by the first request that needs them and reused by every warm
invocation of the container.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI
from mangum import Mangum

from webhook.config import WebSettings, get_settings, settings_problems
from webhook.limits import BodyLimitMiddleware
from webhook.routes import api, docs, form, health, telegram

logger = logging.getLogger("webhook")


def configure_logging() -> None:
    """INFO for our loggers; httpx at WARNING because its request lines contain the bot token."""
    root = logging.getLogger()
    if not root.handlers:  # uvicorn and the Lambda runtime bring their own handlers
        logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in ("webhook", "bot", "classifier"):
        if logging.getLogger(name).level == logging.NOTSET:
            logging.getLogger(name).setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def create_app(settings: WebSettings | None = None) -> FastAPI:
    """Build the app. ``settings`` None: read the environment (once per process)."""
    effective = settings or get_settings()
    app = FastAPI(
        title="Breed Bot",
        summary="Which cat or dog breed is in this photo?",
        version="0.1.0",
        docs_url=None,  # /docs and /redoc come from webhook.routes.docs, without a CDN
        redoc_url=None,
    )
    app.state.settings = settings  # None: routes read the process-wide settings
    app.include_router(telegram.router, max_body_size=effective.webhook_max_body_bytes)
    app.include_router(form.router, max_body_size=effective.upload_max_bytes)
    app.include_router(api.router, max_body_size=effective.upload_max_bytes)
    app.include_router(health.router)
    docs.install(app)

    limits = {
        telegram.WEBHOOK_PATH: effective.webhook_max_body_bytes,
        form.FORM_PATH: effective.upload_max_bytes,
        api.CLASSIFY_PATH: effective.upload_max_bytes,
    }
    app.add_middleware(
        BodyLimitMiddleware,
        limit_for_path=limits.get,
        html_page=lambda request, status, error: form.render_form(
            request, status_code=status, error=error
        ),
        html_paths=frozenset({form.FORM_PATH}),
    )
    return app


def log_webhook_status(settings: WebSettings) -> None:
    """Say once, at start-up (a Lambda cold start), whether the settings are valid and the
    Telegram webhook can work. Invalid settings are named (never their values); the app still
    starts, with the defaults for them, and /healthz answers 503 saying which."""
    for problem in settings_problems():
        logger.error("Invalid setting %s (see .env.example)", problem)
    problems = telegram.configuration_problems(settings)
    if problems:
        logger.warning(
            "Telegram webhook disabled (%s answers 503): %s. The form and the API work.",
            telegram.WEBHOOK_PATH,
            "; ".join(problems),
        )


configure_logging()
app = create_app()
handler = Mangum(app, lifespan="off")
log_webhook_status(get_settings())
