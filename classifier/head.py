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

    def logits(self, features: np.ndarray) -> np.ndarray:
        """Uncalibrated logits for (..., D) features."""
        return ((features - self.mean) / self.scale) @ self.weights + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features), self.temperature)

    def with_temperature(self, temperature: float) -> LinearHead:
        return replace(self, temperature=float(temperature))

    @property
    def classes(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def load(cls, path: Path) -> LinearHead:
        with np.load(path) as data:
            return cls(
                weights=data["weights"].astype(np.float32),
                bias=data["bias"].astype(np.float32),
                mean=data["feature_mean"].astype(np.float32),
                scale=data["feature_scale"].astype(np.float32),
                temperature=float(data["temperature"]),
            )

    def save(self, path: Path) -> None:
        np.savez(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            feature_mean=self.mean.astype(np.float32),
            feature_scale=self.scale.astype(np.float32),
            temperature=np.float32(self.temperature),
        )
