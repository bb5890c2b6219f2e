"""The real classifier on real photos that it never saw in training."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from classifier import Classifier, get_classifier

from .conftest import NONPET_PHOTOS, PET_PHOTOS, PHOTOS, expected_label

# The bullmastiff is a breed beyond the 37 that the breed head confidently mistakes for a
# lookalike among them (see the test at the end of the ImageNet-only breed tests).
ANSWERABLE = [p for p in PET_PHOTOS if p.stem != "dog_bullmastiff"]


@pytest.mark.parametrize("path", ANSWERABLE, ids=lambda p: p.stem)
def test_pet_photo_gets_its_breed(classifier: Classifier, path: Path) -> None:
    species, label = expected_label(path)
    prediction = classifier.classify(path.read_bytes())
    assert prediction.is_pet
    assert prediction.species == species
    # Hold-out top-1 is about 9 in 10 and top-3 about 99 in 100 (model card): the right breed
    # must be among the three answers the bot shows; most photos must be right outright.
    assert label in [guess.breed for guess in prediction.top]
    assert 0.0 < prediction.confidence <= 1.0
    assert prediction.top[0].breed == prediction.breed
    assert prediction.display_name == prediction.top[0].display_name


def test_dog_breeds_beyond_the_37_come_from_the_imagenet_head(classifier: Classifier) -> None:
    label = "dalmatian"
    prediction = classifier.classify((PHOTOS / f"dog_{label}.jpg").read_bytes())
    assert (prediction.is_pet, prediction.species, prediction.breed) == (True, "dog", label)
    assert label in {b.label for b in classifier.extra_breeds}
    assert prediction.top[0].breed == label
    # The breed head's guesses follow, scaled so the list stays a distribution.
    assert sum(g.confidence for g in prediction.top) <= 1.0 + 1e-6


def test_a_confident_answer_among_the_37_is_never_overruled(classifier: Classifier) -> None:
    # The ImageNet head calls this photo a bullmastiff, but the breed head is confident it is a
    # boxer (a lookalike among the 37), and a confident answer is never overruled: a known
    # limit of the stretch (docs/model.md), the price of never overruling the 37.
    prediction = classifier.classify((PHOTOS / "dog_bullmastiff.jpg").read_bytes())
    assert (prediction.is_pet, prediction.species) == (True, "dog")
    assert prediction.confident
    assert prediction.breed in {b.label for b in classifier.breeds}


def test_oxford_photos_are_not_given_imagenet_only_breeds(classifier: Classifier) -> None:
    for path in PET_PHOTOS:
        prediction = classifier.classify(path.read_bytes())
        if prediction.breed in {b.label for b in classifier.extra_breeds}:
            assert expected_label(path)[1] == prediction.breed, path.name


def test_most_pet_photos_are_right_outright(classifier: Classifier) -> None:
    right = [
        classifier.classify(path.read_bytes()).breed == expected_label(path)[1]
        for path in ANSWERABLE
    ]
    assert sum(right) >= len(right) - 2, right


@pytest.mark.parametrize("path", NONPET_PHOTOS, ids=lambda p: p.stem)
def test_nonpet_photo_is_not_given_a_breed(classifier: Classifier, path: Path) -> None:
    prediction = classifier.classify(path.read_bytes())
    assert not prediction.is_pet
    assert prediction.breed is None and prediction.species is None and prediction.top == ()
    assert prediction.to_dict()["breed"] is None


def test_top_k_is_sorted_probabilities(classifier: Classifier) -> None:
    prediction = classifier.classify(PET_PHOTOS[0].read_bytes(), top_k=5)
    confidences = [g.confidence for g in prediction.top]
    assert len(confidences) == 5
    assert confidences == sorted(confidences, reverse=True)
    assert sum(confidences) <= 1.0 + 1e-6
    assert {g.breed for g in prediction.top} <= {b.label for b in classifier.breeds}


def test_display_names_are_human(classifier: Classifier) -> None:
    names = {b.label: b.display_name for b in classifier.breeds}
    assert names["british_shorthair"] == "British Shorthair"
    assert names["american_pit_bull_terrier"] == "American Pit Bull Terrier"
    assert len(names) == 37
    assert {b.species for b in classifier.breeds} == {"cat", "dog"}


def test_one_instance_per_process() -> None:
    assert get_classifier() is get_classifier()


def test_concurrent_callers_get_the_same_answers(classifier: Classifier) -> None:
    photos = [p.read_bytes() for p in PET_PHOTOS + NONPET_PHOTOS]
    sequential = [classifier.classify(data) for data in photos]
    with ThreadPoolExecutor(max_workers=6) as pool:
        concurrent = list(pool.map(classifier.classify, photos * 3))
    assert concurrent == sequential * 3


def test_same_photo_other_formats_same_breed(classifier: Classifier) -> None:
    import io

    from PIL import Image

    path = PET_PHOTOS[0]
    expected = classifier.classify(path.read_bytes()).breed
    image = Image.open(path)
    for fmt in ("PNG", "WEBP", "BMP", "TIFF", "GIF"):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        assert classifier.classify(buffer.getvalue()).breed == expected, fmt
