"""The Jinja2 templates of the web form (``webhook/templates/``), autoescaped."""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)


def percent(probability: float) -> str:
    """0.923 -> '92%'; never claims 0% or 100% for a calibrated probability (as the bot says)."""
    value = max(0.0, min(1.0, float(probability))) * 100
    if value < 1:
        return "<1%"
    if value > 99:
        return ">99%"
    return f"{value:.0f}%"


templates.env.filters["percent"] = percent
