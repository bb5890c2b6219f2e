"""The "no cat or dog" gate: the ImageNet head's probability mass on dog and domestic-cat
classes, a second opinion from the pet probe, and how both bars are chosen (training and
serving both read this module).

Why a second opinion: ImageNet has no "cat" class for a Bengal or an Abyssinian, nor for a cat
photographed in a cage or a dog half out of the frame, so some real pets score little mass on
its cat and dog classes (1.2% of the ordinary pets' hold-out fell below the threshold). The pet
probe was trained on exactly those pets against non-pet photos; a photo it is surer of than of
any non-pet photo it never saw is a pet, whatever ImageNet says.
"""

from __future__ import annotations

import math

import numpy as np

from classifier.head import softmax

DOG_CLASSES = range(151, 269)  # 151 Chihuahua ... 268 Mexican hairless
DOMESTIC_CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
PET_CLASSES = np.array([*DOG_CLASSES, *DOMESTIC_CAT_CLASSES])
# The threshold is this quantile of the training pets' scores: about 0.75% of pet photos like
# the training ones are answered "no cat or dog" (target: at most 1%).
PET_REJECT_BUDGET = 0.0075
# The probe's bar: this much above the surest of the non-pet photos scored by a probe fitted
# without them (out of fold), rounded up to a half.
PROBE_MARGIN = 1.0
PROBE_FOLDS = 5
# A crop zoomed in on a pet the finder saw passes with less ImageNet mass when the probe is
# sure of it: a small cat blown up to the model's size spreads its mass beyond ImageNet's five
# cat classes (tuning scenes: 25 of the 27 pets' crops the photo's gate turned away were named
# right, most of them cats at 0.12-0.19 of mass with the probe at 2.4-10.9). The probe alone is
# no proof on a zoomed crop (a geyser's scored 5.8, with 0.12 of mass), so both must hold.
ZOOMED_MASS_SHARE = 0.7  # of the photo's threshold
ZOOMED_PROBE_BAR = 2.5


def pet_mass(imagenet_logits: np.ndarray) -> np.ndarray:
    """Probability mass on dog + domestic cat classes, per row."""
    return softmax(imagenet_logits)[..., PET_CLASSES].sum(axis=-1)


def gate_threshold(training_pet_scores: np.ndarray) -> float:
    """The gate's threshold from the pet scores of the training photos."""
    return float(np.quantile(training_pet_scores, PET_REJECT_BUDGET))


def is_pet(mass: np.ndarray, probe: np.ndarray, threshold: float, probe_bar: float) -> np.ndarray:
    """The gate: enough ImageNet pet mass, or a pet probe past its bar."""
    return (np.asarray(mass) >= threshold) | (np.asarray(probe) >= probe_bar)


def is_pet_crop(mass: np.ndarray, probe: np.ndarray, threshold: float) -> np.ndarray:
    """The gate for a crop zoomed in on where the finder saw a pet, which looks for a pet harder
    than a whole photo does: the photo's mass with the probe agreeing, or most of that mass with
    the probe sure (the probe's whole-photo bar holds for whole photos only, where it was set)."""
    mass, probe = np.asarray(mass), np.asarray(probe)
    agreed = (mass >= threshold) & (probe > 0)
    return agreed | ((mass >= ZOOMED_MASS_SHARE * threshold) & (probe >= ZOOMED_PROBE_BAR))


def probe_bar(out_of_fold_nonpet_probe: np.ndarray) -> float:
    """The probe's bar from the out-of-fold probe logits of the non-pet photos."""
    return math.ceil((float(np.max(out_of_fold_nonpet_probe)) + PROBE_MARGIN) * 2) / 2
