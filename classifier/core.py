"""The shared breed classifier: bytes in, Prediction out. No TensorFlow, Keras or torch."""

from __future__ import annotations

import threading

import numpy as np

from classifier.config import ClassifierSettings
from classifier.decode import decode_image
from classifier.errors import ModelIntegrityError
from classifier.head import LinearHead
from classifier.imagenet import pet_mass
from classifier.model_card import ModelCard, load_card
from classifier.preprocess import short_side_for, to_model_input
from classifier.result import BreedGuess, Prediction
from classifier.runtime import LiteRTBackbone


class Classifier:
    """Thread-safe; build one per process (see ``get_classifier``)."""

    def __init__(self, settings: ClassifierSettings | None = None) -> None:
        self.settings = settings or ClassifierSettings.from_env()
        self.card: ModelCard = load_card(self.settings.model_dir, self.settings.labels_path)
        self.breeds = self.card.breeds
        self.head = LinearHead.load(self.card.head_path)
        if self.head.classes != len(self.breeds):
            raise ModelIntegrityError("breed head width does not match the labels")
        self.backbone = LiteRTBackbone(
            self.card.tflite_path,
            num_threads=self.settings.threads,
            pool_size=self.settings.pool_size,
        )
        self.input_size = self.backbone.input_size

    def classify(self, data: bytes, top_k: int = 3) -> Prediction:
        """Classify image bytes. Raises InvalidImageError for anything that is not an image."""
        image = decode_image(
            data,
            min_side=short_side_for(self.input_size),
            max_pixels=self.settings.max_pixels,
            max_bytes=self.settings.max_bytes,
        )
        pixels = to_model_input(image, self.input_size)
        batch = np.stack([pixels, pixels[:, ::-1]]) if self.card.flip_tta else pixels[None]
        output = self.backbone.run(batch)
        # Flip TTA averages features and logits (the head is linear, so this averages logits).
        probs = self.head.probabilities(output.features.mean(axis=0))
        pet_score = float(pet_mass(output.imagenet_logits.mean(axis=0)))
        return self.answer(probs, pet_score, top_k)

    def answer(self, probs: np.ndarray, pet_score: float, top_k: int = 3) -> Prediction:
        """The reply for breed probabilities and a pet score: "no cat or dog" below the gate's
        threshold, else the likeliest label, stated as sure at the card's threshold."""
        if pet_score < self.card.pet_threshold:
            return Prediction(
                is_pet=False,
                species=None,
                breed=None,
                display_name=None,
                confidence=1.0 - pet_score,
                top=(),
                pet_score=pet_score,
            )
        order = np.argsort(-probs)[: max(1, top_k)]
        top = tuple(self._guess(int(i), float(probs[i])) for i in order)
        best = top[0]
        return Prediction(
            is_pet=True,
            species=best.species,
            breed=best.breed,
            display_name=best.display_name,
            confidence=best.confidence,
            top=top,
            pet_score=pet_score,
            confident=best.confidence >= self.card.confident_threshold,
            pedigree=best.pedigree,
        )

    def _guess(self, index: int, confidence: float) -> BreedGuess:
        breed = self.breeds[index]
        return BreedGuess(
            breed=breed.label,
            display_name=breed.display_name,
            species=breed.species,  # type: ignore[arg-type]
            confidence=confidence,
            pedigree=breed.pedigree,
        )


_instance: Classifier | None = None
_instance_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process-wide classifier, loaded on first use and shared by the bot and the web app."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Classifier()
    return _instance
