"""The breed labels the model outputs, read from ``unique_labels.csv``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import ModelIntegrityError


@dataclass(frozen=True, slots=True)
class Breed:
    """One output class: machine label, human name and species."""

    label: str
    display_name: str
    species: str  # "cat" or "dog"


def load_labels(path: Path) -> tuple[Breed, ...]:
    """Read the label file; order is the model's output order."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read labels file {path}: {exc}") from exc
    breeds = []
    for row in rows:
        species = (row.get("species") or "").strip()
        label = (row.get("label") or "").strip()
        if not label or species not in {"cat", "dog"}:
            raise ModelIntegrityError(f"bad row in {path}: {row}")
        breeds.append(Breed(label, (row.get("display_name") or label).strip(), species))
    if len({b.label for b in breeds}) != len(breeds):
        raise ModelIntegrityError(f"duplicate labels in {path}")
    return tuple(breeds)
