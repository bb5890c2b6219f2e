"""The "no cat or dog" gate: the ImageNet head's probability mass on dog and domestic-cat
classes, and how its threshold is chosen (training and serving both read this module).
"""

from __future__ import annotations

import numpy as np

from classifier.head import softmax

DOG_CLASSES = range(151, 269)  # 151 Chihuahua ... 268 Mexican hairless
DOMESTIC_CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
PET_CLASSES = np.array([*DOG_CLASSES, *DOMESTIC_CAT_CLASSES])
# The threshold is this quantile of the training pets' scores: about 0.75% of pet photos like
# the training ones are answered "no cat or dog" (target: at most 1%).
PET_REJECT_BUDGET = 0.0075


def pet_mass(imagenet_logits: np.ndarray) -> np.ndarray:
    """Probability mass on dog + domestic cat classes, per row."""
    return softmax(imagenet_logits)[..., PET_CLASSES].sum(axis=-1)


def gate_threshold(training_pet_scores: np.ndarray) -> float:
    """The gate's threshold from the pet scores of the training photos."""
    return float(np.quantile(training_pet_scores, PET_REJECT_BUDGET))
