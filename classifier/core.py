"""The shared breed classifier: bytes in, Prediction out. No TensorFlow, Keras or torch.

A photo goes through one or more passes of the model (classifier.locate says why). A photo up
to 4:3 (what phone cameras take) first gets the pass over its centre crop, which holds three
quarters of the frame: the pet finder reads that pass's feature map, and a lone pet filling the
crop's middle (a close-up, most photos people send) is named by the same pass. A wider photo
first gets a quick look at the whole frame; a close-up there gets a pass over its centre crop,
unless the look, pooled over the crop, is sure it shows a domestic cat or a mixed breed
(classifier.head: a close-up read off the quick look). Any other photo gets a finer look unless
the first one saw a lone pet filling the photo; a closer look around each small pet for a
tighter box; then one batch with a crop around each pet, named by the breed head and checked
by the "no cat or dog" gate.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from functools import partial

import numpy as np
from PIL import Image

from classifier import finder, locate
from classifier.config import ClassifierSettings
from classifier.decode import decode_image
from classifier.errors import ModelIntegrityError
from classifier.finder import PetFinder
from classifier.head import LinearHead, look_alone
from classifier.imagenet import is_pet, is_pet_crop, pet_mass
from classifier.model_card import ModelCard, load_card
from classifier.preprocess import centre_box, short_side_for, to_model_input
from classifier.result import BreedGuess, Pet, Prediction
from classifier.runtime import BackboneOutput

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True, eq=False)
class Candidate:
    """A region of the photo to classify, and where the pet it shows is."""

    crop: Box  # centre_region(image) means the centre crop the head was trained on
    box: Box
    fallback: bool = False  # answered only when no other candidate turns out to be a pet
    # A close-up read off the quick look: its features pooled over the centre crop, and the
    # whole look's ImageNet logits (the gate's). The crop itself is run only when the look
    # cannot answer alone (classifier.head.look_alone).
    look: np.ndarray | None = None
    look_logits: np.ndarray | None = None
    # A close-up the centre crop's own pass already named (its features and ImageNet logits):
    # nothing more to run (``Classifier.candidates``: the crop first).
    crop_features: np.ndarray | None = None
    crop_logits: np.ndarray | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """What the model says of each candidate: breed probabilities, the gate's ImageNet pet mass
    and the pet probe's logit."""

    probs: np.ndarray  # (n, K)
    pet_mass: np.ndarray  # (n,)
    probe: np.ndarray  # (n,)


