"""The breed head's maths, in one place for serving and training: standardise the backbone's
pooled features, one linear layer, softmax with a temperature.

Linear on purpose: the head is also applied to every cell of the backbone's feature map (the
pooled features are that map's mean, so the per-cell logits average to the photo's logits):
that is how the classifier finds each pet in a frame.

A close-up read off the quick look: the quick look at the whole photo (which the pet finder
reads anyway), its feature map pooled over the centre crop (classifier.locate.region_features),
costs no pass of its own. The look sees the crop at fewer pixels and with the scene around it,
so its features are standardised by a standardiser of their own, matched to the crop's on the
same training photos (per feature, the same mean and spread). It may answer alone only with a
humble answer: in phone-like scenes the look leans to pedigrees (docs/model.md, model 3.4).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

# The quick look answers a close-up alone only when it is at least this sure of a
# non-pedigree answer (domestic cat, mixed breed) and the gate sees a pet in it; every other
# close-up gets its centre crop's pass, and the crop's answer. Read alone, the look named
# ordinary pets in phone-like scenes a pedigree, stated as sure, twice as often as the crop
# (docs/model.md, model 3.4); with its humble answers, no hold-out figure moved.
LOOK_ALONE = 0.9


def look_alone(
    look_probabilities: np.ndarray, look_sees_pet: np.ndarray, pedigree: np.ndarray
) -> np.ndarray:
    """Close-ups the quick look answers by itself: sure of a non-pedigree answer, and a pet by
    the gate. ``pedigree``: per label, whether it is a pedigree breed."""
    probs = np.asarray(look_probabilities)
    humble = ~np.asarray(pedigree, bool)[np.argmax(probs, axis=-1)]
    return (np.max(probs, axis=-1) >= LOOK_ALONE) & humble & np.asarray(look_sees_pet)


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class LinearHead:
    weights: np.ndarray  # (D, K)
    bias: np.ndarray  # (K,)
    mean: np.ndarray  # (D,) feature standardisation
    scale: np.ndarray  # (D,)
    temperature: float = 1.0  # fitted on photos the head never saw
    # The pet probe: a linear "cat or dog vs anything else" over the same standardised
    # features; per feature-map cell it says where the pets are (classifier.locate).
    pet_weights: np.ndarray | None = None  # (D,)
    pet_bias: float = 0.0
    # The quick look's own standardiser (models from 3.4 on): its pooled features read like a
    # crop's once standardised by these.
    look_mean: np.ndarray | None = None  # (D,)
    look_scale: np.ndarray | None = None  # (D,)

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Uncalibrated logits for (..., D) features."""
        return ((features - self.mean) / self.scale) @ self.weights + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features), self.temperature)

    def pet_logit(self, features: np.ndarray) -> np.ndarray:
        """The probe's logit for (..., D) features (0 without a probe)."""
        if self.pet_weights is None:
            return np.zeros(features.shape[:-1], np.float32)
        return ((features - self.mean) / self.scale) @ self.pet_weights + self.pet_bias

    def with_temperature(self, temperature: float) -> LinearHead:
        return replace(self, temperature=float(temperature))

    @property
    def reads_looks(self) -> bool:
        return self.look_mean is not None and self.look_scale is not None

    def for_looks(self) -> LinearHead:
        """The same head over the quick look's pooled features (its own standardiser)."""
        if self.look_mean is None or self.look_scale is None:
            raise ValueError("this head has no standardiser for the quick look")
        return replace(self, mean=self.look_mean, scale=self.look_scale)

    def close_up_probabilities(
        self, look: np.ndarray, crop: np.ndarray, alone: np.ndarray
    ) -> np.ndarray:
        """Calibrated probabilities of (..., D) close-ups: the quick look's where it answers
        ``alone`` (look_alone), the centre crop's elsewhere."""
        return np.where(
            np.asarray(alone)[..., None],
            self.for_looks().probabilities(look),
            self.probabilities(crop),
        )

    @property
    def classes(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path) as data:
            probe = "pet_weights" in data.files
            looks = "look_mean" in data.files
            return cls(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                mean=data["feature_mean"].astype(np.float32),
                scale=data["feature_scale"].astype(np.float32),
                temperature=float(data["temperature"]),
                pet_weights=data["pet_weights"].astype(np.float32) if probe else None,
                pet_bias=float(data["pet_bias"]) if probe else 0.0,
                look_mean=data["look_mean"].astype(np.float32) if looks else None,
                look_scale=data["look_scale"].astype(np.float32) if looks else None,
            )

    def save(self, path: Path) -> None:
        extra = {}
        if self.pet_weights is not None:
            extra = {
                "pet_weights": self.pet_weights.astype(np.float32),
                "pet_bias": np.float32(self.pet_bias),
            }
        if self.look_mean is not None and self.look_scale is not None:
            extra |= {
                "look_mean": self.look_mean.astype(np.float32),
                "look_scale": self.look_scale.astype(np.float32),
            }
        np.savez(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            feature_mean=self.mean.astype(np.float32),
            feature_scale=self.scale.astype(np.float32),
            temperature=np.float32(self.temperature),
            **extra,
        )
