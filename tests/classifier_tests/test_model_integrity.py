"""The model card, the label file and the model files must agree, or the classifier refuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from classifier import Classifier, ClassifierSettings, ModelIntegrityError
from classifier.imagenet import PROBE_MARGIN, is_pet, is_pet_crop, probe_bar
from classifier.labels import SOURCES, load_labels
from classifier.model_card import sha256_file

from .conftest import PET_PHOTOS

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "model"
CARD = json.loads((MODEL / "model_card.json").read_text())


def test_card_lists_the_labels_file_in_order() -> None:
    labels = load_labels(ROOT / "unique_labels.csv")
    assert [entry["label"] for entry in CARD["labels"]] == [b.label for b in labels]
    assert [entry["display_name"] for entry in CARD["labels"]] == [b.display_name for b in labels]
    assert [entry["pedigree"] for entry in CARD["labels"]] == [b.pedigree for b in labels]
    by_source = {s: [b for b in labels if b.source == s] for s in SOURCES}
    assert len(by_source["oxford-iiit-pet"]) == 37
    assert sum(b.species == "cat" for b in by_source["oxford-iiit-pet"]) == 12
    assert len(by_source["stanford-dogs"]) == 96
    assert all(b.species == "dog" and b.pedigree for b in by_source["stanford-dogs"])
    assert [(b.label, b.species, b.pedigree) for b in by_source["kaggle-dogs-vs-cats"]] == [
        ("domestic_cat", "cat", False),
        ("mixed_breed_dog", "dog", False),
    ]
    # Every breed with an ImageNet class keeps its index: 22 Oxford dogs, the 96 Stanford ones
    # (the American cocker shares ImageNet's cocker spaniel with the English one).
    dogs = {b.imagenet_index for b in labels if b.species == "dog" and b.imagenet_index}
    assert dogs == set(range(151, 269)) - {251}  # no dalmatian photos, so no dalmatian label


def test_labels_file_refuses_a_bad_pedigree_column(tmp_path: Path) -> None:
    text = (ROOT / "unique_labels.csv").read_text()
    bad = tmp_path / "labels.csv"
    bad.write_text(
        text.replace(
            "domestic_cat,Domestic cat,cat,kaggle-dogs-vs-cats,,no",
            "domestic_cat,Domestic cat,cat,kaggle-dogs-vs-cats,,yes",
        )
    )
    assert bad.read_text() != text
    with pytest.raises(ModelIntegrityError, match="bad row"):
        load_labels(bad)


def test_checksums_in_the_card_match_the_files() -> None:
    assert CARD["files"]
    for name, entry in CARD["files"].items():
        assert sha256_file(MODEL / name) == entry["sha256"], name


def test_card_records_metrics_per_group_and_how_they_were_made() -> None:
    metrics = CARD["metrics"]
    for key in ("top1_mean_per_class", "top1_original", "ece", "top3", "right_and_sure"):
        assert 0.0 <= metrics["oxford-pets"][key] <= 1.0
    for key in ("top1", "right_and_sure", "sure_but_wrong"):
        assert 0.0 <= metrics["dogs-extra"]["popular"][key] <= 1.0
    for species in ("cat", "dog"):
        ordinary = metrics["pets-generic"][species]
        assert 0.0 <= ordinary["confident_pedigree"] <= ordinary["answered_non_pedigree"] + 1
    gate = metrics["pet_gate"]
    assert 0.0 <= gate["nonpet_rejected"] <= 1.0
    # The probe's bar stands clear of every non-pet photo scored by a probe fitted without it.
    assert CARD["pet_gate"]["probe_bar"] == gate["probe_bar"]
    assert gate["probe_bar"] >= gate["nonpet_probe_max_out_of_fold"] + PROBE_MARGIN
    assert CARD["confident_threshold"] == metrics["confident_threshold"]
    assert "training.pipeline" in CARD["training"]["command"]
    markdown = (MODEL / "MODEL_CARD.md").read_text()
    for entry in CARD["files"].values():
        assert entry["sha256"] in markdown


def test_gate_takes_imagenet_mass_or_a_probe_past_its_bar() -> None:
    mass, probe = [0.5, 0.1, 0.1], [-9.0, 4.0, 3.9]
    assert is_pet(mass, probe, threshold=0.2, probe_bar=4.0).tolist() == [True, True, False]
    assert probe_bar(np.array([-3.0, 2.91])) == 4.0  # 3.91 rounded up to a half
    assert probe_bar(np.array([2.5])) == 3.5


def test_zoomed_crop_gate_needs_the_probe_agreeing_and_takes_less_mass_when_it_is_sure() -> None:
    # the photo's mass with the probe agreeing; most of the mass with the probe sure; the probe
    # alone (a zoomed crop of a geyser); the mass alone (the probe disagreeing)
    mass, probe = [0.2, 0.15, 0.12, 0.5], [0.1, 2.5, 5.8, -0.1]
    assert is_pet_crop(mass, probe, threshold=0.2).tolist() == [True, True, False, False]


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


def test_pedigree_that_does_not_match_the_card_is_refused(tmp_path: Path) -> None:
    text = (ROOT / "unique_labels.csv").read_text()
    changed = tmp_path / "labels.csv"
    changed.write_text(text.replace("mixed_breed_dog,", "mixed_dog,"))
    assert changed.read_text() != text
    with pytest.raises(ModelIntegrityError, match="labels"):
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