class Classifier:
    """Thread-safe; build one per process (see ``get_classifier``)."""

    def __init__(self, settings: ClassifierSettings | None = None) -> None:
        self.settings = settings or ClassifierSettings.from_env()
        self.card: ModelCard = load_card(self.settings.model_dir, self.settings.labels_path)
        self.breeds = self.card.breeds
        self._pedigree = np.array([b.pedigree for b in self.breeds])
        self.head = LinearHead.load(self.card.head_path)
        if self.head.classes != len(self.breeds):
            raise ModelIntegrityError("breed head width does not match the labels")
        # The head over a close-up read off the quick look (models from 3.4 on), built once.
        self._looks_head = self.head.for_looks() if self.head.reads_looks else self.head
        from classifier.runtime import LiteRTBackbone

        self.backbone = LiteRTBackbone(
            self.card.tflite_path,
            num_threads=self.settings.threads,
            pool_size=self.settings.pool_size,
        )
        self.input_size = self.backbone.input_size
        # Photos worked on at once (decoded, looked at, named): one more than the interpreters,
        # so one decodes while the others run; the rest wait as bytes. 200 phone-sized photos
        # from 40 threads peaked at 477 MB without this bound, 327 MB with it (make bench).
        self._in_flight = threading.BoundedSemaphore(self.settings.pool_size + 1)
        single_threaded_blas()
        # A pet a third of a phone photo's height still gets a sharp crop from this many pixels.
        self.detail_side = locate.detail_side(self.input_size)
        finds_pets = self.backbone.has_feature_map and self.head.pet_weights is not None
        self.finder = (
            PetFinder.load(self.card.finder_path) if finds_pets and self.card.finder_path else None
        )

    def classify(self, data: bytes, top_k: int = 3) -> Prediction:
        """Classify image bytes: every cat or dog in the photo, the most prominent first.
        Raises InvalidImageError for anything that is not an image."""
        with self._in_flight:
            return self._classify(data, top_k)

    def _classify(self, data: bytes, top_k: int) -> Prediction:
        limits = {"max_pixels": self.settings.max_pixels, "max_bytes": self.settings.max_bytes}
        image, candidates, first = None, None, None
        size = header_size(data)
        if self.finder is not None and size and locate.crop_first(*size):
            # A 4:3 close-up needs no more pixels than its centre crop's pass: decode at that
            # size first (a big JPEG decodes at 1/2 or 1/4 scale, half the time of the detail
            # decode), and decode again at the detail size only for a photo that needs it.
            small = decode_image(data, min_side=short_side_for(self.input_size), **limits)
            first = self._crop_look(small)
            close_up = self._crop_close_up(small, first[0], first[1])
            if close_up is not None:
                image, candidates = small, [close_up]
            elif min(small.size) >= min(size):
                image = small  # decoded whole already
        if image is None:
            image = decode_image(data, min_side=self.detail_side, **limits)
        if candidates is None:
            candidates = self.candidates(image, first)
        reading = self._read(image, candidates)
        probs, scores, probe = reading.probs, reading.pet_mass, reading.probe
        # A zoomed crop of a photo without pets looks for one harder than a centre crop does,
        # and so does a second chance: there the pet probe must agree with the gate
        # (classifier.imagenet.is_pet_crop).
        whole = [c.crop == centre_region(image) for c in candidates]
        seen = is_pet(scores, probe, self.card.pet_threshold, self.card.pet_probe_bar)
        zoomed_seen = is_pet_crop(scores, probe, self.card.pet_threshold)
        passed = [
            i
            for i, c in enumerate(candidates)
            if (seen[i] and (not c.fallback or probe[i] > 0) if whole[i] else zoomed_seen[i])
        ]
        found = [i for i in passed if not candidates[i].fallback]
        scale = upright_scale(size, image)
        pets = [
            self._pet(probs[i], float(scores[i]), _scaled(candidates[i].box, scale, image), top_k)
            for i in (found or passed)
        ]
        size = (round(image.width * scale), round(image.height * scale))
        if not pets:
            best = float(scores.max())
            return Prediction(False, None, None, None, 1.0 - best, (), best, image_size=size)
        pets = named_pets(pets)
        pets.sort(key=lambda pet: -_area(pet.box))
        return Prediction.of_pets(tuple(pets), size)

    def _read(self, image: Image.Image, candidates: list[Candidate]) -> Reading:
        """Run the model over the candidates that need a pass: every crop, and a close-up's
        crop when the quick look cannot answer it alone."""
        n = len(candidates)
        probs = np.zeros((n, self.head.classes), np.float32)
        scores, probe = np.zeros(n, np.float32), np.zeros(n, np.float32)
        to_run = []
        for i, c in enumerate(candidates):
            if c.crop_features is not None and c.crop_logits is not None:
                probs[i] = self.head.probabilities(c.crop_features)
                scores[i] = pet_mass(c.crop_logits)
                probe[i] = self.head.pet_logit(c.crop_features)
                continue
            if c.look is None or c.look_logits is None:
                to_run.append(i)
                continue
            probs[i] = self._looks_head.probabilities(c.look)
            scores[i] = pet_mass(c.look_logits)
            probe[i] = self._looks_head.pet_logit(c.look)
            if not look_alone(probs[i], scores[i] >= self.card.pet_threshold, self._pedigree):
                to_run.append(i)
        if not to_run:
            return Reading(probs, scores, probe)
        output = self.backbone.run(
            np.stack([self._pixels(image, candidates[i].crop) for i in to_run])
        )
        for j, i in enumerate(to_run):
            # The crop's answer and the crop's gate, for a close-up the look did not answer too.
            probs[i] = self.head.probabilities(output.features[j])
            scores[i] = pet_mass(output.imagenet_logits[j])
            probe[i] = self.head.pet_logit(output.features[j])
        return Reading(probs, scores, probe)

    def candidates(
        self,
        image: Image.Image,
        first: tuple[list[locate.Region], BackboneOutput, Image.Image] | None = None,
    ) -> list[Candidate]:
        """What to classify, in the decoded image's pixels: a crop around each pet the finder
        sees. A close-up (told by the centre crop's pass or the quick look), a photo where no
        pet is seen (the gate then answers) and a model without a finder get the centre crop;
        so do pets the finder is unsure of, as a fallback when none of their crops turns out to
        be a pet. When the fine look sees nothing, the pets the first look saw are that
        fallback. ``first``: the centre crop's pass, already run on a smaller decode of the
        same photo (``_crop_look``)."""
        if self.finder is None:
            return [Candidate(centre_region(image), (0.0, 0.0, *map(float, image.size)))]
        fine = locate.worth_fine_look(image.width, image.height, self.input_size)
        centre_pass = None
        if locate.crop_first(image.width, image.height):
            # Most phone photos are 4:3: their centre crop holds three quarters of the frame, so
            # its own pass is the first look. A lone pet filling its middle is a close-up, named
            # by that same pass; a small pet, or none, gets the fine look. Anything between (a
            # big pet off the middle; two "pets", most often one pet seen close, its head and
            # its body) gets the look at the whole frame, as other photos do.
            regions, centre_pass, seen_in = first or self._crop_look(image)
            quick = _rescaled(regions, image, seen_in)
            # A ``first`` pass has been asked this already (Classifier._classify).
            close_up = None if first else self._crop_close_up(image, quick, centre_pass)
            if close_up is not None:
                return [close_up]
            lone = quick[0] if len(quick) == 1 else None
            small = lone is not None and (
                locate.crop_share(lone, image.width, image.height, self.input_size)[0]
                < locate.CROP_SMALL_SIDE
            )
            if fine and (not quick or small):
                found, _ = self._look(image, locate.FINE)
                return self._found(image, quick, found, centre_pass)
        quick, look = self._look(image, locate.QUICK)
        found = quick
        lone = found[0] if len(found) == 1 else None
        if lone and locate.is_close_up(lone, image.width, image.height):
            return [self._close_up(image, lone, look, centre_pass=centre_pass)]
        if lone and locate.fills_photo(lone, image.width, image.height):
            return [self._close_up(image, lone, look, lone.crop)]
        if fine:
            found, _ = self._look(image, locate.FINE)
        elif lone and locate.is_close_up(
            lone, image.width, image.height, locate.SMALL_PHOTO_CLOSE_UP_SIDE
        ):
            # A small photo has no detail for the fine look: the quick one is all there is.
            return [self._close_up(image, lone, look, centre_pass=centre_pass)]
        return self._found(image, quick, found, centre_pass)

    def _centre(
        self, image: Image.Image, box: Box, centre_pass: BackboneOutput, fallback: bool = False
    ) -> Candidate:
        """The centre crop, already named by its own pass."""
        return Candidate(
            centre_region(image),
            box,
            fallback=fallback,
            crop_features=centre_pass.features[0],
            crop_logits=centre_pass.imagenet_logits[0],
        )

    def _found(
        self,
        image: Image.Image,
        quick: list[locate.Region],
        found: list[locate.Region],
        centre_pass: BackboneOutput | None = None,
    ) -> list[Candidate]:
        """A crop for each pet the finder saw (``found``), with the centre crop as a second
        chance when it is unsure of them, and the first look's pets (``quick``) as fallbacks
        when it saw none. ``centre_pass``: the centre crop's pass, when it was the first look."""
        whole = (0.0, 0.0, float(image.width), float(image.height))
        centre_candidate = partial(Candidate, centre_region(image), whole)
        if centre_pass is not None:
            centre_candidate = partial(self._centre, image, whole, centre_pass)
        if not found:
            # A small pet in the middle of a big photo may be too faint for the fine look and
            # too small in the centre crop for the gate, while the quick look saw it (unsure):
            # its crop answers if it passes the gate as a zoomed crop (tuning scenes: +3 of
            # 1,200 pets, no pet that is not there; make eval's scenes: no change either way).
            seen = [Candidate(r.crop, _float_box(r.box), fallback=True) for r in quick]
            return [centre_candidate(), *seen]
        found = [self._refined(image, r) if locate.is_small(r, image.height) else r for r in found]
        candidates = [Candidate(r.crop, _float_box(r.box)) for r in found]
        if max(r.logit for r in found) < locate.SURE_PET_LOGIT:
            candidates.append(centre_candidate(fallback=True))
        return candidates

    def _close_up(
        self,
        image: Image.Image,
        pet: locate.Region,
        look: BackboneOutput,
        region: Box | None = None,
        centre_pass: BackboneOutput | None = None,
    ) -> Candidate:
        """A lone pet in the middle of the photo (``region`` None: the photo's centre crop) or
        filling it (``region``: its box, read as a photo of its own), read off the quick look
        when the head has a standardiser for it (models from 3.4 on), or named by the centre
        crop's own pass when that has run already (``centre_pass``)."""
        box = _float_box(pet.box)
        if region is None and centre_pass is not None:
            return self._centre(image, box, centre_pass)
        region = region or centre_region(image)
        if not self.head.reads_looks or look.feature_map is None:
            return Candidate(region, box)
        x0, y0, x1, y1 = region
        cx0, cy0, cx1, cy1 = centre_box(round(x1 - x0), round(y1 - y0), self.input_size)
        square = (x0 + cx0, y0 + cy0, x0 + cx1, y0 + cy1)  # the crop the head would be given
        cells = (square[2] - square[0]) / image.width * look.feature_map.shape[2]
        if cells < locate.LOOK_MIN_CELLS:
            return Candidate(region, box)
        pooled = locate.region_features(look.feature_map[0], square, image.width, image.height)
        return Candidate(region, box, look=pooled, look_logits=look.imagenet_logits[0])

    def _look(self, image: Image.Image, scale: float) -> tuple[list[locate.Region], BackboneOutput]:
        """The pets the finder sees in one look at the whole photo, and the look itself."""
        other_pet = locate.FINE_OTHER_PET_LOGIT if scale == locate.FINE else finder.OTHER_PET_LOGIT
        found, output = self._find(image, scale, other_pet)
        regions = [locate.Region.around(f.box, image.width, image.height, f.logit) for f in found]
        return locate.drop_overlaps(regions), output

    def _crop_look(
        self, image: Image.Image
    ) -> tuple[list[locate.Region], BackboneOutput, Image.Image]:
        """The pets the finder sees in the centre crop's own pass (in ``image``'s pixels), that
        pass, and ``image``."""
        assert self.finder is not None
        x0, y0, x1, y1 = centre_box(image.width, image.height, self.input_size)
        output = self.backbone.run(to_model_input(image, self.input_size)[None])
        assert output.feature_map is not None
        w, h = x1 - x0, y1 - y0
        found = self.finder.detect(output.feature_map[0], round(w), round(h), locate.MAX_PETS)
        regions = [
            locate.Region.around(
                (f.box[0] + x0, f.box[1] + y0, f.box[2] + x0, f.box[3] + y0),
                image.width,
                image.height,
                f.logit,
            )
            for f in found
        ]
        return locate.drop_overlaps(regions), output, image

    def _crop_close_up(
        self, image: Image.Image, regions: list[locate.Region], centre_pass: BackboneOutput
    ) -> Candidate | None:
        """The close-up the centre crop's pass settles by itself: a lone pet filling the crop's
        middle (half of it in a photo too small for the fine look)."""
        fine = locate.worth_fine_look(image.width, image.height, self.input_size)
        side = locate.CROP_CLOSE_UP_SIDE if fine else locate.SMALL_PHOTO_CLOSE_UP_SIDE
        if len(regions) != 1:
            return None
        (lone,) = regions
        if not locate.fills_crop(lone, image.width, image.height, self.input_size, side):
            return None
        return self._centre(image, _float_box(lone.box), centre_pass)

    def _refined(self, image: Image.Image, region: locate.Region) -> locate.Region:
        """A small pet's box from a closer look at the square around it: the whole-photo looks
        see it in only a few cells."""
        x0, y0, x1, y1 = locate.closer_look(region.box, image.width, image.height)
        found, _ = self._find(image.crop((x0, y0, x1, y1)), locate.QUICK)
        boxes = [(f.box[0] + x0, f.box[1] + y0, f.box[2] + x0, f.box[3] + y0) for f in found]
        return locate.refined(region, boxes, image.width, image.height)

    def _find(
        self, image: Image.Image, scale: float, other_pet: float = finder.OTHER_PET_LOGIT
    ) -> tuple[list[finder.FoundPet], BackboneOutput]:
        """What the finder sees in one look at the whole of ``image`` (in its pixels), and the
        look's output."""
        assert self.finder is not None
        size = locate.look_size(image.width, image.height, self.input_size, scale)
        output = self.backbone.run(locate.look_pixels(image, size)[None])
        assert output.feature_map is not None
        found = self.finder.detect(
            output.feature_map[0], image.width, image.height, locate.MAX_PETS, other_pet
        )
        return found, output

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


