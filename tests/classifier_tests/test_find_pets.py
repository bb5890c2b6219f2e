"""Finding each pet in the whole photo (classifier.locate): pets off centre, small, in portrait
frames, two side by side; and no pets found in photos without one."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from PIL import Image

from classifier import Classifier, locate
from classifier.core import EXTRA_PET_CONFIDENCE, named_pets
from classifier.locate import Region, closer_look, frame_size, is_small, pet_photo, refined
from classifier.result import BreedGuess, Pet

from .conftest import NONPET_PHOTOS, PET_PHOTOS, PHOTOS

SCENES = json.loads((PHOTOS / "scenes.json").read_text(encoding="utf-8"))


def centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def inside(point: tuple[float, float], box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


@pytest.mark.parametrize("name", sorted(SCENES), ids=lambda n: n.removesuffix(".jpg"))
def test_every_placed_pet_is_found_where_it_is_and_named(classifier: Classifier, name: str) -> None:
    prediction = classifier.classify((PHOTOS / name).read_bytes())
    placed = SCENES[name]
    assert prediction.is_pet
    assert len(prediction.pets) == len(placed)
    for truth in placed:
        matches = [p for p in prediction.pets if inside(centre(p.box), truth["box"])]
        assert matches, (truth, [p.box for p in prediction.pets])
        assert truth["label"] in [g.breed for g in matches[0].top]
    # The top-level answer is the first pet's; pets are listed largest first.
    assert prediction.breed == prediction.pets[0].breed
    areas = [(p.box[2] - p.box[0]) * (p.box[3] - p.box[1]) for p in prediction.pets]
    assert areas == sorted(areas, reverse=True)


def test_a_cat_and_a_dog_side_by_side_are_two_answers(classifier: Classifier) -> None:
    prediction = classifier.classify((PHOTOS / "scene_cat_and_dog.jpg").read_bytes())
    cat, dog = sorted(prediction.pets, key=lambda p: p.box[0])
    assert (cat.species, dog.species, dog.breed) == ("cat", "dog", "beagle")
    # The Siamese close-up itself is unsure between Siamese and Birman (68% / 30%).
    assert "siamese" in [g.breed for g in cat.top[:2]]


@pytest.mark.parametrize("path", NONPET_PHOTOS, ids=lambda p: p.stem)
def test_no_pet_is_found_in_photos_without_one(classifier: Classifier, path: Path) -> None:
    prediction = classifier.classify(path.read_bytes())
    assert not prediction.is_pet and prediction.pets == ()


# Every pet fixture is a close-up but the kitten, small between two toy balls.
CLOSE_UPS = [p for p in PET_PHOTOS if p.stem != "cat_domestic_kitten_toys"]


@pytest.mark.parametrize("path", CLOSE_UPS, ids=lambda p: p.stem)
def test_a_close_up_is_one_pet_covering_the_photo(classifier: Classifier, path: Path) -> None:
    prediction = classifier.classify(path.read_bytes())
    assert len(prediction.pets) == 1
    width, height = Image.open(path).size
    assert prediction.image_size == (width, height)
    x0, y0, x1, y1 = prediction.pets[0].box
    assert (x1 - x0) * (y1 - y0) >= 0.25 * width * height


def test_boxes_are_in_pixels_of_the_upright_photo(classifier: Classifier) -> None:
    # The same scene stored sideways with an EXIF orientation: boxes follow the upright photo.
    upright = Image.open(PHOTOS / "scene_beagle_left_edge.jpg")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view
    buffer = io.BytesIO()
    upright.transpose(Image.Transpose.ROTATE_90).save(buffer, format="JPEG", exif=exif)
    prediction = classifier.classify(buffer.getvalue())
    assert prediction.image_size == upright.size
    truth = SCENES["scene_beagle_left_edge.jpg"][0]["box"]
    assert inside(centre(prediction.pets[0].box), truth)


def test_the_whole_frame_look_keeps_the_aspect_and_tiles_the_map() -> None:
    for width, height in ((1280, 720), (720, 1280), (500, 375), (4000, 3000)):
        w, h = frame_size(width, height, 300)
        assert w % 32 == 0 and h % 32 == 0
        assert abs(w / h - width / height) < 0.2
        assert 0.7 * 300 * 300 <= w * h <= 1.3 * 300 * 300


def test_a_pet_is_classified_as_a_photo_of_its_own_inside_the_photo() -> None:
    assert pet_photo((500, 300, 700, 600), 1280, 720) == (500, 300, 700, 600)
    for box in ((0, 200, 300, 500), (1270, 0, 1280, 10), (-5, 700, 20, 730)):
        x0, y0, x1, y1 = pet_photo(box, 1280, 720)
        assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 720
        cx, cy = centre(box)
        assert x0 <= max(cx, 0) <= x1 and y0 <= min(cy, 720) <= y1


def _pet(box: tuple[int, int, int, int], confidence: float) -> Pet:
    guess = BreedGuess("beagle", "Beagle", "dog", confidence)
    return Pet(box, "dog", "beagle", "Beagle", confidence, False, True, (guess,), 0.5)


def test_a_second_pet_the_head_can_barely_name_is_not_answered() -> None:
    # The big, barely named box is a part of the scene; the small, well-named one is the pet.
    scenery, pet = _pet((0, 0, 900, 600), EXTRA_PET_CONFIDENCE - 0.1), _pet((10, 10, 90, 90), 0.9)
    assert named_pets([scenery, pet]) == [pet]
    other = _pet((100, 10, 190, 90), EXTRA_PET_CONFIDENCE)
    assert named_pets([pet, other]) == [pet, other]
    # One pet is always answered, however unsure its breed.
    assert named_pets([scenery]) == [scenery]


def test_a_small_pet_gets_a_closer_look_of_one_shape_inside_the_photo() -> None:
    small = Region.around((1100, 300, 1260, 420), 1280, 720, 5.0)
    assert is_small(small, 720) and not is_small(
        Region.around((0, 0, 400, 400), 1280, 720, 5.0), 720
    )
    # 1.6x the long side (256 px), moved left to stay inside the photo, not cut.
    assert closer_look(small.box, 1280, 720) == (1024, 232, 1280, 488)
    # Never bigger than the photo's short side: still a square.
    x0, y0, x1, y1 = closer_look((100, 0, 600, 700), 1280, 720)
    assert x1 - x0 == y1 - y0 == 720 and y0 == 0


def test_the_closer_look_replaces_the_box_only_for_the_same_pet() -> None:
    first = Region.around((1100, 300, 1260, 420), 1280, 720, 5.0)
    tighter = refined(first, [(0.0, 0.0, 50.0, 50.0), (1120.0, 310.0, 1250.0, 415.0)], 1280, 720)
    assert tighter.box == (1120, 310, 1250, 415) and tighter.logit == first.logit
    assert tighter.crop == pet_photo(tighter.box, 1280, 720)
    assert refined(first, [(0.0, 0.0, 50.0, 50.0)], 1280, 720) == first
    assert refined(first, [], 1280, 720) == first


def test_when_the_fine_look_sees_nothing_the_quick_looks_pets_are_the_fallback(
    classifier: Classifier,
) -> None:
    # The rule alone: the real classifier, its looks replaced by what they would have seen.
    quick_pet = Region.around((520.0, 240.0, 760.0, 480.0), 1280, 720, 0.9)

    class FineLookBlind(Classifier):
        def __init__(self) -> None:
            self.__dict__.update(classifier.__dict__)

        def _look(self, image, scale):
            return ([quick_pet] if scale == locate.QUICK else []), None

    image = Image.new("RGB", (1280, 720))
    first, second = FineLookBlind().candidates(image)
    assert (first.crop, first.fallback) == ((0.0, 0.0, 1280.0, 720.0), False)  # the centre crop
    assert (second.box, second.crop, second.fallback) == (
        (520.0, 240.0, 760.0, 480.0),
        quick_pet.crop,
        True,
    )
