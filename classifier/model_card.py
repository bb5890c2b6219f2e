"""Load the model card and refuse model files, labels or checksums that don't match it."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classifier.errors import ModelIntegrityError
from classifier.labels import Breed, load_labels

CARD_FILE = "model_card.json"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    """What the serving code needs from ``model/model_card.json``, already verified."""

    model_dir: Path
    name: str
    version: str
    backbone: str
    input_size: int
    tflite_path: Path
    head_path: Path
    finder_path: Path | None  # the pet finder (classifier.finder); a model without one
    # classifies the centre crop only
    breeds: tuple[Breed, ...]  # the breed head's outputs, in order
    pet_threshold: float
    pet_probe_bar: float  # classifier.imagenet.is_pet; inf for a card without one
    confident_threshold: float
    flip_tta: bool
    metrics: dict[str, Any]
    raw: dict[str, Any]


def load_card(model_dir: Path, labels_path: Path, *, verify_checksums: bool = True) -> ModelCard:
    """Read and cross-check the card, the label file and the model files."""
    card_path = model_dir / CARD_FILE
    try:
        raw = json.loads(card_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelIntegrityError(f"cannot read model card {card_path}: {exc}") from exc

    breeds = load_labels(labels_path)
    card_labels = [(e.get("label"), e.get("pedigree", True)) for e in raw.get("labels", [])]
    if card_labels != [(b.label, b.pedigree) for b in breeds]:
        raise ModelIntegrityError(
            f"labels in {labels_path} do not match the model card ({len(breeds)} vs "
            f"{len(card_labels)} labels, or a different order or pedigree)"
        )

    files: dict[str, dict[str, Any]] = raw.get("files", {})
    for role in ("tflite", "head"):
        if role not in {entry.get("role") for entry in files.values()}:
            raise ModelIntegrityError(f"model card lists no '{role}' file")
    paths: dict[str, Path] = {}
    for name, entry in files.items():
        path = model_dir / name
        if not path.is_file():
            raise ModelIntegrityError(f"model file missing: {path}")
        if verify_checksums and sha256_file(path) != entry.get("sha256"):
            raise ModelIntegrityError(f"checksum mismatch for {path}: refusing to load it")
        paths[entry["role"]] = path

    try:
        return ModelCard(
            model_dir=model_dir,
            name=raw["name"],
            version=raw["version"],
            backbone=raw["backbone"],
            input_size=int(raw["input_size"]),
            tflite_path=paths["tflite"],
            head_path=paths["head"],
            finder_path=paths.get("finder"),
            breeds=breeds,
            pet_threshold=float(raw["pet_gate"]["threshold"]),
            pet_probe_bar=float(raw["pet_gate"].get("probe_bar", math.inf)),
            confident_threshold=float(raw["confident_threshold"]),
            flip_tta=bool(raw.get("flip_tta", False)),
            metrics=raw.get("metrics", {}),
            raw=raw,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelIntegrityError(f"model card {card_path} is incomplete: {exc}") from exc
