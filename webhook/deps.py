"""FastAPI dependencies for the objects the routes share."""

from __future__ import annotations

from fastapi import Request

from bot.dedup import RecentUpdateIds
from webhook.config import WebSettings, get_settings


def web_settings(request: Request) -> WebSettings:
    """The app's own settings when it was built with some, else the process-wide ones."""
    settings = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()


def recent_updates(request: Request) -> RecentUpdateIds:
    """The app's memory of processed update_ids (one per app, so one per Lambda container):
    Telegram re-delivers an update it thinks failed, and a retry usually lands on the warm
    container that saw it; across containers a duplicate stays possible, but rare."""
    return request.app.state.recent_updates
