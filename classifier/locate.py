"""Find each cat or dog in the whole photo before naming its breed.

Why: the breed head looks at a 300 px square. A pet at the edge of a landscape photo, a small
pet, or the second of two pets falls outside a centre crop. So the classifier first looks at the
whole frame (aspect ratio kept) and the pet finder (classifier.finder) reads the backbone's
feature map for where the pets are. A photo up to 4:3 is the exception: its centre crop holds
three quarters of the frame, so the crop's own pass is its first look, and a lone pet filling
the crop's middle is a close-up named by that pass (one pass instead of two); a small pet there,
or none, goes on to the fine look, and anything else to the quick look. Looks come in two sizes:

- the quick look, about the model's own pixel count (384x224 for 16:9): enough to tell a
  close-up, a lone pet filling the middle of the photo, which is most photos people send;
- the fine look, 1.5x the sides (2.25x the pixels), for every other photo: a pet a third of
  the frame high is then ~3.5 cells instead of 2.3, and its box is right far more often.

A small pet (under 45% of the photo's height) then gets a closer look: the square 1.6x around
its box, looked at like a photo of its own, gives a tighter box. Each pet's box is then read as
a close-up photo of its own and named like one; a lone pet inside the centre crop is a close-up
and gets the centre crop the head was trained on. A close-up (and a lone pet filling the photo)
is read off the quick look itself, pooled over that crop (``region_features``), when the crop
spans enough of the look's cells: when the look is sure of a humble answer, the crop needs no
pass of its own (classifier.head).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from classifier.finder import iou
from classifier.preprocess import CROP_FRACTION, centre_box, short_side_for

CELL = 32  # backbone stride: one feature-map cell per 32x32 input pixels
MAX_PETS = 4
# The two looks at the whole photo: the quick one at about the model's own pixel count, the
# fine one at 1.5x its sides (2.25x the pixels). The quick look is enough when it sees one pet
# filling the photo or its middle (most photos people send); anything else gets the fine look,
# where a pet a third of the frame high is ~3.5 cells instead of 2.3 (docs/model.md has the
# measurements).
QUICK, FINE = 1.0, 1.5
LOOK_SCALES = (QUICK, FINE)
# A lone pet inside the centre crop, and at least this share of its side, is a close-up: the
# centre crop the head was trained on sees it whole (and answers exactly as before). High,
# because the quick look guesses too big a box for a small pet.
CLOSE_UP_SIDE = 0.85
SMALL_PHOTO_CLOSE_UP_SIDE = 0.5  # too small a photo for the fine look: the quick look is all
CLOSE_UP_SLACK = 0.1  # how far (share of the centre crop's side) the box may stick out of it
FILLS_PHOTO = 0.8  # a lone pet this share of the photo's width or height: no fine look
# Below this objectness the finder is unsure it saw a pet (a breed it never saw, a pet seen
# only in part): the centre crop is classified too, and answers when no pet's crop passes.
SURE_PET_LOGIT = 6.0
# The fine look's bar for a pet besides the first (the finder's own, 4.0, stays for the quick
# look, which only tells a close-up): at 4.0 the second of two small pets went unseen in half
# the photos that had one (benchmarks.evaluate --tuning: both of two third-height pets right
# 28% -> 38%; 1.0 doubled the pets that are not there).
FINE_OTHER_PET_LOGIT = 2.0
# A weaker pet with this share of its box inside a stronger one's is the same pet: the finder may
# see a big pet's head and body apart (0.3 rather than 0.4 once the fine look lets a second pet
# through more easily: fewer pets that are not there, as many right answers).
SAME_PET_INSIDE = 0.3
# A pet under this share of the photo's height gets a closer look (REFINE_CONTEXT times its
# box's long side, square) before its crop (benchmarks.evaluate --tuning: thirds of the height
# 4-5 points better).
REFINE_BELOW = 0.45
REFINE_CONTEXT = 1.6
REFINE_MIN_IOU = 0.2  # the closer look's box must overlap the first one this much to replace it
# A close-up is read off the quick look (classifier.head) only when its crop spans at least
# this many of the look's cells: the look's standardiser was matched on whole-photo close-ups
# of 6-9 cells, and a cat pasted at the bottom of a portrait photo, 4.5 cells across, read as
# a Maine Coon at 100% (its crop: Persian, 78%).
LOOK_MIN_CELLS = 5.0
# Photos at most this far from square (4:3 and 3:4, what phone cameras take by default) get the
# centre crop's own pass as their first look: it holds three quarters of the frame.
CROP_FIRST_ASPECT = 4 / 3 * 1.02
# The finder's box for a close-up in the crop's own pass is smaller than in the look at the
# whole frame (its boxes run big around a photo's frame): this share of the crop's side, with
# the box's centre at most CROP_CLOSE_UP_OFFSET (share of the side) from the crop's, marks
# close-ups there. A lone pet under CROP_SMALL_SIDE is no close-up: the fine look is next.
CROP_CLOSE_UP_SIDE = 0.7
CROP_CLOSE_UP_OFFSET = 0.12
CROP_SMALL_SIDE = 0.45
MIN_CROP_SIDE = 32  # pixels: a box smaller than this is widened (the crop is blown up anyway)
DETAIL = 2.0  # decode photos to twice the crop's short side: small pets keep their detail


@dataclass(frozen=True, slots=True)
class Region:
    """One pet found in a look: where it is and the region to classify (pixels of the decoded
    photo)."""

    box: tuple[int, int, int, int]  # x0, y0, x1, y1
    crop: tuple[float, float, float, float]  # classified like a photo of its own
    logit: float  # the finder's objectness at the pet's surest cell

    @classmethod
    def around(cls, box: tuple[float, float, float, float], width: int, height: int, logit: float):
        rounded = (round(box[0]), round(box[1]), round(box[2]), round(box[3]))
        return cls(rounded, pet_photo(rounded, width, height), logit)


def fills_photo(region: Region, width: int, height: int) -> bool:
    """A lone pet this big in the quick look needs no fine one (which may see its head and its
    body as two pets)."""
    x0, y0, x1, y1 = region.box
    return max((x1 - x0) / width, (y1 - y0) / height) >= FILLS_PHOTO


def crop_first(width: int, height: int) -> bool:
    """Whether the centre crop's pass is the first look at this photo."""
    return max(width, height) / min(width, height) <= CROP_FIRST_ASPECT


