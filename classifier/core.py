"""The shared breed classifier: bytes in, Prediction out. No TensorFlow, Keras or torch."""

from __future__ import annotations

import threading
from dataclasses import replace
from pathlib import Path

import numpy as np

from classifier.config import ClassifierSettings
from classifier.decode import decode_image
from classifier.imagenet import PET_CLASSES, answers_other_dog, other_dog_share, softmax
from classifier.model_card import ModelCard, load_card
from classifier.preprocess import to_model_input
from classifier.result import BreedGuess, Prediction
from classifier.runtime import LiteRTBackbone


class BreedHead:
    """Linear breed head over backbone features, with temperature-scaled softmax."""

    def __init__(self, path: Path) -> None:
        with np.load(path) as data:
            self.weights = data["weights"].astype(np.float32)  # (D, classes)
            self.bias = data["bias"].astype(np.float32)
            self.mean = data["feature_mean"].astype(np.float32)
            self.scale = data["feature_scale"].astype(np.float32)
            self.temperature = float(data["temperature"])

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        logits = ((features - self.mean) / self.scale) @ self.weights + self.bias
        return softmax(logits, self.temperature)


class Classifier:
    """Thread-safe; build one per process (see ``get_classifier``)."""

    def __init__(self, settings: ClassifierSettings | None = None) -> None:
        self.settings = settings or ClassifierSettings.from_env()
        self.card: ModelCard = load_card(self.settings.model_dir, self.settings.labels_path)
        self.breeds = self.card.breeds
        self.head = BreedHead(self.card.head_path)
        if self.head.weights.shape[1] != len(self.breeds):
            from classifier.errors import ModelIntegrityError

            raise ModelIntegrityError("breed head width does not match the labels")
        self.backbone = LiteRTBackbone(
            self.card.tflite_path,
            num_threads=self.settings.threads,
            pool_size=self.settings.pool_size,
        )
        self.input_size = self.backbone.input_size
        self.extra_breeds = self.card.extra_breeds
        self._extra_indices = np.array([b.imagenet_index for b in self.extra_breeds], dtype=int)

    def classify(self, data: bytes, top_k: int = 3) -> Prediction:
        """Classify image bytes. Raises InvalidImageError for anything that is not an image."""
        image = decode_image(
            data,
            min_side=round(self.input_size * 256 / 224),
            max_pixels=self.settings.max_pixels,
            max_bytes=self.settings.max_bytes,
        )
        pixels = to_model_input(image, self.input_size)
        batch = np.stack([pixels, pixels[:, ::-1]]) if self.card.flip_tta else pixels[None]
        output = self.backbone.run(batch)
        # Flip TTA averages features and logits (the head is linear, so this averages logits).
        probs = self.head.probabilities(output.features.mean(axis=0))
        imagenet = softmax(output.imagenet_logits.mean(axis=0))
        return self._answer(probs, imagenet, top_k)

    def _answer(self, probs: np.ndarray, imagenet: np.ndarray, top_k: int) -> Prediction:
        pet_score = float(imagenet[PET_CLASSES].sum())
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
        top = tuple(
            BreedGuess(
                breed=self.breeds[i].label,
                display_name=self.breeds[i].display_name,
                species=self.breeds[i].species,  # type: ignore[arg-type]
                confidence=float(probs[i]),
            )
            for i in order
        )
        other = self._other_dog(imagenet, top[0].confidence)
        if other is not None:
            rest = tuple(replace(g, confidence=g.confidence * (1 - other.confidence)) for g in top)
            top = (other, *rest)[: max(1, top_k)]
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
        )

    def _other_dog(self, imagenet: np.ndarray, head_confidence: float) -> BreedGuess | None:
        """A dog breed only the ImageNet head knows (German shepherd, Labrador...), when it
        clearly beats an unsure breed head; its confidence is that breed's share of the pet
        mass (the ImageNet head's, not calibrated on our data)."""
        threshold = self.card.other_dog_threshold
        if threshold is None or not self._extra_indices.size:
            return None
        position, share = other_dog_share(imagenet, self._extra_indices)
        if not answers_other_dog(share, head_confidence, threshold, self.card.confident_threshold):
            return None
        breed = self.extra_breeds[int(position)]
        return BreedGuess(breed.label, breed.display_name, "dog", float(share))


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
