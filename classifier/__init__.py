"""Breed Bot's shared classifier: image bytes -> cat/dog breed with a calibrated confidence.

Used by the Telegram bot, the webhook and the web form; imports neither. Never imports
TensorFlow, Keras or torch (serving runs on LiteRT).
"""

from classifier.config import ClassifierSettings
from classifier.core import Classifier, get_classifier
from classifier.decode import decode_image, sniff_format
from classifier.errors import ClassifierError, InvalidImageError, ModelIntegrityError
from classifier.labels import Breed
from classifier.result import BreedGuess, Prediction

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
