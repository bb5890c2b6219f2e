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
    pedigree: bool = True  # False for "domestic cat" / "mixed-breed dog"

    def to_dict(self) -> dict[str, Any]:
        return {"breed": self.breed, "confidence": round(self.confidence, 4)}


@dataclass(frozen=True, slots=True)
class Prediction:
    """``is_pet`` False means "no cat or dog here": then breed and species are None.

    ``breed`` may be a non-pedigree outcome (``domestic_cat``, ``mixed_breed_dog``); then
    ``look_alikes`` are the pedigree breeds it resembles most.
    """

    is_pet: bool
    species: Species | None
    breed: str | None
    display_name: str | None
    confidence: float  # probability of the answer given (the breed, or "no pet")
    top: tuple[BreedGuess, ...] = field(default_factory=tuple)
    pet_score: float = 0.0  # ImageNet probability mass on dog and domestic-cat classes
    confident: bool = False  # the model states the answer as sure (model card's threshold)
    pedigree: bool = True  # False when the answer is "domestic cat" / "mixed-breed dog"

    @property
    def look_alikes(self) -> tuple[BreedGuess, ...]:
        """The pedigree breeds among the top guesses, the answer itself excluded."""
        return tuple(g for g in self.top[1:] if g.pedigree)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the CLI contract (plus nothing the contract forbids)."""
        return {
            "is_pet": self.is_pet,
            "species": self.species,
            "breed": self.breed,
            "confidence": round(self.confidence, 4),
            "confident": self.confident,
            "top": [guess.to_dict() for guess in self.top],
        }
