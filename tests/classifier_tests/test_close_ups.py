"""How a close-up is read. A photo wider than 4:3 is read off the quick look (classifier.head:
two views of a close-up): the look's feature map pooled over the centre crop, the look's own
standardiser, and the centre crop's pass only when the look is unsure. A 4:3 (or squarer)
photo's first look is the centre crop's own pass, which names a close-up by itself."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import classifier.head
from classifier import Classifier
from classifier.decode import decode_image
from classifier.head import LinearHead, look_alone
from classifier.locate import Region, crop_first, crop_share, fills_crop, region_features
from classifier.preprocess import centre_box

from .conftest import PHOTOS


class CountingBackbone:
    """The real backbone, counting the images it runs."""

    def __init__(self, backbone) -> None:
        self.backbone = backbone
        self.images = 0

    def __getattr__(self, name: str):
        return getattr(self.backbone, name)

    def run(self, batch: np.ndarray):
        self.images += len(batch)
        return self.backbone.run(batch)


def widened(name: str) -> bytes:
    """A square fixture photo as a 16:9 close-up (its edges stretched sideways), so that the
    whole-frame quick look, not the centre crop's pass, comes first."""
    pixels = np.asarray(Image.open(PHOTOS / name).convert("RGB"))
    h, w, _ = pixels.shape
    extra = round(h * 16 / 9) - w
    wide = np.pad(pixels, ((0, 0), (extra // 2, extra - extra // 2), (0, 0)), mode="edge")
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


@pytest.fixture
def counted(classifier: Classifier) -> Classifier:
    """The shared classifier's state with a counting backbone (the shared one is untouched)."""

    class Counted(Classifier):
        def __init__(self) -> None:
            self.__dict__.update(classifier.__dict__)
            self.backbone = CountingBackbone(classifier.backbone)

    return Counted()


def test_region_features_pool_the_cells_the_box_covers() -> None:
    rng = np.random.default_rng(0)
    feature_map = rng.normal(size=(4, 6, 8)).astype(np.float32)  # 4 rows, 6 columns of cells
    whole = region_features(feature_map, (0, 0, 600, 400), 600, 400)
    np.testing.assert_allclose(whole, feature_map.mean(axis=(0, 1)), rtol=1e-5)
    cells = region_features(feature_map, (200, 100, 500, 300), 600, 400)  # columns 2-4, rows 1-2
    np.testing.assert_allclose(cells, feature_map[1:3, 2:5].mean(axis=(0, 1)), rtol=1e-5)
    # Half of column 0 and all of column 1 in row 0: column 1 weighs twice column 0.
    half = region_features(feature_map, (50, 0, 200, 100), 600, 400)
    expected = (feature_map[0, 0] + 2 * feature_map[0, 1]) / 3
    np.testing.assert_allclose(half, expected, rtol=1e-5)


def test_the_look_standardiser_survives_save_and_load(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    head = LinearHead(
        rng.normal(size=(16, 5)).astype(np.float32),
        np.zeros(5, np.float32),
        np.full(16, 1.0, np.float32),
        np.full(16, 2.0, np.float32),
        look_mean=np.full(16, 0.5, np.float32),
        look_scale=np.full(16, 3.0, np.float32),
    )
    head.save(tmp_path / "head.npz")
    loaded = LinearHead.load(tmp_path / "head.npz")
    assert loaded.reads_looks
    np.testing.assert_array_equal(loaded.look_scale, head.look_scale)
    look = rng.normal(size=(3, 16)).astype(np.float32)
    np.testing.assert_allclose(loaded.for_looks().logits(look), head.for_looks().logits(look))
    bare = LinearHead(head.weights, head.bias, head.mean, head.scale)
    bare.save(tmp_path / "bare.npz")
    assert not LinearHead.load(tmp_path / "bare.npz").reads_looks
    with pytest.raises(ValueError):
        bare.for_looks()


def test_the_look_answers_alone_only_when_sure_of_a_humble_answer() -> None:
    pedigree = np.array([True, True, False])  # two breeds, then "domestic cat"
    probs = np.array(
        [
            [0.99, 0.005, 0.005],  # a sure pedigree: the crop has the last word
            [0.02, 0.03, 0.95],  # a sure domestic cat
            [0.10, 0.05, 0.85],  # a domestic cat, not sure enough
            [0.02, 0.03, 0.95],  # a sure domestic cat the gate does not see
        ]
    )
    sees_pet = np.array([True, True, True, False])
    assert look_alone(probs, sees_pet, pedigree).tolist() == [False, True, False, False]


def test_a_close_up_surely_of_a_domestic_cat_is_answered_from_the_quick_look(
    counted: Classifier,
) -> None:
    assert counted.head.reads_looks
    prediction = counted.classify(widened("cat_domestic_tuxedo.jpg"))
    assert (prediction.breed, prediction.confident) == ("domestic_cat", True)
    assert prediction.confidence >= classifier.head.LOOK_ALONE
    assert counted.backbone.images == 1  # the quick look, no pass of its own for the crop


def test_a_pedigree_close_up_gets_its_crops_answer(counted: Classifier) -> None:
    data = (PHOTOS / "dog_beagle.jpg").read_bytes()
    prediction = counted.classify(data)
    assert counted.backbone.images == 2  # the quick look, then the crop
    # The answer is the crop's, as if the look had never been read.
    image = decode_image(data, min_side=counted.detail_side)
    (candidate,) = counted.candidates(image)
    features = counted.backbone.run(counted._pixels(image, candidate.crop)[None]).features[0]
    probs = counted.head.probabilities(features)
    assert prediction.breed == counted.breeds[int(probs.argmax())].label == "beagle"
    assert prediction.confidence == pytest.approx(float(probs.max()), abs=1e-6)


def test_a_close_up_the_look_is_unsure_of_gets_its_crop(
    counted: Classifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(classifier.head, "LOOK_ALONE", 1.01)  # no look is ever sure enough
    prediction = counted.classify(widened("cat_domestic_tuxedo.jpg"))
    assert counted.backbone.images == 2  # the quick look, then the centre crop
    assert (prediction.breed, len(prediction.pets)) == ("domestic_cat", 1)


def test_photos_up_to_4_3_get_the_centre_crops_pass_first() -> None:
    assert crop_first(1280, 960) and crop_first(960, 1280) and crop_first(500, 500)
    assert not crop_first(1280, 720) and not crop_first(500, 333)


def test_a_pet_filling_the_middle_of_the_centre_crop_is_a_close_up() -> None:
    x0, y0, x1, y1 = centre_box(1280, 960, 300)  # an 840 px square in the middle
    side = x1 - x0
    middle = Region(
        (
            round(x0 + 0.1 * side),
            round(y0 + 0.1 * side),
            round(x1 - 0.1 * side),
            round(y1 - 0.05 * side),
        ),
        (0.0, 0.0, 1280.0, 960.0),
        9.0,
    )
    assert crop_share(middle, 1280, 960, 300)[0] == pytest.approx(0.85, abs=0.01)
    assert fills_crop(middle, 1280, 960, 300, 0.7)
    low = Region(
        (round(x0 + 0.1 * side), round(y0 + 0.3 * side), round(x1 - 0.1 * side), round(y1)),
        (0.0, 0.0, 1280.0, 960.0),
        9.0,
    )  # cut by the crop's bottom edge
    assert not fills_crop(low, 1280, 960, 300, 0.7)
    small = Region((600, 400, 700, 500), (0.0, 0.0, 1280.0, 960.0), 9.0)
    assert not fills_crop(small, 1280, 960, 300, 0.7)


@pytest.mark.parametrize(
    ("name", "breed"),
    [
        ("cat_domestic_tuxedo.jpg", "domestic_cat"),
        ("cat_british_shorthair.jpg", "british_shorthair"),
    ],
)
def test_a_4_3_close_up_is_named_by_its_centre_crops_own_pass(
    counted: Classifier, name: str, breed: str
) -> None:
    data = (PHOTOS / name).read_bytes()
    prediction = counted.classify(data)
    assert counted.backbone.images == 1  # the centre crop's pass, looked at and named
    image = decode_image(data, min_side=counted.detail_side)
    features = counted.backbone.run(counted._pixels(image, (0.0, 0.0, *image.size))[None])
    probs = counted.head.probabilities(features.features[0])
    assert prediction.breed == counted.breeds[int(probs.argmax())].label == breed
    assert prediction.confidence == pytest.approx(float(probs.max()), abs=1e-6)
    assert len(prediction.pets) == 1


def phone_photo(name: str, size: tuple[int, int] = (1280, 960)) -> bytes:
    """The middle 4:3 of a fixture photo at a phone's size."""
    image = Image.open(PHOTOS / name).convert("RGB")
    side = round(image.height * 4 / 3)
    left = (image.width - side) // 2
    image = image.crop((left, 0, left + side, image.height)).resize(size, Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_a_4_3_phone_close_up_is_decoded_small_and_boxed_in_the_photos_pixels(
    counted: Classifier,
) -> None:
    prediction = counted.classify(phone_photo("dog_beagle.jpg"))
    assert counted.backbone.images == 1
    assert prediction.breed == "beagle" and prediction.image_size == (1280, 960)
    (pet,) = prediction.pets
    x0, y0, x1, y1 = pet.box
    assert 0 <= x0 < x1 <= 1280 and 0 <= y0 < y1 <= 960
    assert (x1 - x0) > 0.5 * 960  # boxed in the photo's pixels, not the small decode's


def test_a_small_pet_in_a_4_3_photo_is_found_and_named_at_the_detail_size(
    classifier: Classifier,
) -> None:
    from training.scenes import scene_with

    frame, (placed,) = scene_with(
        Image.open(PHOTOS / "nonpet_landscape.jpg"),
        [(Image.open(PHOTOS / "dog_pug.jpg"), "pug")],
        (1280, 960),
        1 / 3,
        [(0.8, 0.6)],
    )
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=90)
    prediction = classifier.classify(buffer.getvalue())
    (pet,) = prediction.pets
    assert pet.breed == "pug"
    cx, cy = (pet.box[0] + pet.box[2]) / 2, (pet.box[1] + pet.box[3]) / 2
    x0, y0, x1, y1 = placed.box
    assert x0 <= cx <= x1 and y0 <= cy <= y1
