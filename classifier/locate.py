"""Find each cat or dog in the whole photo before naming its breed.

Why: the breed head looks at a 300 px square. A pet at the edge of a landscape photo, a small
pet, or the second of two pets falls outside a centre crop. So the classifier first looks at the
whole frame once (aspect ratio kept, about the model's own pixel count) and reads two class
activation maps off the backbone's feature map, where every cell is a 1,280-d feature vector
and both linear heads apply to each cell as they do to the pooled mean:

- the pet probe (a linear "cat or dog vs anything else" classifier over pooled features,
  trained with the breed head): where the pets are;
- the breed head's cat labels against its dog labels: which cells are a cat and which a dog,
  so a cat and a dog side by side become two regions even when they touch.

Each region becomes a square crop of the full-resolution photo, named like any close-up.
Pure NumPy on a map of at most a few hundred cells: well under a millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from classifier.head import LinearHead
from classifier.preprocess import CROP_FRACTION, short_side_for
from classifier.result import Pet

CELL = 32  # backbone stride: one feature-map cell per 32x32 input pixels
MAX_PETS = 4
PET_CELL_LOGIT = 8.0  # a cell is "pet" when the probe's logit there is above this
MIN_CELLS = 2  # smaller blobs are noise, unless they are the strongest
SECOND_LOOK_GATE = 2.0  # gate threshold multiplier for a pet only the closer look found
LONE_SHARE = 0.5  # a lone pet smaller than this share of the frame: look closer for another
TILE_ASPECT = 1.25  # photos at least this elongated get a closer look in tiles
TOUCH = 0.05  # boxes closer than this share of the larger side touch
MIN_SPECIES_CELLS = 3  # a cat part and a dog part this big in one blob are two animals...
SPECIES_SHARE = 0.25  # ...when each holds this share of the blob's evidence
MARGIN_CELLS = 0.6  # CAMs mark the most telling parts (heads); widen to the whole animal
CROP_SCALE = 1.15  # context around the pet, as in the close-up photos the head was trained on
# A lone pet inside the centre crop, and at least this share of its side, is a close-up: the
# centre crop the head was trained on sees it whole (and answers exactly as before).
CLOSE_UP_SIDE = 0.5
CLOSE_UP_SLACK = 0.1  # how far (share of the centre crop's side) the box may stick out of it
DETAIL = 2.0  # decode photos to twice the crop's short side: small pets keep their detail


@dataclass(frozen=True, slots=True)
class Region:
    """One pet candidate: a square crop (pixels of the upright photo) and its evidence."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1: where the pet is
    crop: tuple[float, float, float, float]  # the square (or clipped) region to classify
    species: str  # "cat" or "dog": the side of the breed head that won in these cells
    strength: float  # the probe's summed evidence over the region's cells
    share: float  # the region's share of the frame


def detail_side(input_size: int) -> int:
    """The short side photos are decoded at (and the bot downloads): a pet a third of the frame
    high then still fills its crop with real pixels."""
    return round(short_side_for(input_size) * DETAIL)


def is_close_up(region: Region, width: int, height: int) -> bool:
    """The pet fits in the centre crop and is big in it."""
    side = min(width, height) * CROP_FRACTION
    slack = CLOSE_UP_SLACK * side
    left, top = (width - side) / 2 - slack, (height - side) / 2 - slack
    x0, y0, x1, y1 = region.box
    inside = x0 >= left and y0 >= top and x1 <= left + side + 2 * slack
    inside = inside and y1 <= top + side + 2 * slack
    return inside and max(x1 - x0, y1 - y0) >= CLOSE_UP_SIDE * side


def tiles(width: int, height: int) -> list[tuple[float, float, float, float]]:
    """A closer look when the whole frame shows no pet: overlapping squares along the long
    side of a landscape or portrait photo (none for a squarish one), each at the model's
    resolution, so a pet a third of the frame high fills a third of a tile, not a ninth."""
    side = float(min(width, height))
    long = max(width, height)
    if long < TILE_ASPECT * side:
        return []
    count = int(np.ceil(long / side)) if long > side else 1
    count = max(2, count)
    starts = np.linspace(0.0, long - side, count)
    if width >= height:
        return [(float(x), 0.0, float(x) + side, side) for x in starts]
    return [(0.0, float(y), side, float(y) + side) for y in starts]


