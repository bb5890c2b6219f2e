"""The classifier's answer: a small, typed, JSON-friendly value."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Species = Literal["cat", "dog"]


@dataclass(frozen=True, slots=True)
class BreedGuess:
    breed: str  # a label of unique_labels.csv
    display_name: str
    species: Species
    confidence: float  # calibrated probability

    def to_dict(self) -> dict[str, Any]:
        return {"breed": self.breed, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class Prediction:
    """``is_pet`` False means "no cat or dog here": then breed and species are None."""

    is_pet: bool
    species: Species | None
    breed: str | None
    display_name: str | None
    confidence: float  # probability of the answer given (the breed, or "no pet")
    top: tuple[BreedGuess, ...] = field(default_factory=tuple)
    pet_score: float = 0.0  # ImageNet probability mass on dog and domestic-cat classes
    confident: bool = False  # the top breed clears the model card's confidence threshold

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the CLI contract (plus nothing the contract forbids)."""
        return {
            "is_pet": self.is_pet,
            "species": self.species,
            "breed": self.breed,
            "confidence": round(self.confidence, 4),
            "top": [guess.to_dict() for guess in self.top],
        }
