"""The labels the model answers, read from ``unique_labels.csv``, in the breed head's order.

Every label was trained on labelled photos: the 37 Oxford-IIIT Pet breeds, 96 more dog breeds
(Stanford Dogs), and two outcomes that are not breeds (``pedigree`` = ``no``): a domestic cat
of no particular breed and a mixed-breed dog, trained on ordinary shelter photos. Most cats
people photograph are domestic cats and most shelter dogs are mixes, so these two are answers
in their own right, not failures.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from classifier.errors import ModelIntegrityError

DOMESTIC_CAT = "domestic_cat"
MIXED_BREED_DOG = "mixed_breed_dog"
NON_PEDIGREE = (DOMESTIC_CAT, MIXED_BREED_DOG)
SOURCES = ("oxford-iiit-pet", "stanford-dogs", "kaggle-dogs-vs-cats")
COLUMNS = ("label", "display_name", "species", "source", "imagenet_index", "pedigree")


@dataclass(frozen=True, slots=True)
class Breed:
    """One answer the classifier can give: machine label, human name and species."""

    label: str
    display_name: str
    species: str  # "cat" or "dog"
    source: str = SOURCES[0]  # the labelled photos it was trained on
    imagenet_index: int | None = None  # the matching ImageNet-1k class, when there is one
    pedigree: bool = True  # False for the domestic cat / mixed-breed dog outcomes


def load_labels(path: Path) -> tuple[Breed, ...]:
    """Read the label file: every label, in the breed head's output order."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            rows = list(reader)
            columns = tuple(reader.fieldnames or ())
    except OSError as exc:
        raise ModelIntegrityError(f"cannot read labels file {path}: {exc}") from exc
    if columns != COLUMNS:
        raise ModelIntegrityError(f"{path} must have the columns {', '.join(COLUMNS)}")
    breeds = []
    for row in rows:
        label, species = row["label"].strip(), row["species"].strip()
        source, index = row["source"].strip(), row["imagenet_index"].strip()
        pedigree = row["pedigree"].strip()
        if (
            not label
            or species not in {"cat", "dog"}
            or source not in SOURCES
            or pedigree not in {"yes", "no"}
            or (index and not index.isdigit())
            or (pedigree == "no") != (label in NON_PEDIGREE)
        ):
            raise ModelIntegrityError(f"bad row in {path}: {row}")
        display = row["display_name"].strip() or label
        breeds.append(
            Breed(label, display, species, source, int(index) if index else None, pedigree == "yes")
        )
    if len({b.label for b in breeds}) != len(breeds):
        raise ModelIntegrityError(f"duplicate labels in {path}")
    return tuple(breeds)
