"""Which ImageNet-1k classes are dogs and domestic cats (for the "no cat or dog" gate)."""

from __future__ import annotations

import numpy as np

DOG_CLASSES = range(151, 269)  # 151 Chihuahua ... 268 Mexican hairless
DOMESTIC_CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
PET_CLASSES = np.array([*DOG_CLASSES, *DOMESTIC_CAT_CLASSES])


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def pet_mass(imagenet_logits: np.ndarray) -> np.ndarray:
    """Probability mass on dog + domestic cat classes, per row."""
    return softmax(imagenet_logits)[..., PET_CLASSES].sum(axis=-1)
