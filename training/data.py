"""The labelled photos in ../shared/data, a seeded stratified split, and the training views.

Most Oxford photos here were squashed to 384x384 squares. Real photos are not, so every
squashed training photo is also seen "unsquashed" to 4:3 and 3:4 (one of which is close to the
original), and every view is also flipped. Accuracy on `original` photos is reported apart.
"""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
FIXTURE_ATTRIBUTION = (
    Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "photos" / "ATTRIBUTION.md"
)


@dataclass(frozen=True)
class Photo:
    path: Path
    label: str | None  # None for non-pet photos
    kind: str  # "original", "squashed_square" or "nonpet:<category>"


def load_pets(data_dir: Path) -> list[Photo]:
    with (data_dir / "oxford-pets" / "manifest.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "trainval"]
    return [Photo(data_dir / r["path"], r["label"], r["kind"]) for r in rows]


def load_nonpets(data_dir: Path) -> list[Photo]:
    with (data_dir / "nonpet" / "manifest.csv").open(newline="") as handle:
        return [
            Photo(data_dir / r["path"], None, f"nonpet:{r['category']}")
            for r in csv.DictReader(handle)
        ]


def fixture_sources() -> set[str]:
    """shared/data paths copied into tests/fixtures: they must never be trained on."""
    if not FIXTURE_ATTRIBUTION.exists():
        return set()
    sources = set()
    for line in FIXTURE_ATTRIBUTION.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[3].startswith(("oxford-pets/", "nonpet/")):
            sources.add(cells[3])
    return sources


def split(photos: list[Photo], holdout: float, seed: int) -> tuple[list[Photo], list[Photo]]:
    """Stratified by (breed, kind) so original photos are spread over both sides."""
    pinned = fixture_sources()
    groups: dict[tuple[str | None, str], list[Photo]] = defaultdict(list)
    for photo in photos:
        groups[(photo.label, photo.kind)].append(photo)
    rng = random.Random(seed)
    train, held = [], []
    for key in sorted(groups, key=str):
        members = sorted(groups[key], key=lambda p: p.path.name)
        rng.shuffle(members)
        n_held = round(len(members) * holdout)
        for i, photo in enumerate(members):
            is_fixture = str(photo.path.relative_to(photo.path.parents[2])) in pinned
            (held if i < n_held or is_fixture else train).append(photo)
    return train, held


def views(img: Image.Image, kind: str, *, augment: bool) -> list[Image.Image]:
    """Training views of one photo (augment=True) or just the photo itself."""
    if not augment:
        return [img]
    base = [img]
    if kind == "squashed_square":
        w, h = img.size
        base += [
            img.resize((w * 4 // 3, h), Image.Resampling.BICUBIC),
            img.resize((w, h * 4 // 3), Image.Resampling.BICUBIC),
        ]
    return base
