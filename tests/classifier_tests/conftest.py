"""Fixtures for the classifier tests: the real model and real photos, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Classifier, get_classifier

PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "photos"
PET_PHOTOS = sorted(p for p in PHOTOS.glob("*.jpg") if p.name.startswith(("cat_", "dog_")))
NONPET_PHOTOS = sorted(PHOTOS.glob("nonpet_*.jpg"))


def _attributed_labels() -> dict[str, str]:
    """fixture file -> label, from the tables of ATTRIBUTION.md (the one place that says what
    each test photo shows)."""
    labels = {}
    for line in (PHOTOS / "ATTRIBUTION.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[1].endswith(".jpg") and not cells[2].startswith("("):
            labels[cells[1]] = cells[2].split()[0]
    return labels


LABELS = _attributed_labels()


def expected_label(path: Path) -> tuple[str, str]:
    """``cat_domestic_tabby.jpg`` -> ("cat", "domestic_cat"): species from the file name, label
    from ATTRIBUTION.md."""
    return path.stem.partition("_")[0], LABELS[path.name]


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return get_classifier()
