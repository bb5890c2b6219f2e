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


def look_alikes(top: tuple[BreedGuess, ...]) -> tuple[BreedGuess, ...]:
    """The pedigree breeds of the answer's species among the top guesses, the answer itself
    excluded (a kitten between two toy balls is not "most like a Pekingese")."""
    return tuple(g for g in top[1:] if g.pedigree and g.species == top[0].species)


@dataclass(frozen=True, slots=True)
class Pet:
    """One cat or dog found in the photo, named from a crop around it."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in pixels of the upright photo
    species: Species
    breed: str
    display_name: str
    confidence: float
    confident: bool
    pedigree: bool
    top: tuple[BreedGuess, ...]
    pet_score: float  # the "no cat or dog" gate's score on the crop

    @property
    def look_alikes(self) -> tuple[BreedGuess, ...]:
        return look_alikes(self.top)

    def to_dict(self) -> dict[str, Any]:
        return {
            "box": list(self.box),
            "species": self.species,
            "breed": self.breed,
            "confidence": round(self.confidence, 4),
            "confident": self.confident,
            "top": [guess.to_dict() for guess in self.top],
        }


@dataclass(frozen=True, slots=True)
class Prediction:
    """``is_pet`` False means "no cat or dog here": then breed and species are None.

    ``breed`` may be a non-pedigree outcome (``domestic_cat``, ``mixed_breed_dog``); then
    ``look_alikes`` are the pedigree breeds it resembles most. ``pets`` lists every cat or dog
    found (largest first); the other fields describe the first, the most prominent.
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
    pets: tuple[Pet, ...] = ()
    image_size: tuple[int, int] | None = None  # upright photo (width, height): the boxes' frame

    @classmethod
    def of_pets(cls, pets: tuple[Pet, ...], image_size: tuple[int, int]) -> Prediction:
        """The answer for a photo with these pets (at least one), most prominent first."""
        first = pets[0]
        return cls(
            is_pet=True,
            species=first.species,
            breed=first.breed,
            display_name=first.display_name,
            confidence=first.confidence,
            top=first.top,
            pet_score=first.pet_score,
            confident=first.confident,
            pedigree=first.pedigree,
            pets=pets,
            image_size=image_size,
        )

    @property
    def look_alikes(self) -> tuple[BreedGuess, ...]:
        return look_alikes(self.top)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object of the CLI contract (plus nothing the contract forbids)."""
        return {
            "is_pet": self.is_pet,
            "species": self.species,
            "breed": self.breed,
            "confidence": round(self.confidence, 4),
            "confident": self.confident,
            "top": [guess.to_dict() for guess in self.top],
            "pets": [pet.to_dict() for pet in self.pets],
        }
