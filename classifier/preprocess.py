"""Resize and centre-crop an RGB image to the model's square input, as the weights expect.

EfficientNet-Lite was trained on "resize short side to input*256/224 (bicubic), centre crop".
The model takes raw 0..255 pixels (its first layer rescales), so we hand over uint8.
"""

from __future__ import annotations

import numpy as np
from PIL import Image


def resize_short_side(img: Image.Image, short_side: int) -> Image.Image:
    """Scale so the shorter side equals ``short_side``, keeping the aspect ratio."""
    width, height = img.size
    scale = short_side / min(width, height)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    # Extreme aspect ratios (5000x10) would explode the long side: cap it at 4x.
    size = (min(size[0], 4 * short_side), min(size[1], 4 * short_side))
    return img.resize(size, Image.Resampling.BICUBIC, reducing_gap=3.0)


def center_crop(img: Image.Image, size: int) -> Image.Image:
    width, height = img.size
    left = (width - size) // 2
    top = (height - size) // 2
    return img.crop((left, top, left + size, top + size))


def to_model_input(img: Image.Image, input_size: int) -> np.ndarray:
    """RGB image -> uint8 array (input_size, input_size, 3) ready for the model."""
    short_side = round(input_size * 256 / 224)
    cropped = center_crop(resize_short_side(img, short_side), input_size)
    return np.asarray(cropped, dtype=np.uint8)
