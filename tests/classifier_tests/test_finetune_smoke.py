"""The fine-tuning code runs and its checkpoints feed the Keras export (needs the `train` extra).

The real fine-tuning runs on a GPU (`make finetune`); here a few photos for one tiny epoch on
the CPU prove the plumbing: prepare -> train -> checkpoint -> Keras model.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from classifier.decode import decode_image
from classifier.preprocess import to_model_input

from .conftest import PET_PHOTOS

pytest.importorskip("torch", reason="needs the train extra: run `make install-train`")
pytest.importorskip("tensorflow", reason="needs the train extra: run `make install-train`")
pytestmark = pytest.mark.train

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"


def test_torch_network_matches_the_keras_port_that_gets_exported() -> None:
    import torch

    from training.efficientnet_lite import build_model, load_state_dict
    from training.torch_lite import EfficientNetLite, numpy_state

    state = load_state_dict("lite0")
    pixels = np.stack([to_model_input(decode_image(p.read_bytes()), 224) for p in PET_PHOTOS[:2]])
    keras_features, keras_logits, _ = build_model("lite0", state=state).predict(
        pixels.astype(np.float32), verbose=0
    )
    network = EfficientNetLite(state).eval()
    with torch.no_grad():
        features, logits = network(torch.from_numpy(pixels).permute(0, 3, 1, 2).float())

    np.testing.assert_allclose(features.numpy(), keras_features, atol=1e-3)
    np.testing.assert_allclose(logits.numpy(), keras_logits, atol=1e-3)
    assert numpy_state(network).keys() == state.keys()
    with torch.no_grad():  # a frozen bottom's split computes the same network
        split = network.top(
            network.bottom(torch.from_numpy(pixels).permute(0, 3, 1, 2).float(), 7), 7
        )
    np.testing.assert_allclose(split[1].numpy(), logits.numpy(), atol=1e-5)


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout")
def test_prepare_train_and_export_a_checkpoint(tmp_path: Path) -> None:
    from training.data import fixture_sources
    from training.efficientnet_lite import build_model, load_finetuned
    from training.finetune import main

    prepared, runs = tmp_path / "data", tmp_path / "runs"
    assert main(["prepare", "--out", str(prepared), "--limit", "40"]) == 0
    with (prepared / "manifest.csv").open(newline="") as handle:
        sources = {row["source"] for row in csv.DictReader(handle)}
    assert sources and not sources & fixture_sources()  # test photos are never trained on
    train_args = ["--data", str(prepared), "--out", str(runs), "--epochs", "1", "--batch", "16"]
    assert main(["train", *train_args, "--eval-size", "224"]) == 0

    state, meta = load_finetuned(runs / "long-kd3.npz")
    assert meta["config"]["name"] == "long-kd3" and meta["config"]["epochs"] == 1
    assert meta["validation_photos"] and all(
        p.startswith("oxford-pets/") for p in meta["validation_photos"]
    )
    summary = json.loads((runs / "summary.json").read_text())
    assert 0.0 <= summary[0]["final"]["val_top1"] <= 1.0
    model = build_model("lite2", state=state, input_size=64)
    assert model.output_shape == [(None, 1280), (None, 1000), (None, 2, 2, 1280)]


@pytest.mark.skipif(not DATA.is_dir(), reason="../shared/data is not beside the checkout")
def test_every_group_on_from_the_checkpoint_keeps_calibration_photos_unseen(
    tmp_path: Path,
) -> None:
    """The open-world run (every group, on from the committed checkpoint) records every photo
    its weights have seen, the checkpoint's Oxford ones included, and make train then
    calibrates only on the others."""
    import argparse

    from training import data
    from training.efficientnet_lite import load_finetuned
    from training.finetune import CONFIGS, main
    from training.pipeline import FINETUNED, calibration_folds

    prepared, runs = tmp_path / "data", tmp_path / "runs"
    init = ["--init", str(FINETUNED)]
    args = ["prepare", "--out", str(prepared), "--groups", "all", "--limit", "50", *init]
    assert main([*args, "--short-side", "224", "--quality", "45", "--val-sample", "5"]) == 0
    with (prepared / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {r["group"] for r in rows if r["subset"] == "fit"} == set(data.PET_GROUPS)
    labels = json.loads((prepared / "labels.json").read_text())
    assert "domestic_cat" in labels and "golden_retriever" in labels and len(labels) > 37
    lineage = json.loads((prepared / "lineage.json").read_text())
    _, checkpoint = load_finetuned(FINETUNED)
    assert lineage["groups"] == [data.OXFORD]
    assert not set(lineage["fine_tuned_on"]) & set(checkpoint["validation_photos"])
    assert not {r["source"] for r in rows if r["subset"] == "val"} & set(lineage["fine_tuned_on"])

    train_args = ["--data", str(prepared), "--out", str(runs), "--epochs", "1", "--batch", "8"]
    train_args += ["--configs", "open-kd3", "open-top-kd3", "--limit", "3", "--eval-size", "64"]
    assert main(["train", *train_args, *init]) == 0
    _, meta = load_finetuned(runs / "open-kd3.npz")
    # The CPU configuration keeps the stem and its frozen blocks as the checkpoint's.
    start, _ = load_finetuned(FINETUNED)
    top, _ = load_finetuned(runs / "open-top-kd3.npz")
    kept = CONFIGS["open-top-kd3"].frozen_blocks
    for name in ("_conv_stem.weight", f"_blocks.{kept - 1}._project_conv.weight"):
        np.testing.assert_array_equal(top[name], start[name])
    assert not np.array_equal(
        top[f"_blocks.{kept}._project_conv.weight"], start[f"_blocks.{kept}._project_conv.weight"]
    )
    assert meta["groups"] == sorted(data.PET_GROUPS)
    seen = set(meta["fine_tuned_on"])
    assert set(lineage["fine_tuned_on"]) <= seen
    summary = json.loads((runs / "summary.json").read_text())
    assert 0.0 <= summary[0]["final"]["pets-generic_non_pedigree"] <= 1.0

    pipeline_args = argparse.Namespace(
        smoke=False,
        data_dir=DATA,
        seed=20261126,
        calibration_folds=4,
        validation_photos=meta["validation_photos"],
        fine_tuned_on=seen,
    )
    for group in data.PET_GROUPS:
        train, held = data.split(data.LOADERS[group](DATA), data.HOLDOUT, 20261126)
        fold = calibration_folds(pipeline_args, group, train, held)
        calibrating = {p.relative(DATA) for p, f in zip(train, fold, strict=True) if f >= 0}
        assert calibrating and not calibrating & seen
        assert {p.relative(DATA) for p in train} - calibrating <= seen
        # A hold-out holding a photo the backbone was tuned on (another draw) is refused.
        tuned = next(p for p in train if p.relative(DATA) in seen)
        rest = [p for p in train if p is not tuned]
        with pytest.raises(SystemExit, match="hold-out"):
            calibration_folds(pipeline_args, group, rest, [*held, tuned])
