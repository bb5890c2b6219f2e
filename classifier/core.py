"""The shared breed classifier: bytes in, Prediction out. No TensorFlow, Keras or torch.

A photo goes through two looks at the model (classifier.locate says why): the whole frame
once, to find where the cats and dogs are, then one batch with a crop around each of them,
named by the breed head and checked by the "no cat or dog" gate.
"""

from __future__ import annotations

import io
import threading

import numpy as np
from PIL import Image

from classifier import locate
from classifier.config import ClassifierSettings
from classifier.decode import decode_image
from classifier.errors import ModelIntegrityError
from classifier.head import LinearHead
from classifier.imagenet import pet_mass
from classifier.model_card import ModelCard, load_card
from classifier.preprocess import to_model_input
from classifier.result import BreedGuess, Pet, Prediction

Box = tuple[float, float, float, float]


class Classifier:
    """Thread-safe; build one per process (see ``get_classifier``)."""

    def __init__(self, settings: ClassifierSettings | None = None) -> None:
        self.settings = settings or ClassifierSettings.from_env()
        self.card: ModelCard = load_card(self.settings.model_dir, self.settings.labels_path)
        self.breeds = self.card.breeds
        self.head = LinearHead.load(self.card.head_path)
        if self.head.classes != len(self.breeds):
            raise ModelIntegrityError("breed head width does not match the labels")
        from classifier.runtime import LiteRTBackbone

        self.backbone = LiteRTBackbone(
            self.card.tflite_path,
            num_threads=self.settings.threads,
            pool_size=self.settings.pool_size,
        )
        self.input_size = self.backbone.input_size
        single_threaded_blas()
        # A pet a third of a phone photo's height still gets a sharp crop from this many pixels.
        self.detail_side = locate.detail_side(self.input_size)
        self._is_cat = np.array([b.species == "cat" for b in self.breeds])
        self._finds_pets = self.backbone.has_feature_map and self.head.pet_weights is not None

    def classify(self, data: bytes, top_k: int = 3) -> Prediction:
        """Classify image bytes: every cat or dog in the photo, the most prominent first.
        Raises InvalidImageError for anything that is not an image."""
        image = decode_image(
            data,
            min_side=self.detail_side,
            max_pixels=self.settings.max_pixels,
            max_bytes=self.settings.max_bytes,
        )
        crops = self.crops(image)
        batch = np.stack([self._pixels(image, crop) for crop, _, _ in crops])
        output = self.backbone.run(batch)
        probs = self.head.probabilities(output.features)
        scores = pet_mass(output.imagenet_logits)
        # A zoomed crop of a photo without pets looks for one harder than a centre crop does:
        # there the pet probe must agree with the gate.
        probe = self.head.pet_logit(output.features)
        scale = upright_scale(data, image)
        pets = [
            self._pet(probs[i], float(scores[i]), _scaled(box, scale, image), top_k)
            for i, (crop, box, strictness) in enumerate(crops)
            if scores[i] >= self.card.pet_threshold * strictness
            and (crop == centre_region(image) or probe[i] > 0)
        ]
        size = (round(image.width * scale), round(image.height * scale))
        if not pets:
            best = float(scores.max())
            return Prediction(False, None, None, None, 1.0 - best, (), best, image_size=size)
        pets = locate.merge_halves(pets)
        pets.sort(key=lambda pet: -_area(pet.box))
        return Prediction.of_pets(tuple(pets), size)

    def crops(self, image: Image.Image) -> list[tuple[Box, Box, float]]:
        """(region to classify, box of the pet, how strict its gate is) for each pet candidate,
        in the decoded image's pixels. A close-up (or a model without a pet probe) gets today's
        centre crop."""
        whole = (0.0, 0.0, float(image.width), float(image.height))
        centre = (centre_region(image), whole, 1.0)
        if not self._finds_pets:
            return [centre]
        size = locate.frame_size(image.width, image.height, self.input_size)
        seen = self._look(image, [whole], size)
        lone = len(seen) == 1
        if lone and locate.is_close_up(seen[0], image.width, image.height):
            return [(centre[0], _float_box(seen[0].box), 1.0)]
        regions = seen
        if not seen or (lone and seen[0].share < locate.LONE_SHARE):
            # Nothing, or one pet off to a side: a closer look for small pets and for a second
            # one the whole frame missed (tiles only for elongated photos).
            tiles = locate.tiles(image.width, image.height)
            tile = (self.input_size, self.input_size)
            regions = locate.drop_overlaps(seen + self._look(image, tiles, tile))
            regions = regions[: locate.MAX_PETS]
        if not regions:
            return [centre]
        # A second pet that only the closer look saw must convince the gate twice as much
        # (scenery next to a pet is where the closer look finds pet-like patches).
        return [
            (r.crop, _float_box(r.box), 1.0 if r in seen or not seen else locate.SECOND_LOOK_GATE)
            for r in regions
        ]

    def _look(
        self, image: Image.Image, areas: list[Box], size: tuple[int, int]
    ) -> list[locate.Region]:
        """Pet regions seen in ``areas`` of the photo, each looked at ``size`` pixels."""
        if not areas:
            return []
        views = [
            np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=area, reducing_gap=2.0))
            for area in areas
        ]
        feature_maps = self.backbone.run(np.stack(views)).feature_map
        assert feature_maps is not None
        regions = []
        for area, feature_map in zip(areas, feature_maps, strict=True):
            pet, cat_vs_dog = locate.pet_map(self.head, feature_map, self._is_cat)
            regions += locate.find_regions(pet, cat_vs_dog, image.width, image.height, area)
        return sorted(regions, key=lambda r: -r.strength)

    def _pixels(self, image: Image.Image, region: Box) -> np.ndarray:
        if region == centre_region(image):
            return to_model_input(image, self.input_size)
        return to_model_input(image.crop(tuple(round(v) for v in region)), self.input_size)

    def _pet(
        self, probs: np.ndarray, pet_score: float, box: tuple[int, int, int, int], top_k: int
    ) -> Pet:
        order = np.argsort(-probs)[: max(1, top_k)]
        top = tuple(self._guess(int(i), float(probs[i])) for i in order)
        best = top[0]
        return Pet(
            box=box,
            species=best.species,
            breed=best.breed,
            display_name=best.display_name,
            confidence=best.confidence,
            confident=best.confidence >= self.card.confident_threshold,
            pedigree=best.pedigree,
            top=top,
            pet_score=pet_score,
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


def single_threaded_blas() -> None:
    """NumPy's small matrix products here (the maps of classifier.locate) gain nothing from
    BLAS threads, whose idle spinning steals the cores LiteRT's own threads run on: 2-thread
    classify took 27.7 ms with them, 16.7 ms without (make bench). Process-wide, once."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def centre_region(image: Image.Image) -> Box:
    """The marker for "the whole photo, centre-cropped as the model expects"."""
    return (0.0, 0.0, float(image.width), float(image.height))


def upright_scale(data: bytes, image: Image.Image) -> float:
    """Original pixels per decoded pixel (big JPEGs are decoded at 1/2, 1/4 or 1/8): the file's
    long side over the decoded long side, which a quarter turn does not change."""
    try:
        with Image.open(io.BytesIO(data)) as original:
            return max(original.size) / max(image.size)
    except Exception:  # noqa: BLE001 - already decoded once; fall back to "not scaled"
        return 1.0


def _scaled(box: Box, scale: float, image: Image.Image) -> tuple[int, int, int, int]:
    width, height = round(image.width * scale), round(image.height * scale)
    x0, y0, x1, y1 = (v * scale for v in box)
    return (
        max(0, round(x0)),
        max(0, round(y0)),
        min(width, round(x1)),
        min(height, round(y1)),
    )


def _float_box(box: tuple[int, int, int, int]) -> Box:
    return (float(box[0]), float(box[1]), float(box[2]), float(box[3]))


def _area(box: tuple[int, int, int, int]) -> int:
    return (box[2] - box[0]) * (box[3] - box[1])


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
