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


def other_dog_share(probs: np.ndarray, extra_indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For ImageNet probabilities ``probs`` (..., 1000): which of the ``extra_indices`` dog
    classes (breeds the breed head doesn't know) is likeliest, and its share of the pet mass."""
    pets = probs[..., PET_CLASSES].sum(axis=-1)
    shares = probs[..., extra_indices] / np.maximum(pets, 1e-9)[..., None]
    return shares.argmax(axis=-1), shares.max(axis=-1)


def answers_other_dog(share, head_confidence, threshold: float, confident_threshold: float):
    """The rule that answers an ImageNet-only dog breed: that breed takes at least
    ``threshold`` of the pet mass, more than the breed head's own best guess, and the breed
    head is not confident (so a confident answer among the 37 is never overruled)."""
    return (
        (share >= threshold) & (share > head_confidence) & (head_confidence < confident_threshold)
    )
