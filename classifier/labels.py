"""The breed labels the model outputs, read from ``unique_labels.csv``.

Two sources share the file: the 37 Oxford-IIIT Pet breeds of the trained breed head (first, in
the head's output order), then the dog breeds that only the ImageNet head knows (German
shepherd, Labrador retriever, poodles...), each with its ImageNet class index.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import ModelIntegrityError

HEAD_SOURCE = "oxford-iiit-pet"
IMAGENET_SOURCE = "imagenet"


@dataclass(frozen=True, slots=True)
class Breed:
    """One answer the classifier can give: machine label, human name and species."""

    label: str
    display_name: str
    species: str  # "cat" or "dog"
    source: str = HEAD_SOURCE
    imagenet_index: int | None = None  # the matching ImageNet-1k class, when there is one


def load_labels(path: Path) -> tuple[Breed, ...]:
    """Read the label file: every label, the breed head's first and in its output order."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read labels file {path}: {exc}") from exc
    breeds = []
    for row in rows:
        species = (row.get("species") or "").strip()
        label = (row.get("label") or "").strip()
        source = (row.get("source") or HEAD_SOURCE).strip()
        index = (row.get("imagenet_index") or "").strip()
        known_source = source in {HEAD_SOURCE, IMAGENET_SOURCE}
        if not label or species not in {"cat", "dog"} or not known_source:
            raise ModelIntegrityError(f"bad row in {path}: {row}")
        if source == IMAGENET_SOURCE and not index.isdigit():
            raise ModelIntegrityError(f"ImageNet breed without a class index in {path}: {row}")
        display = (row.get("display_name") or label).strip()
        breeds.append(Breed(label, display, species, source, int(index) if index else None))
    if len({b.label for b in breeds}) != len(breeds):
        raise ModelIntegrityError(f"duplicate labels in {path}")
    return tuple(breeds)


def split_sources(breeds: tuple[Breed, ...]) -> tuple[tuple[Breed, ...], tuple[Breed, ...]]:
    """(the breed head's labels, the ImageNet-only dog breeds)."""
    head = tuple(b for b in breeds if b.source == HEAD_SOURCE)
    extra = tuple(b for b in breeds if b.source == IMAGENET_SOURCE)
    return head, extra
