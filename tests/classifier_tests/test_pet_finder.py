"""The pet finder's maths (classifier.finder): the one definition training and serving share.
The shipped finder itself is exercised on real scenes in test_find_pets.py."""

from __future__ import annotations

import numpy as np

from classifier import Classifier, finder, locate
from classifier.finder import PetFinder, cell_inputs, cell_targets, group_votes


def test_each_cell_is_read_with_its_neighbours_and_a_flag_for_the_map_edge() -> None:
    reduced = np.arange(2 * 3 * 2, dtype=np.float32).reshape(2, 3, 2)
    inputs = cell_inputs(reduced)
    assert inputs.shape == (2, 3, 9 * 3)
    parts = inputs.reshape(2, 3, 9, 3)
    # The middle of the 3x3 neighbourhood is the cell itself, flagged as inside the map.
    assert np.array_equal(parts[1, 2, 4, :2], reduced[1, 2])
    assert parts[1, 2, 4, 2] == 1.0
    # The top-left corner's upper-left neighbour lies outside: zeros, flag 0.
    assert np.array_equal(parts[0, 0, 0], np.zeros(3))
    # Its right neighbour is the next cell.
    assert np.array_equal(parts[0, 0, 5, :2], reduced[0, 1])


def test_cells_inside_a_pet_learn_its_edges_and_a_hidden_pet_is_neither() -> None:
    # A 4x2-cell look at a 400x200 photo: cells are 100x100 pixels.
    pet = ((0.0, 0.0, 200.0, 200.0), 0.0)
    label, target, weight = cell_targets(2, 4, 400, 200, [pet])
    assert label.tolist() == [[1, 1, 0, 0], [1, 1, 0, 0]]
    # The cell at (0, 0), centre (50, 50): 0.5 cells to the left and top, 1.5 to the right
    # and bottom.
    assert np.allclose(np.exp(target[0, 0]), [0.5, 0.5, 1.5, 1.5])
    hidden = ((200.0, 0.0, 400.0, 200.0), 0.8)
    label, _, weight = cell_targets(2, 4, 400, 200, [pet, hidden])
    assert label[:, 2:].sum() == 0 and weight[:, 2:].sum() == 0 and weight[:, :2].all()


def _votes_for(boxes_in_cells: dict[tuple[int, int], tuple[float, float, float, float]], shape):
    """Objectness and log-distances that make the given cells vote for the given boxes."""
    rows, cols = shape
    objectness = np.full(shape, -5.0, np.float32)
    distances = np.zeros((rows, cols, 4), np.float32)
    for (y, x), (x0, y0, x1, y1) in boxes_in_cells.items():
        objectness[y, x] = finder.OTHER_PET_LOGIT + 2.0
        cx, cy = x + 0.5, y + 0.5
        distances[y, x] = np.log([cx - x0, cy - y0, x1 - cx, y1 - cy])
    return objectness, distances


def test_cells_that_agree_on_a_box_are_one_pet_and_two_boxes_are_two_pets() -> None:
    left = (0.0, 0.0, 3.0, 4.0)
    right = (5.0, 0.0, 8.0, 4.0)
    cells = {(y, 1): left for y in range(4)} | {(y, 6): right for y in range(4)}
    objectness, distances = _votes_for(cells, (4, 8))
    found = group_votes(objectness, distances, width=800, height=400)
    assert len(found) == 2
    boxes = sorted(f.box for f in found)
    assert np.allclose(boxes[0], (0, 0, 300, 400), atol=1)
    assert np.allclose(boxes[1], (500, 0, 800, 400), atol=1)


def test_a_second_pet_must_be_clear() -> None:
    cells = {(y, 1): (0.0, 0.0, 3.0, 4.0) for y in range(4)} | {(1, 6): (5.0, 0.0, 8.0, 4.0)}
    objectness, distances = _votes_for(cells, (4, 8))
    objectness[1, 6] = finder.OTHER_PET_LOGIT - 0.5  # one weak cell far away
    assert len(group_votes(objectness, distances, width=800, height=400)) == 1


def test_the_fine_look_lets_a_second_pet_through_only_beside_a_clear_first() -> None:
    left, right = (0.0, 0.0, 3.0, 4.0), (5.0, 0.0, 8.0, 4.0)
    cells = {(y, 1): left for y in range(4)} | {(y, 6): right for y in range(4)}
    objectness, distances = _votes_for(cells, (4, 8))
    objectness[:, 6] = (finder.OTHER_PET_LOGIT + locate.FINE_OTHER_PET_LOGIT) / 2
    assert len(group_votes(objectness, distances, 800, 400)) == 1
    assert len(group_votes(objectness, distances, 800, 400, locate.FINE_OTHER_PET_LOGIT)) == 2
    # A first pet the finder is unsure of is not split in two by the lower bar.
    objectness[:, 1] = finder.OTHER_PET_LOGIT - 0.1
    assert len(group_votes(objectness, distances, 800, 400, locate.FINE_OTHER_PET_LOGIT)) == 1


def test_the_finder_round_trips_through_its_file(tmp_path, classifier: Classifier) -> None:
    shipped = classifier.finder
    assert isinstance(shipped, PetFinder)
    shipped.save(tmp_path / "finder.npz")
    again = PetFinder.load(tmp_path / "finder.npz")
    feature_map = np.random.default_rng(0).normal(size=(7, 13, shipped.mean.size))
    for a, b in zip(shipped.forward(feature_map), again.forward(feature_map), strict=True):
        assert np.array_equal(a, b)
