"""The breed head's maths, in one place for serving and training: standardise the backbone's
pooled features, one linear layer, softmax with a temperature.

Linear on purpose: the head is also applied to every cell of the backbone's feature map (the
pooled features are that map's mean, so the per-cell logits average to the photo's logits):
that is how the classifier finds each pet in a frame.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np


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
    def classes(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path) as data:
            probe = "pet_weights" in data.files
            return cls(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                mean=data["feature_mean"].astype(np.float32),
                scale=data["feature_scale"].astype(np.float32),
                temperature=float(data["temperature"]),
                pet_weights=data["pet_weights"].astype(np.float32) if probe else None,
                pet_bias=float(data["pet_bias"]) if probe else 0.0,
            )

    def save(self, path: Path) -> None:
        probe = {}
        if self.pet_weights is not None:
            probe = {
                "pet_weights": self.pet_weights.astype(np.float32),
                "pet_bias": np.float32(self.pet_bias),
            }
        np.savez(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            feature_mean=self.mean.astype(np.float32),
            feature_scale=self.scale.astype(np.float32),
            temperature=np.float32(self.temperature),
            **probe,
        )
