"""Where the training photos come from: the data folder option, the official Oxford-IIIT Pet
layout, the label mapping of the Stanford and Kaggle folders, and one clear message (not a
traceback) when the photos are missing. Needs no TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from classifier.labels import DOMESTIC_CAT, MIXED_BREED_DOG, load_labels
from training import data

from .conftest import PHOTOS

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def test_data_folder_comes_from_the_option_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(data.DATA_ENV, raising=False)
    assert data.resolve_data_dir(None) == data.DEFAULT_DATA_DIR
    monkeypatch.setenv(data.DATA_ENV, str(tmp_path))
    assert data.resolve_data_dir(None) == tmp_path
    assert data.resolve_data_dir(tmp_path / "other") == tmp_path / "other"


def test_official_oxford_download_layout_is_read(tmp_path: Path) -> None:
    oxford = tmp_path / "oxford-pets"
    (oxford / "images").mkdir(parents=True)
    (oxford / "annotations").mkdir()
    shutil.copy(PHOTOS / "dog_beagle.jpg", oxford / "images" / "beagle_111.jpg")
    shutil.copy(PHOTOS / "cat_siamese.jpg", oxford / "images" / "Siamese_115.jpg")
    (oxford / "annotations" / "trainval.txt").write_text(
        "#Image CLASS-ID SPECIES BREED ID\nbeagle_111 12 2 5\nSiamese_115 33 1 11\n"
    )
    photos = data.load_oxford(tmp_path)
    assert [(p.label, p.kind, p.path.exists()) for p in photos] == [
        ("beagle", "original", True),
        ("siamese", "original", True),
    ]


def test_missing_photos_end_with_one_clear_message(tmp_path: Path) -> None:
    with pytest.raises(data.MissingDataError, match=r"docs/data\.md"):
        data.load_oxford(tmp_path)
    pytest.importorskip("scipy", reason="the pipeline needs the `train` extra (make install-train)")
    result = subprocess.run(
        [sys.executable, "-m", "training.pipeline", "--data", str(tmp_path / "nowhere")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "docs/data.md" in result.stderr and "--data DIR" in result.stderr


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside the checkout")
def test_every_training_folder_maps_onto_the_label_file() -> None:
    known = {b.label for b in load_labels(ROOT / "unique_labels.csv")}
    for group, loader in data.LOADERS.items():
        labels = {p.label for p in loader(SHARED)}
        assert labels <= known, (group, sorted(labels - known))
    assert {p.label for p in data.load_generic(SHARED)} == {DOMESTIC_CAT, MIXED_BREED_DOG}
    assert len({p.label for p in data.load_dogs_extra(SHARED)}) == 96
    assert set(data.POPULAR_DOG_BREEDS) <= known


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not beside the checkout")
def test_test_photos_are_never_trained_on() -> None:
    pinned = data.fixture_sources()
    assert any(s.startswith("pets-generic/") for s in pinned)
    assert any(s.startswith("dogs-extra/") for s in pinned)
    for loader in data.LOADERS.values():
        photos = loader(SHARED)
        train, _ = data.split(photos, data.HOLDOUT, 20261126)
        assert not {p.relative(SHARED) for p in train} & pinned


def _photos(counts: dict[str, int]) -> list[data.Photo]:
    return [
        data.Photo(Path(f"/x/{label}/{i}.jpg"), label, "squashed_square", data.DOGS_EXTRA)
        for label, n in counts.items()
        for i in range(n)
    ]


def test_calibration_folds_are_stratified_quarters() -> None:
    """Every Stanford / ordinary-pet training photo calibrates, scored by a head fitted
    without its fold; fold 0 is the quarter ``data.split`` draws first."""
    train = _photos({"labrador_retriever": 80, "affenpinscher": 28, MIXED_BREED_DOG: 640})
    fold = data.folds(train, 4, 7)
    assert sorted(set(fold)) == [0, 1, 2, 3]
    for label in {p.label for p in train}:
        of_label = np.array([p.label == label for p in train])
        for k in range(4):
            assert abs((fold[of_label] == k).mean() - 0.25) < 0.02
    _, first = data.split(train, 1 / 4, 7)
    assert {p.path for p in first} == {p.path for p, f in zip(train, fold, strict=True) if f == 0}


def test_popularity_prior_puts_the_photo_counts_back_among_pedigree_breeds() -> None:
    labels = load_labels(ROOT / "unique_labels.csv")
    photos = _photos({"labrador_retriever": 100, "affenpinscher": 35, MIXED_BREED_DOG: 700})
    prior = dict(zip((b.label for b in labels), data.popularity_prior(photos, labels), strict=True))
    assert prior["labrador_retriever"] == 0.0
    assert prior["affenpinscher"] == pytest.approx(np.log(0.35))
    assert prior[MIXED_BREED_DOG] == 0.0  # the non-pedigree outcomes have a prior of their own
    assert prior["beagle"] == pytest.approx(np.log(1 / 100))  # no photos: as if it had one


def test_pedigree_photos_are_also_trained_on_as_the_ordinary_pets_copies() -> None:
    """A photo bigger than the ordinary pets' copies gets a view made like them (a 200 px square,
    JPEG): make train reads the hold-out's to see whether size reads as breed, and trains on the
    pedigree cats' (--small-copies). A photo about that size gets none."""
    from PIL import Image

    beagle = Image.open(PHOTOS / "dog_beagle.jpg")  # 500x333, an Oxford original
    copy = data.small_copy(beagle)
    assert copy is not None and copy.size == (data.SMALL_COPY_SIDE, data.SMALL_COPY_SIDE)
    assert copy.mode == "RGB"
    assert data.small_copy(Image.open(PHOTOS / "dog_labrador_retriever.jpg")) is None  # 224 px
    assert data.small_copy(Image.open(PHOTOS / "cat_domestic_tabby.jpg")) is None  # 200 px

    # Joined to the photos' other views (--small-copies), they are trained on, never read as the
    # photo itself.
    plain = feature_rows(photo=[0, 1], view=[0, 0], flip=[False, False], value=0.0)
    copies = feature_rows(photo=[1, 1], view=[data.SMALL_COPY_VIEW] * 2, flip=[False, True])
    both = plain.with_rows(copies)
    assert list(both.training_rows(np.array([1]))) == [1, 2, 3]
    assert both.plain()[0].tolist() == np.zeros((2, 3)).tolist()
    features, which = both.view_of(data.SMALL_COPY_VIEW, np.array([0, 1]))
    assert which.tolist() == [1] and features.tolist() == [[1.0, 1.0, 1.0]]
    assert plain.with_rows(feature_rows(photo=[], view=[], flip=[])) is plain


