"""The model card, the label file and the model files must agree, or the classifier refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from classifier import Classifier, ClassifierSettings, ModelIntegrityError
from classifier.labels import load_labels, split_sources
from classifier.model_card import sha256_file

from .conftest import PET_PHOTOS

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "model"
CARD = json.loads((MODEL / "model_card.json").read_text())


def test_card_lists_the_labels_file_in_order() -> None:
    labels, extra = split_sources(load_labels(ROOT / "unique_labels.csv"))
    assert [entry["label"] for entry in CARD["labels"]] == [b.label for b in labels]
    assert [entry["display_name"] for entry in CARD["labels"]] == [b.display_name for b in labels]
    assert len(labels) == 37
    assert sum(b.species == "cat" for b in labels) == 12
    other = CARD["other_dog_breeds"]["labels"]
    assert [(e["label"], e["imagenet_index"]) for e in other] == [
        (b.label, b.imagenet_index) for b in extra
    ]
    # ImageNet's 118 dog classes (151-268): 22 are Oxford breeds, the other 96 are extra.
    mapped = {b.imagenet_index for b in labels if b.species == "dog" and b.imagenet_index}
    assert len(mapped) == 22 and len(extra) == 96
    assert mapped | {b.imagenet_index for b in extra} == set(range(151, 269))
    assert all(b.species == "dog" for b in extra)


def test_checksums_in_the_card_match_the_files() -> None:
    assert CARD["files"]
    for name, entry in CARD["files"].items():
        assert sha256_file(MODEL / name) == entry["sha256"], name


def test_card_records_metrics_and_how_they_were_made() -> None:
    holdout = CARD["metrics"]["holdout"]
    for key in ("top1_mean_per_class", "top1_original", "ece", "top3"):
        assert 0.0 <= holdout[key] <= 1.0
    assert "training.pipeline" in CARD["training"]["command"]
    markdown = (MODEL / "MODEL_CARD.md").read_text()
    for entry in CARD["files"].values():
        assert entry["sha256"] in markdown


def copy_model(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(MODEL, target)
    return target


def settings_for(model_dir: Path, labels: Path | None = None) -> ClassifierSettings:
    return ClassifierSettings(model_dir=model_dir, labels_path=labels or ROOT / "unique_labels.csv")


def test_a_copy_of_the_model_loads_and_answers(tmp_path: Path) -> None:
    classifier = Classifier(settings_for(copy_model(tmp_path)))
    assert classifier.classify(PET_PHOTOS[0].read_bytes()).is_pet


def test_tampered_model_file_is_refused(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path)
    head = model_dir / "breed_head.npz"
    head.write_bytes(head.read_bytes() + b"\x00")
    with pytest.raises(ModelIntegrityError, match="checksum"):
        Classifier(settings_for(model_dir))


def test_missing_model_file_is_refused(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path)
    (model_dir / "breed_model.tflite").unlink()
    with pytest.raises(ModelIntegrityError, match="missing"):
        Classifier(settings_for(model_dir))


def test_labels_that_do_not_match_are_refused(tmp_path: Path) -> None:
    lines = (ROOT / "unique_labels.csv").read_text().splitlines()
    swapped = tmp_path / "labels.csv"
    swapped.write_text("\n".join([lines[0], lines[2], lines[1], *lines[3:]]) + "\n")
    with pytest.raises(ModelIntegrityError, match="labels"):
        Classifier(settings_for(MODEL, swapped))


def test_extra_breeds_that_do_not_match_are_refused(tmp_path: Path) -> None:
    text = (ROOT / "unique_labels.csv").read_text()
    changed = tmp_path / "labels.csv"
    changed.write_text(
        text.replace(
            "german_shepherd,German Shepherd,dog,imagenet,235",
            "german_shepherd,German Shepherd,dog,imagenet,236",
        )
    )
    assert changed.read_text() != text
    with pytest.raises(ModelIntegrityError, match="ImageNet dog breeds"):
        Classifier(settings_for(MODEL, changed))


def test_missing_card_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelIntegrityError, match="model card"):
        Classifier(settings_for(tmp_path))


def test_serving_never_imports_tensorflow_keras_or_torch() -> None:
    code = (
        "import sys, classifier\n"
        f"p = classifier.get_classifier().classify(open({str(PET_PHOTOS[0])!r}, 'rb').read())\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'torch') if m in sys.modules]\n"
        "assert p.is_pet and not heavy, heavy\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
