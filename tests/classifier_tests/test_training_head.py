"""The served head is the mean of the calibration fold heads (training.head.mean_of): one
linear head whose logits are the mean of theirs, each with its own standardisation. Needs the
`train` extra (SciPy)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("scipy", reason="training.head needs the `train` extra (make install-train)")

from classifier.head import LinearHead
from training import head


def _random_head(rng: np.random.Generator, d: int, k: int) -> LinearHead:
    return LinearHead(
        rng.normal(size=(d, k)).astype(np.float32),
        rng.normal(size=k).astype(np.float32),
        rng.normal(size=d).astype(np.float32),
        rng.uniform(0.5, 2.0, size=d).astype(np.float32),
    )


def test_mean_of_heads_answers_the_mean_of_their_logits() -> None:
    rng = np.random.default_rng(0)
    heads = [_random_head(rng, 16, 5) for _ in range(4)]
    x = rng.normal(size=(32, 16)).astype(np.float32)
    mean, scale = head.standardiser(x)
    merged = head.mean_of(heads, mean, scale)
    expected = np.mean([h.logits(x) for h in heads], axis=0)
    np.testing.assert_allclose(merged.logits(x), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(merged.mean, mean, rtol=1e-6)


def test_mean_of_fold_heads_fitted_on_overlapping_rows_stays_a_good_head() -> None:
    rng = np.random.default_rng(1)
    centres = rng.normal(scale=3.0, size=(3, 8))
    y = rng.integers(0, 3, size=300)
    x = (centres[y] + rng.normal(size=(300, 8))).astype(np.float32)
    folds = np.arange(300) % 3
    heads = [head.fit_softmax(x[folds != k], y[folds != k], 3, 1.0) for k in range(3)]
    merged = head.mean_of(heads, *head.standardiser(x))
    assert (merged.logits(x).argmax(1) == y).mean() > 0.95
