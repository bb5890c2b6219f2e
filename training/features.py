"""Extract backbone features and ImageNet logits with the exported LiteRT model itself, so the
head is trained on exactly what serving computes (same decode, preprocessing and int8 model)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from classifier.decode import decode_image
from classifier.preprocess import to_model_input
from classifier.runtime import LiteRTBackbone
from training.data import Photo, views


@dataclass
class FeatureSet:
    """Rows are views; ``photo`` maps a row to its photo, ``asis``/``flip`` mark the plain view
    and its mirror (the rows serving computes with flip TTA)."""

    features: np.ndarray
    logits: np.ndarray
    photo: np.ndarray
    asis: np.ndarray
    flip: np.ndarray
    photos: list[Photo] = field(default_factory=list)

    def tta(self) -> tuple[np.ndarray, np.ndarray]:
        """Per photo: mean of the plain view and its mirror (features, logits)."""
        a, f = np.flatnonzero(self.asis), np.flatnonzero(self.flip)
        return (self.features[a] + self.features[f]) / 2, (self.logits[a] + self.logits[f]) / 2

    def single(self) -> tuple[np.ndarray, np.ndarray]:
        a = np.flatnonzero(self.asis)
        return self.features[a], self.logits[a]


def extract(
    backbone: LiteRTBackbone, photos: list[Photo], *, augment: bool, log=print
) -> FeatureSet:
    size = backbone.input_size
    short = round(size * 256 / 224)
    feats, logits, owner, asis, flip = [], [], [], [], []
    start = time.perf_counter()
    for i, photo in enumerate(photos):
        img = decode_image(photo.path.read_bytes(), min_side=short)
        for v, view in enumerate(views(img, photo.kind, augment=augment)):
            pixels = to_model_input(view, size)
            out = backbone.run(np.stack([pixels, pixels[:, ::-1]]))
            feats.append(out.features)
            logits.append(out.imagenet_logits)
            owner += [i, i]
            asis += [v == 0, False]
            flip += [False, v == 0]
        if (i + 1) % 500 == 0 or i + 1 == len(photos):
            rate = (i + 1) / (time.perf_counter() - start)
            log(f"  features: {i + 1}/{len(photos)} photos ({rate:.0f} photos/s)")
    return FeatureSet(
        np.concatenate(feats).astype(np.float32),
        np.concatenate(logits).astype(np.float32),
        np.array(owner),
        np.array(asis),
        np.array(flip),
        photos,
    )


def save(fs: FeatureSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path, features=fs.features, logits=fs.logits, photo=fs.photo, asis=fs.asis, flip=fs.flip
    )


def load(path: Path, photos: list[Photo]) -> FeatureSet:
    with np.load(path) as d:
        return FeatureSet(d["features"], d["logits"], d["photo"], d["asis"], d["flip"], photos)