def crop_share(region: Region, width: int, height: int, input_size: int) -> tuple[float, float]:
    """A pet found in the centre crop's own pass: its box's long side, and how far its centre
    is from the crop's, as shares of the crop's side."""
    x0, y0, x1, y1 = centre_box(width, height, input_size)
    side = x1 - x0
    bx0, by0, bx1, by1 = region.box
    offset = max(abs((bx0 + bx1 - x0 - x1) / 2), abs((by0 + by1 - y0 - y1) / 2)) / side
    return max(bx1 - bx0, by1 - by0) / side, offset


def fills_crop(region: Region, width: int, height: int, input_size: int, min_side: float) -> bool:
    """A pet found in the centre crop's own pass, big and in its middle: a close-up (the pass
    cannot see whether the pet goes on outside the crop; one that does is read from the same
    crop either way)."""
    side, offset = crop_share(region, width, height, input_size)
    return side >= min_side and offset <= CROP_CLOSE_UP_OFFSET


def worth_fine_look(width: int, height: int, input_size: int) -> bool:
    """A photo with fewer pixels than the fine look has no detail for it (it would only be
    blown up, and the finder then sees a pet's head and body apart)."""
    w, h = look_size(width, height, input_size, FINE)
    return width * height > w * h


def look_size(width: int, height: int, input_size: int, scale: float) -> tuple[int, int]:
    """The pixels of a look at ``scale`` (LOOK_SCALES) of a ``width`` x ``height`` photo."""
    return frame_size(width, height, round(input_size * scale))