def frame_size(width: int, height: int, input_size: int) -> tuple[int, int]:
    """The whole-frame look: about ``input_size``² pixels, sides multiples of the cell size
    (the feature map then tiles the photo exactly), the aspect ratio nearest the photo's among
    a few (each shape keeps an interpreter of its own: classifier.runtime)."""
    aspect = width / height
    shapes = []
    for cells in range(5, 16):
        long = cells * CELL
        short = max(2, round(input_size * input_size / long / CELL)) * CELL
        shapes += [(long, short), (short, long)]
    return min(shapes, key=lambda s: (abs(np.log(s[0] / s[1] / aspect)), -s[0] * s[1]))


def pet_map(
    head: LinearHead, feature_map: np.ndarray, is_cat: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per cell (h, w): the probe's pet logit, and cat-minus-dog evidence from the breed head
    (``is_cat``: per label)."""
    cells = feature_map.reshape(-1, feature_map.shape[-1])
    pet = head.pet_logit(cells).reshape(feature_map.shape[:2])
    logits = head.logits(cells)
    cat = _logsumexp(logits[:, is_cat])
    dog = _logsumexp(logits[:, ~is_cat])
    return pet, (cat - dog).reshape(feature_map.shape[:2])


def _logsumexp(x: np.ndarray) -> np.ndarray:
    top = x.max(axis=1, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(axis=1, keepdims=True)))[:, 0]


def find_regions(
    pet: np.ndarray,
    cat_vs_dog: np.ndarray,
    width: int,
    height: int,
    area: tuple[float, float, float, float] | None = None,
) -> list[Region]:
    """Regions of pet cells as crops of a ``width`` x ``height`` photo, whose part ``area``
    (default: all of it) the maps cover; strongest first, at most MAX_PETS. A region with a
    strong cat part and a strong dog part is two pets."""
    area = area or (0.0, 0.0, float(width), float(height))
    on = pet > PET_CELL_LOGIT
    found: list[Region] = []
    for cells in _components(on):
        for part in _by_species(cells, pet, cat_vs_dog):
            ys, xs = zip(*part, strict=True)
            strength = float(sum(max(pet[y, x] - PET_CELL_LOGIT, 1e-3) for y, x in part))
            votes = sum(1 if cat_vs_dog[y, x] > 0 else -1 for y, x in part)
            kind = "cat" if votes > 0 else "dog"
            found.append(_region(xs, ys, kind, strength, pet.shape, area, (width, height)))
    if not found:
        return []
    found.sort(key=lambda r: -r.strength)
    strongest = found[0].strength
    kept = [
        r
        for i, r in enumerate(found)
        if i == 0 or (r.strength >= 0.25 * strongest and _cells(r, pet.shape) >= MIN_CELLS)
    ]
    return drop_overlaps(kept)[:MAX_PETS]


def _by_species(
    cells: list[tuple[int, int]], pet: np.ndarray, cat_vs_dog: np.ndarray
) -> list[list[tuple[int, int]]]:
    """Split a group of cells into its cat cells and its dog cells when both are a real part
    of it (a cat and a dog touching); one animal's few odd cells stay with it."""
    cat = [c for c in cells if cat_vs_dog[c] > 0]
    dog = [c for c in cells if cat_vs_dog[c] <= 0]

    def weight(part: list[tuple[int, int]]) -> float:
        return float(sum(pet[c] - PET_CELL_LOGIT for c in part))

    total = weight(cells)
    parts = [p for p in (cat, dog) if len(p) >= MIN_SPECIES_CELLS]
    if len(parts) == 2 and min(weight(cat), weight(dog)) >= SPECIES_SHARE * total:
        return [part for p in parts for part in _components_of(p)]
    return [cells]


def _components_of(cells: list[tuple[int, int]]) -> list[list[tuple[int, int]]]:
    rows = max(y for y, _ in cells) + 1
    cols = max(x for _, x in cells) + 1
    mask = np.zeros((rows, cols), bool)
    for y, x in cells:
        mask[y, x] = True
    return _components(mask)


def _components(on: np.ndarray) -> list[list[tuple[int, int]]]:
    """4-connected groups of "on" cells."""
    seen = np.zeros_like(on)
    groups = []
    rows, cols = on.shape
    for y in range(rows):
        for x in range(cols):
            if not on[y, x] or seen[y, x]:
                continue
            stack, group = [(y, x)], []
            seen[y, x] = True
            while stack:
                cy, cx = stack.pop()
                group.append((cy, cx))
                for ny, nx in ((cy - 1, cx), (cy + 1, cx), (cy, cx - 1), (cy, cx + 1)):
                    if 0 <= ny < rows and 0 <= nx < cols and on[ny, nx] and not seen[ny, nx]:
                        seen[ny, nx] = True
                        stack.append((ny, nx))
            groups.append(group)
    return groups


def _region(xs, ys, species: str, strength: float, shape, area, size) -> Region:
    rows, cols = shape
    width, height = size
    sx, sy = (area[2] - area[0]) / cols, (area[3] - area[1]) / rows
    x0 = max(0.0, area[0] + (min(xs) - MARGIN_CELLS) * sx)
    x1 = min(float(width), area[0] + (max(xs) + 1 + MARGIN_CELLS) * sx)
    y0 = max(0.0, area[1] + (min(ys) - MARGIN_CELLS) * sy)
    y1 = min(float(height), area[1] + (max(ys) + 1 + MARGIN_CELLS) * sy)
    share = (x1 - x0) * (y1 - y0) / ((area[2] - area[0]) * (area[3] - area[1]))
    box = (round(x0), round(y0), round(x1), round(y1))
    return Region(box, square_crop(box, width, height), species, strength, share)


def square_crop(
    box: tuple[int, int, int, int], width: int, height: int
) -> tuple[float, float, float, float]:
    """A square around ``box`` with some context, moved inside the photo (clipped only when
    the photo is smaller than the square)."""
    x0, y0, x1, y1 = box
    side = min(max(x1 - x0, y1 - y0) * CROP_SCALE, max(width, height))
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left = min(max(0.0, cx - side / 2), max(0.0, width - side))
    top = min(max(0.0, cy - side / 2), max(0.0, height - side))
    return left, top, min(float(width), left + side), min(float(height), top + side)


def _cells(region: Region, shape) -> float:
    rows, cols = shape
    return region.share * rows * cols


def drop_overlaps(regions: list[Region]) -> list[Region]:
    """A weaker region mostly inside a stronger one's box is the same pet."""
    kept: list[Region] = []
    for region in regions:
        if all(_inside(region.box, other.box) < 0.6 for other in kept):
            kept.append(region)
    return kept


def _inside(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Share of box ``a`` that lies inside box ``b``."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return w * h / area


def merge_halves(pets: list[Pet]) -> list[Pet]:
    """Two touching crops named the same breed are one animal whose parts (head, body) lit up
    apart: one answer, over both boxes, with the surer of the two names."""
    merged: list[Pet] = []
    for pet in sorted(pets, key=lambda p: -p.confidence):
        for i, other in enumerate(merged):
            if other.breed == pet.breed and _touch(other.box, pet.box):
                union = (
                    min(other.box[0], pet.box[0]),
                    min(other.box[1], pet.box[1]),
                    max(other.box[2], pet.box[2]),
                    max(other.box[3], pet.box[3]),
                )
                merged[i] = replace(other, box=union)
                break
        else:
            merged.append(pet)
    return merged


def _touch(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    gap = max(a[0] - b[2], b[0] - a[2], a[1] - b[3], b[1] - a[3])
    side = max(a[2] - a[0], a[3] - a[1], b[2] - b[0], b[3] - b[1])
    return gap <= TOUCH * side
