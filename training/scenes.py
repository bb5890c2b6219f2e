"""Phone-like test scenes: real pet photos placed off centre, small, in portrait or landscape
frames, alone or two side by side, inside real non-pet scenes (docs/model.md, "Finding the
pets"). Deterministic for a seed; nothing is downloaded.

A pet photo is pasted whole (no masks exist for these photos), with feathered edges so the
frame has no hard seam, at a given height fraction of the frame and a given place.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter

LANDSCAPE = (1280, 720)  # Telegram's largest photo size for a 16:9 phone photo
PORTRAIT = (720, 1280)


@dataclass(frozen=True)
class Placed:
    """Where a pet photo went: its box in the scene's pixels."""

    box: tuple[int, int, int, int]
    label: str


def cover(scene: Image.Image, size: tuple[int, int]) -> Image.Image:
    """The scene scaled to fill ``size`` and centre-cropped (like a phone's viewfinder)."""
    scale = max(size[0] / scene.width, size[1] / scene.height)
    resized = scene.resize(
        (max(size[0], round(scene.width * scale)), max(size[1], round(scene.height * scale))),
        Image.Resampling.BICUBIC,
    )
    left = (resized.width - size[0]) // 2
    top = (resized.height - size[1]) // 2
    return resized.crop((left, top, left + size[0], top + size[1]))


def _feathered(pet: Image.Image) -> Image.Image:
    mask = Image.new("L", pet.size, 0)
    border = max(2, min(pet.size) // 14)
    ImageDraw.Draw(mask).rectangle(
        (border, border, pet.width - border, pet.height - border), fill=255
    )
    return mask.filter(ImageFilter.GaussianBlur(border / 2))


def place(
    frame: Image.Image, pet: Image.Image, height_fraction: float, x_centre: float, y_centre: float
) -> tuple[int, int, int, int]:
    """Paste ``pet`` at ``height_fraction`` of the frame height, centred at the given fractions
    of the frame (kept inside it). Returns its box."""
    h = round(frame.height * height_fraction)
    w = round(pet.width * h / pet.height)
    if w > frame.width:
        w = frame.width
        h = round(pet.height * w / pet.width)
    resized = pet.resize((w, h), Image.Resampling.LANCZOS)
    x0 = min(max(0, round(frame.width * x_centre - w / 2)), frame.width - w)
    y0 = min(max(0, round(frame.height * y_centre - h / 2)), frame.height - h)
    frame.paste(resized, (x0, y0), _feathered(resized))
    return x0, y0, x0 + w, y0 + h


def scene_with(
    scene: Image.Image,
    pets: list[tuple[Image.Image, str]],
    size: tuple[int, int],
    height_fraction: float,
    positions: list[tuple[float, float]],
) -> tuple[Image.Image, list[Placed]]:
    frame = cover(scene.convert("RGB"), size)
    placed = []
    for (pet, label), (x, y) in zip(pets, positions, strict=True):
        placed.append(Placed(place(frame, pet.convert("RGB"), height_fraction, x, y), label))
    return frame, placed


# The kinds of photo the issue describes, as (frame size, pet height fraction, positions).
KINDS = {
    "half-height, left edge": (LANDSCAPE, 1 / 2, [(0.0, 0.55)]),
    "half-height, right edge": (LANDSCAPE, 1 / 2, [(1.0, 0.5)]),
    "third-height, left edge": (LANDSCAPE, 1 / 3, [(0.0, 0.6)]),
    "third-height, right edge": (LANDSCAPE, 1 / 3, [(1.0, 0.4)]),
    "third-height, centred": (LANDSCAPE, 1 / 3, [(0.5, 0.5)]),
    "portrait, third-height, low": (PORTRAIT, 1 / 3, [(0.5, 0.75)]),
    "two pets side by side": (LANDSCAPE, 1 / 2, [(0.25, 0.55), (0.75, 0.5)]),
}


def jitter(rng: random.Random, positions: list[tuple[float, float]]) -> list[tuple[float, float]]:
    return [(x + rng.uniform(-0.05, 0.05), y + rng.uniform(-0.1, 0.1)) for x, y in positions]
