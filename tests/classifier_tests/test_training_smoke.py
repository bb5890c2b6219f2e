"""A small run of the whole training pipeline, so `make train` cannot rot (needs TensorFlow)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifier import Classifier, ClassifierSettings

from .conftest import PET_PHOTOS

pytest.importorskip("tensorflow", reason="needs the train extra: run `make install-train`")
pytestmark = pytest.mark.train

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout")
@pytest.mark.parametrize("backbone", ["fine-tuned", "imagenet"])
def test_smoke_pipeline_builds_a_model_the_classifier_serves(tmp_path: Path, backbone) -> None:
    from training.pipeline import main

    out = tmp_path / "model"
    args = ["--smoke", "--out", str(out), "--work", str(tmp_path / "work")]
    if backbone == "imagenet":
        args += ["--backbone", "imagenet"]
    assert main(args) == 0

    card = json.loads((out / "model_card.json").read_text())
    assert card["name"].endswith("-smoke")
    assert card["version"].startswith("3." if backbone == "fine-tuned" else "1.")
    # Every group is measured on its own hold-out, and the calibration is recorded.
    for group in ("oxford-pets", "dogs-extra", "pets-generic"):
        assert card["metrics"][group]["n"] > 0
    # The big Oxford photos are also read as the ordinary pets' small copies (size as breed?).
    assert card["metrics"]["oxford-pets"]["small_copies"]["n"] > 0
    calibration = card["training"]["calibration"]
    assert 0.5 <= calibration["confident_threshold"] <= 0.95
    assert calibration["temperature"] > 0
    assert {"confusion_matrix.png", "reliability.png", "MODEL_CARD.md"} <= {
        p.name for p in out.iterdir()
    }
    classifier = Classifier(
        ClassifierSettings(model_dir=out, labels_path=ROOT / "unique_labels.csv")
    )
    prediction = classifier.classify(PET_PHOTOS[0].read_bytes())
    assert 0.0 <= prediction.confidence <= 1.0


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout")
def test_holdout_seed_draws_the_other_groups_again_and_keeps_oxford() -> None:
    from classifier.labels import load_labels
    from training.pipeline import parse_args, split_data

    labels = load_labels(ROOT / "unique_labels.csv")
    shipped = split_data(parse_args(["--smoke"]), labels)
    again = split_data(parse_args(["--smoke", "--holdout-seed", "7"]), labels)
    for group, split in shipped.groups.items():
        same = set(split.held.tolist()) == set(again.groups[group].held.tolist())
        assert same == (group == "oxford-pets"), group


def test_make_train_reuses_the_committed_export_and_finder(tmp_path: Path) -> None:
    """TensorFlow's int8 conversion and torch's fit of the finder round differently on another
    processor, so make train takes the committed model's results for the same inputs: the model
    folder then comes out the same on every machine."""
    from classifier.model_card import sha256_file
    from training.pipeline import (
        FINDER_NAME,
        FINETUNED,
        SHIPPED_MODEL,
        TFLITE_NAME,
        shipped_export,
        shipped_finder,
    )

    card = json.loads((SHIPPED_MODEL / "model_card.json").read_text())
    weights, size, seed = sha256_file(FINETUNED), card["input_size"], card["training"]["seed"]
    assert card["made_from"]["export"] == {"weights": weights, "input_size": size, "seed": seed}
    found = shipped_export(weights, size, seed)
    assert found == (SHIPPED_MODEL / TFLITE_NAME, card["metrics"]["quantisation"])
    # Other weights, size or seed: converted anew.
    assert shipped_export("imagenet-lite2", size, seed) is None
    assert shipped_export(weights, size + 32, seed) is None
    assert shipped_export(weights, size, seed + 1) is None

    fit = shipped_finder(card["made_from"]["finder"])
    assert fit is not None and fit.inputs == card["made_from"]["finder"]
    assert fit.validation["cell_accuracy"] == card["metrics"]["pet_finder"]["cell_accuracy"]
    assert shipped_finder("other looks") is None
    fit.finder.save(tmp_path / FINDER_NAME)  # as make train writes it: the same bytes
    assert (tmp_path / FINDER_NAME).read_bytes() == (SHIPPED_MODEL / FINDER_NAME).read_bytes()
