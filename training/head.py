"""Fitting the breed head (``classifier.head.LinearHead``): class-balanced L2 softmax
regression on frozen features, temperature scaling on photos the head never saw, and the
calibration metrics we report.

The solver is L-BFGS over NumPy float32 (SciPy), the loss and its gradient in two matrix
products: one fit over ~40,000 views x 1,280 features x 135 classes took about 3.5 minutes on 2
busy cores. Fitted heads are cached by the pipeline, so reruns skip them.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from classifier.head import LinearHead, softmax

MAX_ITERATIONS = 300


def standardiser(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x.mean(axis=0), x.std(axis=0) + 1e-6


def fit_softmax(
    x: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    c: float,
    *,
    row_weight: np.ndarray | None = None,
) -> LinearHead:
    """Multinomial logistic regression, L2 strength ``1 / c`` (scikit-learn's convention: the
    data term is a weighted sum), classes balanced so each label weighs the same in total."""
    mean, scale = standardiser(x)
    z = ((x - mean) / scale).astype(np.float32)
    n, d = z.shape
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    class_weight = np.where(present, n / (present.sum() * np.maximum(counts, 1)), 0.0)
    weight = class_weight[y] * (row_weight if row_weight is not None else 1.0)
    weight = weight.astype(np.float32)
    onehot = np.zeros((n, n_classes), np.float32)
    onehot[np.arange(n), y] = 1.0

    def loss_and_grad(params: np.ndarray) -> tuple[float, np.ndarray]:
        w = params[: d * n_classes].reshape(d, n_classes).astype(np.float32)
        b = params[d * n_classes :].astype(np.float32)
        logits = z @ w + b
        logits -= logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1, keepdims=True))
        log_p = logits - log_norm
        data = -float((weight * (log_p * onehot).sum(axis=1)).sum())
        residual = (np.exp(log_p) - onehot) * weight[:, None]
        grad_w = z.T @ residual + w / c
        grad_b = residual.sum(axis=0)
        loss = data + 0.5 * float((w.astype(np.float64) ** 2).sum()) / c
        return loss, np.concatenate([grad_w.ravel(), grad_b]).astype(np.float64)

    start = np.zeros(d * n_classes + n_classes)
    result = minimize(
        loss_and_grad,
        start,
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": MAX_ITERATIONS, "maxcor": 20},
    )
    weights = result.x[: d * n_classes].reshape(d, n_classes).astype(np.float32)
    bias = result.x[d * n_classes :].astype(np.float32)
    bias[~present] = -1e3  # a class without training rows is never answered
    return LinearHead(weights, bias, mean.astype(np.float32), scale.astype(np.float32))


def mean_of(heads: list[LinearHead], mean: np.ndarray, scale: np.ndarray) -> LinearHead:
    """One linear head whose logits are the mean of ``heads``' logits (each with its own
    standardisation), standardised by ``mean``/``scale``. Serving the mean of the calibration
    fold heads serves the very heads whose out-of-fold scores chose the temperature and the
    thresholds, where a head refitted on every photo is a little sharper than they were."""
    raw_w = np.mean([h.weights / h.scale[:, None] for h in heads], axis=0)
    raw_b = np.mean([h.bias - (h.mean / h.scale) @ h.weights for h in heads], axis=0)
    return LinearHead(
        (raw_w * scale[:, None]).astype(np.float32),
        (raw_b + mean @ raw_w).astype(np.float32),
        mean.astype(np.float32),
        scale.astype(np.float32),
    )


def match_looks(head: LinearHead, crop: np.ndarray, look: np.ndarray) -> LinearHead:
    """``head`` with a standardiser for the quick look (LinearHead.for_looks): per feature, the
    look features of the training photos (``look``) standardise to the same mean and spread as
    the same photos' crop features (``crop``) do under the head's own standardiser. The look
    sees a close-up at fewer pixels; unmatched, its features read sharper than a crop's
    (ordinary dogs given a sure pedigree: 25% -> 38% on the hold-out), matched, as sure."""
    crop_mean, crop_std = standardiser(crop)
    look_mean, look_std = standardiser(look)
    return replace(
        head,
        look_mean=(look_mean - (crop_mean - head.mean) * look_std / crop_std).astype(np.float32),
        look_scale=(look_std * head.scale / crop_std).astype(np.float32),
    )


def log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    result = minimize_scalar(
        lambda t: log_loss(softmax(logits, t), y), bounds=(0.05, 20.0), method="bounded"
    )
    return float(result.x)


def expected_calibration_error(
    confidence: np.ndarray, correct: np.ndarray, bins: int = 15
) -> float:
    """ECE of stated confidences against whether each answer was right."""
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)
