"""``POST /api/classify``: a multipart image (field ``file``) in, the classifier's answer as JSON.

The answer has the fields of the classifier CLI's JSON objects (``is_pet``, ``species``,
``breed``, ``confidence``, ``top`` of ``{breed, confidence}``), with the same rounding, plus a
few extra keys (display names, ``confident``, the sniffed format, the model version).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Query, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from classifier import Classifier
from classifier.decode import ACCEPTED_FORMATS
from classifier.formatting import percent
from webhook.uploads import UploadProblem, classify_upload, load_classifier, read_upload

CLASSIFY_PATH = "/api/classify"
router = APIRouter(tags=["JSON API"])

Species = Literal["cat", "dog"]


class BreedGuessOut(BaseModel):
    breed: str = Field(description="Label from unique_labels.csv.", examples=["beagle"])
    confidence: float = Field(ge=0, le=1, description="Calibrated probability, 4 decimals.")
    display_name: str = Field(examples=["Beagle"])
    species: Species
    pedigree: bool = Field(
        description="False for the non-breed answers domestic_cat and mixed_breed_dog."
    )


class PetOut(BaseModel):
    box: list[int] = Field(
        min_length=4,
        max_length=4,
        description="x0, y0, x1, y1 in pixels of the upright (EXIF-rotated) photo.",
        examples=[[40, 120, 610, 700]],
    )
    species: Species
    breed: str = Field(examples=["beagle"])
    confidence: float = Field(ge=0, le=1)
    confident: bool
    top: list[BreedGuessOut]


class ClassifyResponse(BaseModel):
    is_pet: bool = Field(description="False: no cat or dog in the image (breed is then null).")
    species: Species | None
    breed: str | None = Field(examples=["beagle"])
    confidence: float = Field(
        ge=0,
        le=1,
        description="Probability of the answer given: the breed, or 'no pet'. The form and the "
        f"bot show it as a whole percentage that never claims certainty: 0.923 is "
        f"{percent(0.923)}, 0.9996 is {percent(0.9996)}, 0.004 is {percent(0.004)}.",
    )
    top: list[BreedGuessOut] = Field(description="Best guesses, most likely first.")
    display_name: str | None = Field(default=None, examples=["Beagle"])
    confident: bool = Field(
        description="The model states the answer as sure (its calibrated threshold); the bot and "
        "the form word the answer by it."
    )
    pedigree: bool | None = Field(
        default=None,
        description="False when the answer is domestic_cat or mixed_breed_dog; null for no pet.",
    )
    pets: list[PetOut] = Field(
        description="Every cat or dog found (up to 4), largest first; the fields above describe "
        "the first. Empty when there is no pet."
    )
    image_width: int | None = Field(default=None, description="Upright photo, pixels.")
    image_height: int | None = Field(default=None, description="Upright photo, pixels.")
    image_format: str | None = Field(description="Format sniffed from the content, e.g. JPEG.")
    model_version: str


class Problem(BaseModel):
    detail: str = Field(description="What went wrong, in a sentence safe to show a user.")


def _problem(description: str) -> dict[str, object]:
    return {"model": Problem, "description": description}


@router.post(
    CLASSIFY_PATH,
    response_model=ClassifyResponse,
    summary="Classify a photo of a cat or a dog",
    responses={
        400: _problem("No file, or an empty file."),
        413: _problem("The upload is larger than the limit."),
        415: _problem("The file is not an image (type sniffed from the content)."),
        422: {
            "description": "An image that cannot be used (damaged, too many pixels), "
            "or a request without a `file` field."
        },
        503: _problem("The model is not available."),
    },
)
async def classify(
    file: Annotated[UploadFile, File(description=f"The image: {ACCEPTED_FORMATS}.")],
    classifier: Annotated[Classifier, Depends(load_classifier)],
    top_k: Annotated[int, Query(ge=1, le=10, description="How many guesses in `top`.")] = 3,
) -> ClassifyResponse | JSONResponse:
    try:
        data = await read_upload(file)
        classified = await classify_upload(classifier, data, top_k=top_k)
    except UploadProblem as problem:
        return JSONResponse({"detail": problem.message}, status_code=problem.status_code)
    prediction = classified.prediction
    body = prediction.to_dict()
    guesses = list(zip(body["top"], prediction.top, strict=True))
    for pet_entry, pet in zip(body["pets"], prediction.pets, strict=True):
        guesses += zip(pet_entry["top"], pet.top, strict=True)
    for entry, guess in guesses:
        entry.update(
            display_name=guess.display_name, species=guess.species, pedigree=guess.pedigree
        )
    body.update(
        display_name=prediction.display_name,
        pedigree=prediction.pedigree if prediction.is_pet else None,
        image_width=prediction.image_size[0] if prediction.image_size else None,
        image_height=prediction.image_size[1] if prediction.image_size else None,
        image_format=classified.image_format,
        model_version=classifier.card.version,
    )
    return ClassifyResponse.model_validate(body)
