"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) that work without internet access.

FastAPI's own pages load their JavaScript and CSS from a CDN, so behind a firewall, on a plane
or on a laptop without network the form's "JSON API" link opened a blank page. Here the same
pages (FastAPI's HTML) load the assets from this app instead: the Swagger UI 5 and ReDoc 2
bundles that the pinned ``fastapi-offline`` wheel ships (``fastapi_offline/static``), served
under ``/static/api-docs``. Only the files are used, not its app factory, so the app stays a
plain ``FastAPI`` built by ``webhook.main.create_app``. Nothing on the pages comes from another
host: no Google Fonts, no favicon from fastapi.tiangolo.com, no Swagger validator badge, and a
Content-Security-Policy keeps them to this app (ReDoc's sidebar would otherwise load a
"powered by" logo from its vendor's CDN; it hides itself when the image does not load).
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/static/api-docs"
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")

# Only this app: the pages' inline start-up scripts and styles, ReDoc's search worker (a blob).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)

router = APIRouter(include_in_schema=False)


def _self_contained(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return page


def _urls(request: Request) -> tuple[str, str]:
    """The OpenAPI document's URL and the assets' URL prefix, behind any root path."""
    root = request.scope.get("root_path", "")
    return root + (request.app.openapi_url or "/openapi.json"), root + ASSETS_PATH


@router.get(DOCS_PATH)
async def swagger_ui(request: Request) -> HTMLResponse:
    openapi_url, assets = _urls(request)
    page = get_swagger_ui_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - Swagger UI",
        swagger_js_url=f"{assets}/swagger-ui-bundle.js",
        swagger_css_url=f"{assets}/swagger-ui.css",
        swagger_favicon_url=f"{assets}/favicon.png",
        # validatorUrl None: no badge fetched from validator.swagger.io.
        swagger_ui_parameters={**(request.app.swagger_ui_parameters or {}), "validatorUrl": None},
    )
    return _self_contained(page)


@router.get(REDOC_PATH)
async def redoc(request: Request) -> HTMLResponse:
    openapi_url, assets = _urls(request)
    page = get_redoc_html(
        openapi_url=openapi_url,
        title=f"{request.app.title} - ReDoc",
        redoc_js_url=f"{assets}/redoc.standalone.js",
        redoc_favicon_url=f"{assets}/favicon.png",
        with_google_fonts=False,
    )
    return _self_contained(page)


def install(app: FastAPI) -> None:
    """Serve the docs pages and their assets; the app must be built with ``docs_url=None`` and
    ``redoc_url=None`` so that FastAPI's CDN pages do not answer first."""
    missing = [name for name in ASSET_FILES if not (ASSETS_DIR / name).is_file()]
    if missing:  # a fastapi-offline release that moved its files: fail at start, not on a click
        raise RuntimeError(f"fastapi-offline lacks the API docs assets {missing} in {ASSETS_DIR}")
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="api-docs-assets")
    app.include_router(router)