# A pet besides the best-named one whose breed the head can barely guess is a part of the
# scene, not a pet: on the tuning scenes (benchmarks.evaluate --tuning) every second pet named
# right scored >= 0.4, and 6 of 8 pets that were not there scored < 0.2 (and were listed
# first, being the biggest box).
EXTRA_PET_CONFIDENCE = 0.3


def named_pets(pets: list[Pet]) -> list[Pet]:
    """The pets worth answering: the best-named one, and others named with some confidence."""
    best = max(pets, key=lambda pet: pet.confidence)
    return [pet for pet in pets if pet is best or pet.confidence >= EXTRA_PET_CONFIDENCE]


def single_threaded_blas() -> None:
    """NumPy's small matrix products here (the pet finder, the heads) gain nothing from
    BLAS threads, whose idle spinning steals the cores LiteRT's own threads run on: 2-thread
    classify took 27.7 ms with them, 16.7 ms without (make bench). Process-wide, once."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def header_size(data: bytes) -> tuple[int, int] | None:
    """The photo's size from its header (no decoding), or None when it has none to read."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:  # noqa: BLE001 - decode_image gives the proper error for bad input
        return None


def _rescaled(
    regions: list[locate.Region], image: Image.Image, seen_in: Image.Image
) -> list[locate.Region]:
    """Regions found in ``seen_in`` (a smaller decode of the same photo) in ``image``'s pixels."""
    if seen_in.size == image.size:
        return regions
    f = image.width / seen_in.width
    return [
        locate.Region.around(tuple(v * f for v in r.box), image.width, image.height, r.logit)
        for r in regions
    ]


def centre_region(image: Image.Image) -> Box:
    """The marker for "the whole photo, centre-cropped as the model expects"."""
    return (0.0, 0.0, float(image.width), float(image.height))


def upright_scale(size: tuple[int, int] | None, image: Image.Image) -> float:
    """Original pixels per decoded pixel (big JPEGs are decoded at 1/2, 1/4 or 1/8): the file's
    long side (``size``, from ``header_size``) over the decoded long side, which a quarter turn
    does not change; 1.0 when the header could not be read."""
    return max(size) / max(image.size) if size else 1.0


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
