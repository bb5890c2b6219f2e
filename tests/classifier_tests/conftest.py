"""Fixtures for the classifier tests: the real model and real photos, no network."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier import Classifier, get_classifier

PHOTOS = Path(__file__).resolve().parent.parent / "fixtures" / "photos"
PET_PHOTOS = sorted(p for p in PHOTOS.glob("*.jpg") if p.name.startswith(("cat_", "dog_")))
NONPET_PHOTOS = sorted(PHOTOS.glob("nonpet_*.jpg"))


def expected_label(path: Path) -> tuple[str, str]:
    """``cat_british_shorthair.jpg`` -> ("cat", "british_shorthair")."""
    species, _, label = path.stem.partition("_")
    return species, label


@pytest.fixture(scope="session")
def classifier() -> Classifier:
    return get_classifier()
