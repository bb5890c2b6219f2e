"""Breed Bot's shared classifier: image bytes -> cat/dog breed with a calibrated confidence.

Used by the Telegram bot, the webhook and the web form; imports neither. Never imports
TensorFlow, Keras or torch (serving runs on LiteRT). The names below load on first use, so the
model contract (``classifier.preprocess``, ``classifier.head``, ``classifier.labels``,
``classifier.imagenet``) imports with NumPy and Pillow alone: training code on a machine
without LiteRT uses the very same definitions.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from classifier.config import ClassifierSettings
    from classifier.core import Classifier, get_classifier
    from classifier.decode import decode_image, sniff_format
    from classifier.errors import ClassifierError, InvalidImageError, ModelIntegrityError
    from classifier.labels import Breed
    from classifier.result import BreedGuess, Prediction

_EXPORTS = {
    "Breed": "classifier.labels",
    "BreedGuess": "classifier.result",
    "Classifier": "classifier.core",
    "ClassifierError": "classifier.errors",
    "ClassifierSettings": "classifier.config",
    "InvalidImageError": "classifier.errors",
    "ModelIntegrityError": "classifier.errors",
    "Prediction": "classifier.result",
    "decode_image": "classifier.decode",
    "get_classifier": "classifier.core",
    "sniff_format": "classifier.decode",
}

__all__ = [
    "Breed",
    "BreedGuess",
    "Classifier",
    "ClassifierError",
    "ClassifierSettings",
    "InvalidImageError",
    "ModelIntegrityError",
    "Prediction",
    "decode_image",
    "get_classifier",
    "sniff_format",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