def look_pixels(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """The whole photo resized to a look (the same for training and serving)."""
    box = (0.0, 0.0, float(image.width), float(image.height))
    return np.asarray(image.resize(size, Image.Resampling.BILINEAR, box=box, reducing_gap=2.0))


def detail_side(input_size: int) -> int:
    """The short side photos are decoded at (and the bot downloads): a pet a third of the frame
    high then still fills its crop with real pixels."""
    return round(short_side_for(input_size) * DETAIL)


def is_close_up(region: Region, width: int, height: int, min_side: float = CLOSE_UP_SIDE) -> bool:
    """The pet fits in the centre crop and is at least ``min_side`` of its side."""
    side = min(width, height) * CROP_FRACTION
    slack = CLOSE_UP_SLACK * side
    left, top = (width - side) / 2 - slack, (height - side) / 2 - slack
    x0, y0, x1, y1 = region.box
    inside = x0 >= left and y0 >= top and x1 <= left + side + 2 * slack
    inside = inside and y1 <= top + side + 2 * slack
    return inside and max(x1 - x0, y1 - y0) >= min_side * side


def frame_size(width: int, height: int, input_size: int) -> tuple[int, int]:
    """A whole-frame look: about ``input_size``² pixels, sides multiples of the cell size
    (the feature map then tiles the photo exactly), the aspect ratio nearest the photo's among
    a few (each shape keeps an interpreter of its own: classifier.runtime)."""
    aspect = width / height
    shapes = []
    for cells in range(5, 16):
        long = cells * CELL
        short = max(2, round(input_size * input_size / long / CELL)) * CELL
        shapes += [(long, short), (short, long)]
    return min(shapes, key=lambda s: (abs(np.log(s[0] / s[1] / aspect)), -s[0] * s[1]))


def pet_photo(
    box: tuple[int, int, int, int], width: int, height: int
) -> tuple[float, float, float, float]:
    """The region classified for a pet: its box, read as a close-up photo of its own (the
    model's preprocessing then takes the centre crop, as for every photo the head was trained
    on). The finder learnt boxes around whole pet photos, so a box is a close-up's frame, not
    the animal's outline: a square 1.15x the box's long side (the first try) showed the pet
    too small, and named both of two pets in 37.5% of make eval's photos against 54.2%."""
    x0, y0, x1, y1 = box
    side = MIN_CROP_SIDE / 2
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    x0, x1 = min(x0, cx - side), max(x1, cx + side)
    y0, y1 = min(y0, cy - side), max(y1, cy + side)
    return max(0.0, x0), max(0.0, y0), min(float(width), x1), min(float(height), y1)


def is_small(region: Region, height: int) -> bool:
    """A pet small enough in the photo that its box gains from a closer look."""
    return region.box[3] - region.box[1] < REFINE_BELOW * height


def closer_look(
    box: tuple[int, int, int, int], width: int, height: int
) -> tuple[int, int, int, int]:
    """The square around a small pet for a closer look: REFINE_CONTEXT times the box's long side,
    moved (not cut) to lie inside the photo, so every closer look has the same shape."""
    side = min(REFINE_CONTEXT * max(box[2] - box[0], box[3] - box[1], MIN_CROP_SIDE), width, height)
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0 = min(max(0.0, cx - side / 2), width - side)
    y0 = min(max(0.0, cy - side / 2), height - side)
    return round(x0), round(y0), round(x0 + side), round(y0 + side)


def refined(
    region: Region, boxes: list[tuple[float, float, float, float]], width: int, height: int
) -> Region:
    """The region with the box the closer look found for the same pet (the one overlapping the
    first box most), or unchanged when it found none there."""
    x0, y0, x1, y1 = region.box
    first = (float(x0), float(y0), float(x1), float(y1))
    best = max(boxes, key=lambda b: iou(b, first), default=None)
    if best is None or iou(best, first) < REFINE_MIN_IOU:
        return region
    return Region.around(best, width, height, region.logit)


def drop_overlaps(regions: list[Region]) -> list[Region]:
    """A weaker region largely inside a stronger one's box is the same pet (the finder may see
    a big pet's head and body apart)."""
    kept: list[Region] = []
    for region in regions:
        if all(share_inside(region.box, other.box) < SAME_PET_INSIDE for other in kept):
            kept.append(region)
    return kept


def share_inside(
    a: tuple[float, float, float, float], b: tuple[float, float, float, float]
) -> float:
    """Share of box ``a`` that lies inside box ``b`` (serving: the same pet; training: a pet
    hidden by one pasted over it)."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    area = max(1, (a[2] - a[0]) * (a[3] - a[1]))
    return w * h / area


def region_features(
    feature_map: np.ndarray, box: tuple[float, float, float, float], width: int, height: int
) -> np.ndarray:
    """The pooled features of one region of a look: the mean of the feature map's cells over
    ``box`` (pixels of a ``width`` x ``height`` photo), each cell weighted by how much of it the
    box covers. The network pools its whole map the same way, so a close-up's centre crop can
    be read off the quick look without a pass of its own (classifier.head: the look's
    standardiser matches these features to the crop's)."""
    rows, cols = feature_map.shape[:2]
    wy = cover(box[1] / height * rows, box[3] / height * rows, rows)
    wx = cover(box[0] / width * cols, box[2] / width * cols, cols)
    weights = wy[:, None] * wx[None, :]
    return np.tensordot(weights, feature_map, axes=([0, 1], [0, 1])) / weights.sum()


def cover(lo: float, hi: float, cells: int) -> np.ndarray:
    """How much of each of ``cells`` unit cells the span [lo, hi] covers."""
    edges = np.arange(cells + 1, dtype=np.float64)
    return np.clip(np.minimum(edges[1:], hi) - np.maximum(edges[:-1], lo), 0.0, None)
