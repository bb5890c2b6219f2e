"""`python -m classifier`: the contract other tools depend on."""

from __future__ import annotations

import json
from pathlib import Path

from PIL import Image

from tests.support.cli import run_cli

from .conftest import NONPET_PHOTOS, PET_PHOTOS, PHOTOS, expected_label


def test_json_lines_and_exit_status_with_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "notes.jpg"
    bad.write_text("not a photo")
    missing = tmp_path / "missing.png"
    pet, nonpet = PET_PHOTOS[0], NONPET_PHOTOS[0]
    result = run_cli("--json", "--top", "2", str(pet), str(bad), str(nonpet), str(missing))
    assert result.returncode == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["path"] for line in lines] == [str(pet), str(bad), str(nonpet), str(missing)]

    first = lines[0]
    assert set(first) == {
        "path",
        "is_pet",
        "species",
        "breed",
        "confidence",
        "confident",
        "top",
        "pets",
    }
    assert isinstance(first["confident"], bool)
    # The fields describe the most prominent pet, the first of "pets".
    assert len(first["pets"]) == 1
    found = first["pets"][0]
    assert set(found) == {"box", "species", "breed", "confidence", "confident", "top"}
    assert (found["breed"], found["confidence"], found["top"]) == (
        first["breed"],
        first["confidence"],
        first["top"],
    )
    assert len(found["box"]) == 4 and all(isinstance(v, int) for v in found["box"])
    species, label = expected_label(pet)
    assert (first["is_pet"], first["species"], first["breed"]) == (True, species, label)
    assert isinstance(first["confidence"], float)
    assert len(first["top"]) == 2
    assert set(first["top"][0]) == {"breed", "confidence"}

    assert set(lines[1]) == {"path", "error"} and "not an image" in lines[1]["error"]
    assert lines[2]["is_pet"] is False and lines[2]["breed"] is None
    assert lines[2]["species"] is None and lines[2]["top"] == [] and lines[2]["pets"] == []
    assert set(lines[3]) == {"path", "error"}


def test_readable_output_and_success_status() -> None:
    result = run_cli(*(str(p) for p in PET_PHOTOS[:2]), str(NONPET_PHOTOS[0]))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3
    assert "%" in lines[0] and "no cat or dog" in lines[2]


def test_usage_errors() -> None:
    assert run_cli().returncode == 2
    assert run_cli("--top", "0", str(PET_PHOTOS[0])).returncode == 2


def test_json_lists_every_pet_with_boxes_in_upright_pixels() -> None:
    scene = PHOTOS / "scene_cat_and_dog.jpg"
    result = run_cli("--json", str(scene))
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    width, height = Image.open(scene).size
    assert [p["species"] for p in sorted(answer["pets"], key=lambda p: p["box"][0])] == [
        "cat",
        "dog",
    ]
    for pet in answer["pets"]:
        x0, y0, x1, y1 = pet["box"]
        assert 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
    assert answer["breed"] == answer["pets"][0]["breed"]
