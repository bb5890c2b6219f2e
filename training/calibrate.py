"""How sure the model says it is, chosen on photos the head never saw.

Three numbers, each from out-of-sample logits of the calibration photos (the Oxford validation
photos the fine-tuned backbone never saw, and every training photo of the other groups, each
scored by a head fitted without its fold):

- the temperature, by log-loss with every group weighing the same;
- the non-pedigree prior: most cats people photograph are domestic cats and most shelter dogs
  are mixes, more than the class-balanced head assumes. A log-prior added to the two
  non-pedigree labels, the smallest on a grid that names "domestic cat" for at least
  ``DOMESTIC_TARGET`` of the ordinary cats;
- the "sure" threshold: the lowest on a grid that keeps, on the calibration photos, confident
  pedigree answers for ordinary cats and dogs and confident wrong answers for dog photos
  within budgets set below the product's targets (margin for photos unlike ours).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from classifier.head import softmax

DOMESTIC_TARGET = 0.95  # of ordinary cats answered "domestic cat" (calibration photos)
PRIOR_GRID = [round(0.25 * i, 2) for i in range(13)]  # 0 ... 3
THRESHOLD_GRID = [round(0.5 + 0.025 * i, 3) for i in range(19)]  # 0.5 ... 0.95
# Budgets on the calibration photos; the product's targets are 10%, 20% and 15%.
BUDGET_CAT_PEDIGREE = 0.05  # ordinary cats given a confident pedigree
BUDGET_DOG_PEDIGREE = 0.15  # ordinary dogs given a confident pedigree
BUDGET_DOG_WRONG = 0.10  # dog photos (all groups) given a confident wrong answer


@dataclass(frozen=True)
class Sample:
    """Out-of-sample logits of one group's calibration photos, with their labels."""

    group: str
    logits: np.ndarray
    y: np.ndarray


def merged(samples: list[Sample]) -> list[Sample]:
    """One sample per group (folds scored by different heads, pooled)."""
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.group, []).append(s)
    return [
        Sample(
            group, np.concatenate([s.logits for s in parts]), np.concatenate([s.y for s in parts])
        )
        for group, parts in groups.items()
    ]


@dataclass(frozen=True)
class Calibration:
    temperature: float
    non_pedigree_prior: float
    confident_threshold: float


def balanced_log_loss(samples: list[Sample], temperature: float, shift: np.ndarray) -> float:
    losses = []
    for s in samples:
        p = softmax(s.logits / temperature + shift)
        losses.append(-np.mean(np.log(np.clip(p[np.arange(len(s.y)), s.y], 1e-12, 1.0))))
    return float(np.mean(losses))


def fit_temperature(samples: list[Sample], shift: np.ndarray) -> float:
    result = minimize_scalar(
        lambda t: balanced_log_loss(samples, t, shift), bounds=(0.05, 20.0), method="bounded"
    )
    return float(result.x)


def answers(
    samples: list[Sample], temperature: float, shift: np.ndarray
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per group: (predicted label, its probability, true label)."""
    out = {}
    for s in samples:
        p = softmax(s.logits / temperature + shift)
        out[s.group] = (p.argmax(1), p.max(1), s.y)
    return out


def calibrate(
    samples: list[Sample],
    pedigree: np.ndarray,
    species: np.ndarray,
    generic_group: str,
    popularity: np.ndarray,
    log=print,
) -> Calibration:
    """``pedigree``/``species``/``popularity`` (a log-prior, after the temperature): per label.
    ``generic_group``: the ordinary pets' group."""
    samples = [s for s in samples if len(s.y)]  # a smoke run can leave a group empty
    temperature = fit_temperature(samples, popularity)
    log(f"      temperature {temperature:.3f} (balanced log-loss over {len(samples)} groups)")

    def shift_for(prior: float) -> np.ndarray:
        return popularity + np.where(pedigree, 0.0, prior)

    prior = PRIOR_GRID[0]
    for candidate in PRIOR_GRID:
        pred, _, y = answers(samples, temperature, shift_for(candidate)).get(
            generic_group, (np.zeros(0, int), None, np.zeros(0, int))
        )
        cats = species[y] == "cat"
        prior = candidate
        if not cats.any() or (pred[cats] == y[cats]).mean() >= DOMESTIC_TARGET:
            break
    log(f"      non-pedigree log-prior {prior:.2f} (domestic for >= {DOMESTIC_TARGET:.0%} of cats)")

    results = answers(samples, temperature, shift_for(prior))
    threshold = THRESHOLD_GRID[-1]
    for candidate in THRESHOLD_GRID:
        rates = budget_rates(results, pedigree, species, generic_group, candidate)
        if (
            rates["cat_pedigree"] <= BUDGET_CAT_PEDIGREE
            and rates["dog_pedigree"] <= BUDGET_DOG_PEDIGREE
            and rates["dog_wrong"] <= BUDGET_DOG_WRONG
        ):
            threshold = candidate
            break
    rates = budget_rates(results, pedigree, species, generic_group, threshold)
    log(
        f"      sure at >= {threshold:.3f}: confident pedigree for {rates['cat_pedigree']:.1%} "
        f"of ordinary cats, {rates['dog_pedigree']:.1%} of ordinary dogs; confident wrong "
        f"for {rates['dog_wrong']:.1%} of dog photos (calibration photos)"
    )
    return Calibration(temperature, prior, threshold)


def budget_rates(results, pedigree, species, generic_group: str, threshold: float) -> dict:
    empty = (np.zeros(0, int), np.zeros(0), np.zeros(0, int))
    pred, conf, y = results.get(generic_group, empty)
    sure_pedigree = (conf >= threshold) & pedigree[pred]
    cats, dogs = species[y] == "cat", species[y] == "dog"
    dog_sure_wrong = []
    for p, c, t in results.values():
        is_dog = species[t] == "dog"
        dog_sure_wrong.append(((c >= threshold) & (p != t))[is_dog])

    def rate(flags: np.ndarray) -> float:
        return float(flags.mean()) if flags.size else 0.0

    return {
        "cat_pedigree": rate(sure_pedigree[cats]),
        "dog_pedigree": rate(sure_pedigree[dogs]),
        "dog_wrong": rate(np.concatenate(dog_sure_wrong)),
    }
