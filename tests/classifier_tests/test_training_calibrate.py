"""The calibration's rules (training.calibrate) on synthetic out-of-fold logits: a prior per
non-pedigree answer, each by its own rule, and the "sure" threshold by the budgets."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy", reason="training.calibrate needs the `train` extra")

from training import calibrate
from training.calibrate import Sample

# siamese (cat), domestic cat, beagle, husky, malamute (dogs), mixed breed
PEDIGREE = np.array([True, False, True, True, True, False])
SPECIES = np.array(["cat", "cat", "dog", "dog", "dog", "dog"])
DOMESTIC, MIXED = 1, 5


def noisy_logits(rng: np.random.Generator, y: np.ndarray, margin: float) -> np.ndarray:
    """Logits whose true label leads by ``margin`` on average, the rest at random (the other
    species' labels far behind: cat or dog is easy)."""
    logits = rng.normal(0.0, 1.0, (len(y), len(PEDIGREE)))
    logits[np.arange(len(y)), y] += margin
    logits -= 4.0 * (SPECIES[None, :] != SPECIES[y][:, None])
    return logits


def samples(seed: int = 0) -> list[Sample]:
    rng = np.random.default_rng(seed)
    ordinary = np.array([DOMESTIC] * 300 + [MIXED] * 300)
    pedigree_dogs = rng.choice([2, 3, 4], 600)
    cats = np.zeros(200, int)
    return [
        Sample("generic", noisy_logits(rng, ordinary, 1.0), ordinary),
        Sample("stanford", noisy_logits(rng, pedigree_dogs, 2.5), pedigree_dogs),
        Sample("oxford", noisy_logits(rng, cats, 2.5), cats),
    ]


def test_each_non_pedigree_answer_gets_its_own_prior_by_its_own_rule() -> None:
    data = samples()
    popularity = np.zeros(len(PEDIGREE))
    cal = calibrate.calibrate(data, PEDIGREE, SPECIES, "generic", popularity, log=lambda _: None)
    answers = calibrate.answers(data, cal.temperature, cal.log_prior(popularity, PEDIGREE, SPECIES))

    # "domestic cat": the smallest prior naming it for DOMESTIC_TARGET of the ordinary cats.
    pred, _, y = answers["generic"]
    cats = y == DOMESTIC
    assert (pred[cats] == DOMESTIC).mean() >= calibrate.DOMESTIC_TARGET

    # "mixed breed": the largest prior costing the pedigree dogs at most MIXED_COST of top-1.
    def pedigree_dogs_top1(mixed: float) -> float:
        shift = calibrate.non_pedigree_shift(PEDIGREE, SPECIES, cal.domestic_prior, mixed)
        pred, _, y = calibrate.answers(data, cal.temperature, popularity + shift)["stanford"]
        return float((pred == y).mean())

    unshifted = pedigree_dogs_top1(0.0)
    assert unshifted - pedigree_dogs_top1(cal.mixed_prior) <= calibrate.MIXED_COST
    step = calibrate.PRIOR_GRID[1] - calibrate.PRIOR_GRID[0]
    if cal.mixed_prior < calibrate.PRIOR_GRID[-1]:
        assert unshifted - pedigree_dogs_top1(cal.mixed_prior + step) > calibrate.MIXED_COST
    # Cats need more help than dogs here: the two priors differ.
    assert cal.domestic_prior != cal.mixed_prior
    # The shift only touches the non-pedigree labels, each with its own species' prior.
    shift = calibrate.non_pedigree_shift(PEDIGREE, SPECIES, 1.5, 1.0)
    assert shift.tolist() == [0.0, 1.5, 0.0, 0.0, 0.0, 1.0]
    assert 0.5 <= cal.confident_threshold <= 0.95
