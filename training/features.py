"""Extract backbone features and ImageNet logits with the exported LiteRT model itself, so the
head is trained on exactly what serving computes (same decode, preprocessing and int8 model).

Every photo of a group gets all its training views (``data.views``) and their mirrors, whether
it ends up in training or in a hold-out: the features are then a pure function of the model
file, the pixel code and the photo, cached once per group and reused by every split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier import locate
from classifier.decode import decode_image
from classifier.preprocess import centre_box, short_side_for, to_model_input
from classifier.runtime import LiteRTBackbone
from training.data import SMALL_COPY_VIEW, Photo, small_copy, views


@dataclass
class FeatureSet:
    """Rows are views of ``photos``: ``photo`` maps a row to its photo, ``view`` numbers the
    view (0 is the photo as it is) and ``flip`` marks mirrors."""

    features: np.ndarray
    logits: np.ndarray
    photo: np.ndarray
    view: np.ndarray
    flip: np.ndarray
    photos: list[Photo]

    def plain(self, which: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(features, logits) of each photo as it is, in photo order (optionally only the photos
        ``which`` indexes, in that order): what serving computes."""
        rows = np.flatnonzero((self.view == 0) & ~self.flip)
        rows = rows[np.argsort(self.photo[rows], kind="stable")]
        if which is not None:
            rows = rows[np.asarray(which)]
        return self.features[rows], self.logits[rows]

    def training_rows(self, which: np.ndarray) -> np.ndarray:
        """Every row (all views and mirrors) of the photos ``which`` indexes."""
        return np.flatnonzero(np.isin(self.photo, np.asarray(which)))

    def view_of(self, view: int, which: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(features, photo indices) of view ``view`` of the photos ``which`` indexes that have
        it, mirrors left out."""
        rows = np.flatnonzero((self.view == view) & ~self.flip & np.isin(self.photo, which))
        return self.features[rows], self.photo[rows]

    def rows(self, keep: np.ndarray) -> FeatureSet:
        """The rows ``keep`` (a mask) selects, in their order."""
        return FeatureSet(
            self.features[keep],
            self.logits[keep],
            self.photo[keep],
            self.view[keep],
            self.flip[keep],
            self.photos,
        )

    def with_rows(self, more: FeatureSet) -> FeatureSet:
        """These rows and ``more``'s (further views of the same photos)."""
        if not len(more.photo):
            return self
        return FeatureSet(
            np.concatenate([self.features, more.features]),
            np.concatenate([self.logits, more.logits]),
            np.concatenate([self.photo, more.photo]),
            np.concatenate([self.view, more.view]),
            np.concatenate([self.flip, more.flip]),
            self.photos,
        )


def extract(
    backbone: LiteRTBackbone,
    photos: list[Photo],
    log: Callable[[str], None] = print,
) -> FeatureSet:
    size = backbone.input_size
    short = short_side_for(size)
    feats, logits, owner, view_ids, flips = [], [], [], [], []
    start = time.perf_counter()
    for i, photo in enumerate(photos):
        img = decode_image(photo.path.read_bytes(), min_side=short)
        for v, view in enumerate(views(img, photo.kind, augment=True)):
            pixels = to_model_input(view, size)
            out = backbone.run(np.stack([pixels, pixels[:, ::-1]]))
            feats.append(out.features)
            logits.append(out.imagenet_logits)
            owner += [i, i]
            view_ids += [v, v]
            flips += [False, True]
        if (i + 1) % 500 == 0 or i + 1 == len(photos):
            rate = (i + 1) / (time.perf_counter() - start)
            log(f"  features: {i + 1}/{len(photos)} photos ({rate:.0f} photos/s)")
    return FeatureSet(
        np.concatenate(feats).astype(np.float32),
        np.concatenate(logits).astype(np.float32),
        np.array(owner),
        np.array(view_ids),
        np.array(flips),
        photos,
    )


def extract_small_copies(
    backbone: LiteRTBackbone,
    photos: list[Photo],
    log: Callable[[str], None] = print,
) -> FeatureSet:
    """Each photo bigger than the ordinary pets' copies, made like them (``data.small_copy``),
    and its mirror: view ``SMALL_COPY_VIEW``. Smaller photos have no rows here."""
    size = backbone.input_size
    feats, logits, owner, flips = [], [], [], []
    start = time.perf_counter()
    for i, photo in enumerate(photos):
        copy = small_copy(decode_image(photo.path.read_bytes()))
        if copy is not None:
            pixels = to_model_input(copy, size)
            out = backbone.run(np.stack([pixels, pixels[:, ::-1]]))
            feats.append(out.features)
            logits.append(out.imagenet_logits)
            owner += [i, i]
            flips += [False, True]
        if (i + 1) % 1000 == 0 or i + 1 == len(photos):
            rate = (i + 1) / (time.perf_counter() - start)
            log(f"  small copies: {i + 1}/{len(photos)} photos ({rate:.0f} photos/s)")
    return FeatureSet(
        np.concatenate(feats).astype(np.float32) if feats else np.zeros((0, 0), np.float32),
        np.concatenate(logits).astype(np.float32) if logits else np.zeros((0, 0), np.float32),
        np.array(owner, int),
        np.full(len(owner), SMALL_COPY_VIEW, int),
        np.array(flips, bool),
        photos,
    )


def extract_looks(
    backbone: LiteRTBackbone,
    photos: list[Photo],
    log: Callable[[str], None] = print,
) -> FeatureSet:
    """What serving reads for a close-up: the quick look at each photo as it is (and its
    mirror), its feature map pooled over the centre crop (locate.region_features), and the
    whole look's ImageNet logits (the gate's)."""
    size = backbone.input_size
    feats, logits, owner, flips = [], [], [], []
    start = time.perf_counter()
    for i, photo in enumerate(photos):
        img = decode_image(photo.path.read_bytes(), min_side=locate.detail_side(size))
        look = locate.look_size(img.width, img.height, size, locate.QUICK)
        pixels = locate.look_pixels(img, look)
        out = backbone.run(np.stack([pixels, pixels[:, ::-1]]))
        assert out.feature_map is not None
        box = centre_box(img.width, img.height, size)
        feats += [locate.region_features(m, box, img.width, img.height) for m in out.feature_map]
        logits.append(out.imagenet_logits)
        owner += [i, i]
        flips += [False, True]
        if (i + 1) % 1000 == 0 or i + 1 == len(photos):
            rate = (i + 1) / (time.perf_counter() - start)
            log(f"  quick looks: {i + 1}/{len(photos)} photos ({rate:.0f} photos/s)")
    return FeatureSet(
        np.stack(feats).astype(np.float32),
        np.concatenate(logits).astype(np.float32),
        np.array(owner),
        np.zeros(len(owner), int),
        np.array(flips),
        photos,
    )


def save(fs: FeatureSet, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path, features=fs.features, logits=fs.logits, photo=fs.photo, view=fs.view, flip=fs.flip
    )


def load(path: Path, photos: list[Photo]) -> FeatureSet:
    with np.load(path) as d:
        return FeatureSet(d["features"], d["logits"], d["photo"], d["view"], d["flip"], photos)


def cached(
    path: Path, photos: list[Photo], compute: Callable[[], FeatureSet], log=print
) -> FeatureSet:
    """Features are a pure function of the model file, the pixel code and the photos."""
    if path.exists():
        log(f"  features: reusing {path}")
        return load(path, photos)
    result = compute()
    save(result, path)
    return result
