"""The breed head: class-balanced L2 logistic regression on frozen features, then temperature
scaling fitted on out-of-fold predictions, and the calibration metrics we report."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold

from classifier.imagenet import softmax


@dataclass
class Head:
    weights: np.ndarray  # (D, K)
    bias: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    temperature: float
    c: float

    def logits(self, features: np.ndarray) -> np.ndarray:
        return ((features - self.mean) / self.scale) @ self.weights + self.bias

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        return softmax(self.logits(features), self.temperature)

    def save(self, path) -> None:
        np.savez(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias.astype(np.float32),
            feature_mean=self.mean.astype(np.float32),
            feature_scale=self.scale.astype(np.float32),
            temperature=np.float32(self.temperature),
        )


def fit_logreg(x: np.ndarray, y: np.ndarray, c: float, n_classes: int, seed: int) -> Head:
    mean = x.mean(axis=0)
    scale = x.std(axis=0) + 1e-6
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=300, random_state=seed)
    model.fit((x - mean) / scale, y)
    weights = np.zeros((x.shape[1], n_classes), np.float32)
    bias = np.full(n_classes, -1e3, np.float32)
    weights[:, model.classes_] = model.coef_.T
    bias[model.classes_] = model.intercept_
    return Head(weights, bias, mean, scale, 1.0, c)


def log_loss(probs: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(y)), y], 1e-12, 1.0))))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    result = minimize_scalar(
        lambda t: log_loss(softmax(logits, t), y), bounds=(0.05, 20.0), method="bounded"
    )
    return float(result.x)


def expected_calibration_error(probs: np.ndarray, y: np.ndarray, bins: int = 15) -> float:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == y
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (confidence > lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def cross_validate(
    x: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    eval_mask: np.ndarray,
    c_grid: list[float],
    n_classes: int,
    seed: int,
    folds: int = 3,
    log=print,
) -> tuple[float, np.ndarray]:
    """Choose C by out-of-fold log-loss (views of one photo stay in one fold; the loss is read
    on ``eval_mask`` rows, the un-augmented views). Returns (C, out-of-fold logits for C)."""
    splitter = GroupKFold(n_splits=folds)

    def out_of_fold(c: float) -> np.ndarray:
        oof = np.zeros((len(y), n_classes), np.float32)
        for train_idx, test_idx in splitter.split(x, y, groups):
            head = fit_logreg(x[train_idx], y[train_idx], c, n_classes, seed)
            oof[test_idx] = head.logits(x[test_idx])
        return oof

    return _pick_c(c_grid, out_of_fold, y, eval_mask, "out-of-fold", log)


def validate(
    x: np.ndarray,
    y: np.ndarray,
    is_val: np.ndarray,
    eval_mask: np.ndarray,
    c_grid: list[float],
    n_classes: int,
    seed: int,
    log=print,
) -> tuple[float, np.ndarray]:
    """Choose C by log-loss on a validation part (``is_val`` rows) after training on the rest.

    For a fine-tuned backbone: it has seen the other training photos, so their out-of-fold
    logits would be overconfident; the validation photos are the only honest ones. Returns
    (C, logits for C, filled on the validation rows only)."""

    def held_back(c: float) -> np.ndarray:
        logits = np.zeros((len(y), n_classes), np.float32)
        head = fit_logreg(x[~is_val], y[~is_val], c, n_classes, seed)
        logits[is_val] = head.logits(x[is_val])
        return logits

    return _pick_c(c_grid, held_back, y, eval_mask & is_val, "validation", log)


def _pick_c(
    c_grid: list[float], logits_for, y: np.ndarray, rows: np.ndarray, what: str, log
) -> tuple[float, np.ndarray]:
    """The C whose out-of-sample logits (read on ``rows``) have the lowest log-loss after
    temperature scaling, with those logits."""
    best: tuple[float, float, np.ndarray] | None = None
    for c in c_grid:
        logits = logits_for(c)
        t = fit_temperature(logits[rows], y[rows])
        loss = log_loss(softmax(logits[rows], t), y[rows])
        acc = float((logits[rows].argmax(1) == y[rows]).mean())
        log(f"  C={c:g}: {what} log-loss {loss:.4f} (T={t:.2f}), top-1 {acc:.4f}")
        if best is None or loss < best[0]:
            best = (loss, c, logits)
    assert best is not None
    _, c, logits = best
    return c, logits
