"""FastAPI dependencies for the objects the routes share."""

from __future__ import annotations

from fastapi import Request

from webhook.config import WebSettings, get_settings


def web_settings(request: Request) -> WebSettings:
    """The app's own settings when it was built with some, else the process-wide ones."""
    settings = getattr(request.app.state, "settings", None)
    return settings if settings is not None else get_settings()
