"""``GET /healthz``: is the model loaded and consistent, how many labels, which version.

It loads the classifier when it is not loaded yet (about 0.2 s once per process, the cost the
first real request would pay anyway), so "ok" means the model really can answer; a missing or
inconsistent model gives 503 with the reason. Telegram configuration is reported as booleans
only, never values.
"""

from __future__ import annotations

import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from classifier import ClassifierError, get_classifier
from webhook.config import WebSettings
from webhook.deps import web_settings
from webhook.telegram_app import runtime, token_problem

logger = logging.getLogger(__name__)
router = APIRouter(tags=["health"])


class TelegramHealth(BaseModel):
    token_configured: bool
    secret_configured: bool
    application_ready: bool  # initialised in this process (after the first webhook call)


class Health(BaseModel):
    status: Literal["ok", "error"]
    model_loaded: bool
    labels: int  # the breed head's labels (the Oxford-IIIT Pet breeds)
    other_dog_breeds: int = 0  # dog breeds answered from the ImageNet head
    model_name: str | None = None
    model_version: str | None = None
    backbone: str | None = None
    error: str | None = None
    telegram: TelegramHealth


@router.get("/healthz", response_model=Health, responses={503: {"model": Health}})
async def healthz(settings: Annotated[WebSettings, Depends(web_settings)]) -> JSONResponse:
    telegram = TelegramHealth(
        token_configured=token_problem() is None,
        secret_configured=settings.secret_problem() is None,
        application_ready=runtime.ready,
    )
    try:
        classifier = await run_in_threadpool(get_classifier)
    except ClassifierError as exc:
        logger.error("healthz: the model is not usable: %s", exc)
        health = Health(
            status="error", model_loaded=False, labels=0, error=str(exc), telegram=telegram
        )
        return JSONResponse(health.model_dump(), status_code=503)
    card = classifier.card
    health = Health(
        status="ok",
        model_loaded=True,
        labels=len(classifier.breeds),
        other_dog_breeds=len(classifier.extra_breeds),
        model_name=card.name,
        model_version=card.version,
        backbone=card.backbone,
        telegram=telegram,
    )
    return JSONResponse(health.model_dump())
