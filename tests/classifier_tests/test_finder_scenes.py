"""The pet finder's training scenes (training.finder): seeded plans, pets inside the frame, and
boxes that say where each pasted pet is. Real fixture photos; no TensorFlow or torch."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from classifier.finder import cell_targets
from training import finder
from training.data import SQUASHED, Photo

from .conftest import NONPET_PHOTOS, PET_PHOTOS


def _photos() -> tuple[list[Photo], list[Photo]]:
    pets = [Photo(p, "beagle", SQUASHED if i % 2 else "original") for i, p in enumerate(PET_PHOTOS)]
    backgrounds = [Photo(p, None, "nonpet:object") for p in NONPET_PHOTOS]
    return pets, backgrounds


def test_plans_are_seeded() -> None:
    pets, backgrounds = _photos()
    assert finder.plan_scenes(pets, backgrounds, 20, seed=3) == finder.plan_scenes(
        pets, backgrounds, 20, seed=3
    )
    assert finder.plan_scenes(pets, backgrounds, 20, seed=3) != finder.plan_scenes(
        pets, backgrounds, 20, seed=4
    )


def test_every_pet_is_pasted_inside_the_frame_where_its_box_says() -> None:
    pets, backgrounds = _photos()
    plans = [p for p in finder.plan_scenes(pets, backgrounds, 40, seed=1) if p.pets][:6]
    assert plans
    for plan in plans:
        jpeg, placed = finder.render(plan)
        frame = Image.open(io.BytesIO(jpeg))
        assert frame.size == plan.frame
        assert len(placed) == len(plan.pets)
        for (x0, y0, x1, y1), hidden in placed:
            assert 0 <= x0 < x1 <= frame.width and 0 <= y0 < y1 <= frame.height
            assert 0.0 <= hidden <= 1.0
        # The last pet pasted is never hidden; its box's cells are pet cells.
        box, hidden = placed[-1]
        assert hidden == 0.0
        label, _, weight = cell_targets(7, 12, frame.width, frame.height, placed)
        cx = int((box[0] + box[2]) / 2 / frame.width * 12)
        cy = int((box[1] + box[3]) / 2 / frame.height * 7)
        assert label[cy, cx] == 1.0 and weight[cy, cx] == 1.0
        assert np.isin(label, (0.0, 1.0)).all()
