"""A close-up read off the quick look (classifier.head: two views of a close-up): the look's
feature map pooled over the centre crop, the look's own standardiser, and the centre crop's
pass only when the look is unsure."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import classifier.head
from classifier import Classifier
from classifier.decode import decode_image
from classifier.head import LinearHead, look_alone
from classifier.locate import region_features

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
    prediction = counted.classify((PHOTOS / "cat_domestic_tuxedo.jpg").read_bytes())
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
    prediction = counted.classify((PHOTOS / "cat_domestic_tuxedo.jpg").read_bytes())
    assert counted.backbone.images == 2  # the quick look, then the centre crop
    assert (prediction.breed, len(prediction.pets)) == ("domestic_cat", 1)
