"""``GET /healthz``: are the settings valid, is the model loaded and consistent, how many
labels, which version, and can the store be reached.

It loads the classifier when it is not loaded yet (about 0.2 s once per process, the cost the
first real request would pay anyway), so "ok" means the model really can answer; a missing or
inconsistent model, or an invalid setting (named, e.g. ``BREEDBOT_THREADS: Input should be a
valid integer``), gives 503 with the reason. Telegram configuration is reported as booleans
only, never values. The store is pinged (one cheap read) and reported, but a store that is down
does not make the app unhealthy: the bot answers without it (``bot.store.service``).
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from bot.store import StoreSettings, process_store
from classifier import ClassifierError, get_classifier
from webhook.config import WebSettings, settings_problems
from webhook.deps import web_settings
from webhook.telegram_app import runtime, token_problem

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class TelegramHealth(BaseModel):
    token_configured: bool
    secret_configured: bool
    application_ready: bool  # initialised in this process (after the first webhook call)


class StoreHealth(BaseModel):
    backend: str | None = None  # "sqlite", "dynamodb", "memory"
    reachable: bool = False
    error: str | None = None  # why not (no values, no credentials)


class Health(BaseModel):
    status: Literal["ok", "error"]
    model_loaded: bool
    labels: int  # every label the breed head answers (breeds and the domestic/mixed outcomes)
    pedigree_breeds: int = 0  # of which breeds (labels with pedigree = yes)
    model_name: str | None = None
    model_version: str | None = None
    backbone: str | None = None
    error: str | None = None
    settings_errors: list[str] = []  # "VARIABLE: reason", never the value
    telegram: TelegramHealth
    store: StoreHealth = StoreHealth()


async def store_health() -> StoreHealth:
    from bot.config import BotSettings

    try:
        store = process_store(BotSettings().state_dir, StoreSettings())
    except Exception as exc:  # noqa: BLE001 - invalid settings: reported in settings_errors
        return StoreHealth(error=type(exc).__name__)
    problem = await store.check()
    return StoreHealth(backend=store.kind, reachable=problem is None, error=problem)


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(settings: Annotated[WebSettings, Depends(web_settings)]) -> JSONResponse:
    telegram = TelegramHealth(
        token_configured=token_problem() is None,
        secret_configured=settings.secret_problem() is None,
        application_ready=runtime.ready,
    )
    problems = settings_problems()
    store = await store_health() if not problems else StoreHealth()
    try:
        classifier = await run_in_threadpool(get_classifier)
    except ClassifierError as exc:
        logger.error("healthz: the model is not usable: %s", exc)
        health = Health(
            status="error",
            model_loaded=False,
            labels=0,
            error=str(exc),
            settings_errors=problems,
            telegram=telegram,
            store=store,
        )
        return JSONResponse(health.model_dump(), status_code=503)
    card = classifier.card
    health = Health(
        status="error" if problems else "ok",
        model_loaded=True,
        labels=len(classifier.breeds),
        pedigree_breeds=sum(b.pedigree for b in classifier.breeds),
        model_name=card.name,
        model_version=card.version,
        backbone=card.backbone,
        error="invalid settings: " + "; ".join(problems) if problems else None,
        settings_errors=problems,
        telegram=telegram,
        store=store,
    )
    return JSONResponse(health.model_dump(), status_code=503 if problems else 200)