def test_make_train_joins_only_the_pedigree_cats_small_copies_by_default() -> None:
    """Size read as "domestic cat" (21% of the hold-out's pedigree cats made small), far less as
    "mixed breed": the cats' copies are trained on, the dogs' only measured."""
    pytest.importorskip("scipy")
    from classifier.labels import load_labels
    from training.pipeline import SMALL_COPY_SPECIES, parse_args, with_small_copies

    labels = load_labels(ROOT / "unique_labels.csv")
    photos = [
        data.Photo(PHOTOS / "cat_siamese.jpg", "siamese", "original"),
        data.Photo(PHOTOS / "dog_beagle.jpg", "beagle", "original"),
    ]
    plain = feature_rows(photo=[0, 1], view=[0, 0], flip=[False, False], value=0.0, photos=photos)
    copies = feature_rows(
        photo=[0, 0, 1, 1],
        view=[data.SMALL_COPY_VIEW] * 4,
        flip=[False, True, False, True],
        photos=photos,
    )
    assert parse_args(["--backbone", "imagenet"]).small_copies == "cats"
    joined = {
        kind: with_small_copies({"g": plain}, {"g": copies}, SMALL_COPY_SPECIES[kind], labels)["g"]
        for kind in SMALL_COPY_SPECIES
    }
    assert joined["none"].photo.tolist() == [0, 1]
    assert joined["cats"].photo.tolist() == [0, 1, 0, 0]  # the Siamese's copy and its mirror
    assert joined["all"].photo.tolist() == [0, 1, 0, 0, 1, 1]


def feature_rows(
    photo: list[int],
    view: list[int],
    flip: list[bool],
    value: float = 1.0,
    photos: Sequence[data.Photo] = (),
):
    """A FeatureSet whose rows are the photos' views given, every feature ``value``."""
    from training.features import FeatureSet

    n = len(photo)
    return FeatureSet(
        np.full((n, 3), value),
        np.full((n, 5), value),
        np.array(photo),
        np.array(view),
        np.array(flip, bool),
        list(photos),
    )
