"""The upload form: ``GET /breed-classifier`` shows it, ``POST`` (multipart field ``file``) answers.

Server-rendered HTML (Jinja2), no JavaScript needed, usable on a phone.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from classifier.decode import ACCEPTED_FORMATS
from webhook.config import WebSettings
from webhook.deps import web_settings
from webhook.templating import templates
from webhook.uploads import (
    ACCEPT,
    UploadProblem,
    classify_upload,
    human_size,
    load_classifier,
    make_preview,
    read_upload,
)

FORM_PATH = "/breed-classifier"
router = APIRouter(tags=["upload form"])


def render_form(
    request: Request,
    *,
    status_code: int = 200,
    error: str | None = None,
    result: Any = None,
    preview: str | None = None,
    model_version: str | None = None,
) -> HTMLResponse:
    settings = web_settings(request)
    context = {
        "action": request.scope.get("root_path", "") + FORM_PATH,
        "accept": ACCEPT,
        "formats": ACCEPTED_FORMATS,
        "max_upload": human_size(settings.upload_max_bytes),
        "error": error,
        "result": result,
        "preview": preview,
        "model_version": model_version,
        "docs_url": request.scope.get("root_path", "") + "/docs",
    }
    return templates.TemplateResponse(
        request, "breed_classifier.html", context, status_code=status_code
    )


@router.get("/", include_in_schema=False)
async def root() -> Response:
    return RedirectResponse(FORM_PATH, status_code=307)


@router.get(FORM_PATH, response_class=HTMLResponse, name="breed_classifier_form")
async def breed_classifier_form(request: Request) -> HTMLResponse:
    """The upload form."""
    return render_form(request)


@router.post(FORM_PATH, response_class=HTMLResponse, name="breed_classifier_submit")
async def breed_classifier_submit(
    request: Request,
    settings: Annotated[WebSettings, Depends(web_settings)],
    file: Annotated[UploadFile | None, File(description="A photo of a cat or a dog.")] = None,
) -> HTMLResponse:
    """Classify the uploaded photo and show the breed, the confidence and the top 3."""
    try:
        data = await read_upload(file)
        classifier = await load_classifier()
        classified = await classify_upload(classifier, data, top_k=3)
    except UploadProblem as problem:
        return render_form(request, status_code=problem.status_code, error=problem.message)
    except HTTPException as exc:  # the model is unavailable (503)
        return render_form(request, status_code=exc.status_code, error=str(exc.detail))
    preview = await make_preview(data, settings.preview_max_side)
    return render_form(
        request,
        result=classified.prediction,
        preview=preview,
        model_version=classifier.card.version,
    )
