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


def test_the_look_standardiser_reads_looks_like_the_crops() -> None:
    # The same photos seen by the quick look: sharper (scaled) and shifted features.
    rng = np.random.default_rng(1)
    crop = rng.normal(2.0, 3.0, size=(500, 16))
    look = crop * 1.7 - 0.5 + rng.normal(0, 0.01, size=crop.shape)
    fitted = LinearHead(
        rng.normal(size=(16, 5)).astype(np.float32),
        np.zeros(5, np.float32),
        np.full(16, 1.0, np.float32),
        np.full(16, 2.0, np.float32),
    )
    matched = head.match_looks(fitted, crop, look)
    as_crops = (crop - fitted.mean) / fitted.scale
    as_looks = (look - matched.look_mean) / matched.look_scale
    np.testing.assert_allclose(as_looks.mean(0), as_crops.mean(0), atol=1e-3)
    np.testing.assert_allclose(as_looks.std(0), as_crops.std(0), rtol=1e-3)
    np.testing.assert_allclose(matched.for_looks().logits(look), fitted.logits(crop), atol=0.05)
