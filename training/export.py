"""Convert the Keras backbone to a full-integer LiteRT model (uint8 pixels in, float out)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np


def to_tflite(model, representative: np.ndarray, out_path: Path, *, int8: bool = True) -> Path:
    """``representative``: (n, size, size, 3) uint8 real, correctly preprocessed photos."""
    import tensorflow as tf  # train extra only

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    if int8:

        def samples() -> Iterator[list[np.ndarray]]:
            for pixels in representative:
                yield [pixels[None].astype(np.float32)]

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = samples
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.float32
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(converter.convert())
    return out_path
