"""The Jinja2 templates of the web form (``webhook/templates/``), autoescaped.

Confidences go through ``classifier.formatting.percent`` (the ``percent`` filter), the function
the bot and the command line use, so a photo reads the same everywhere.
"""

from __future__ import annotations

from pathlib import Path

from fastapi.templating import Jinja2Templates

from classifier.formatting import percent

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)
templates.env.filters["percent"] = percent
