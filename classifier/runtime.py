"""LiteRT runtime: a small pool of interpreters over one ``.tflite`` file, safe for threads.

A LiteRT interpreter is not thread-safe, so each call borrows a slot from a pool (size 1
behaves like a lock). Resizing an interpreter's input re-plans its delegate (tens of ms), so a
slot keeps one interpreter per input shape it has seen (the breed crop and the few whole-frame
shapes of classifier.locate), and a batch runs image by image.

The model outputs pooled backbone features, the ImageNet logits and (models from 3.0 on) the
feature map before pooling. LiteRT is imported when a backbone is built, so the rest of
``classifier`` (preprocessing, head maths, labels, gate) imports without it: training code on a
GPU machine uses those same definitions.
"""

from __future__ import annotations

import queue
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import ModelIntegrityError

MAX_SHAPES = 8  # interpreters kept per slot, one per input shape
FEATURE_DIM_MIN = 256  # any output that is not the 1000-way ImageNet head is the feature vector
IMAGENET_CLASSES = 1000


@dataclass(frozen=True, slots=True)
class BackboneOutput:
    features: np.ndarray  # (batch, D) float32
    imagenet_logits: np.ndarray  # (batch, 1000) float32
    feature_map: np.ndarray | None = None  # (batch, h, w, D) float32: features before pooling


class LiteRTBackbone:
    """Runs the exported backbone; ``run`` may be called from many threads at once."""

    def __init__(self, model_path: Path, *, num_threads: int = 1, pool_size: int = 1) -> None:
        self._model_content = model_path.read_bytes()
        self._num_threads = num_threads
        self._pool: queue.Queue[OrderedDict] = queue.Queue()
        first = self._new_interpreter()
        details = first.get_input_details()[0]
        self.input_size = int(details["shape"][1])
        self.input_dtype = details["dtype"]
        self.has_feature_map = any(len(o["shape"]) == 4 for o in first.get_output_details())
        self._pool.put(OrderedDict({(self.input_size, self.input_size): first}))
        for _ in range(max(0, pool_size - 1)):
            self._pool.put(OrderedDict())

    def _new_interpreter(self):
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=self._model_content, num_threads=self._num_threads)
        interpreter.allocate_tensors()
        outputs = interpreter.get_output_details()
        pooled = sorted(int(o["shape"][-1]) for o in outputs if len(o["shape"]) == 2)
        maps = [o for o in outputs if len(o["shape"]) == 4]
        if (
            len(pooled) != 2
            or len(maps) > 1
            or IMAGENET_CLASSES not in pooled
            or pooled[0] < FEATURE_DIM_MIN
        ):
            shapes = [tuple(int(d) for d in o["shape"]) for o in outputs]
            raise ModelIntegrityError(
                f"unexpected model outputs {shapes}; want features, 1000 logits, [feature map]"
            )
        return interpreter

    @contextmanager
    def _borrow(self) -> Iterator:
        interpreter = self._pool.get()
        try:
            yield interpreter
        finally:
            self._pool.put(interpreter)

    def run(self, batch: np.ndarray) -> BackboneOutput:
        """``batch``: (n, height, width, 3) uint8 pixels: (n, size, size, 3) for a breed, any
        height and width for a look at a whole frame (the network is fully convolutional)."""
        with self._borrow() as slot:
            outputs = [self._invoke(slot, image[None]) for image in batch]
        maps = [o[2] for o in outputs]
        return BackboneOutput(
            features=np.concatenate([o[0] for o in outputs]).reshape(len(batch), -1),
            imagenet_logits=np.concatenate([o[1] for o in outputs]),
            feature_map=None if maps[0] is None else np.concatenate(maps),
        )

    def _interpreter(self, slot: OrderedDict, shape: tuple[int, ...]):
        key = (shape[1], shape[2])
        interpreter = slot.get(key)
        if interpreter is None:
            interpreter = self._new_interpreter()
            index = interpreter.get_input_details()[0]["index"]
            if tuple(interpreter.get_input_details()[0]["shape"]) != shape:
                interpreter.resize_tensor_input(index, shape)
                interpreter.allocate_tensors()
            slot[key] = interpreter
            while len(slot) > MAX_SHAPES:
                slot.popitem(last=False)  # the least recently used shape
        slot.move_to_end(key)
        return interpreter

    def _invoke(self, slot: OrderedDict, image: np.ndarray):
        interpreter = self._interpreter(slot, image.shape)
        detail = interpreter.get_input_details()[0]
        interpreter.set_tensor(detail["index"], image.astype(detail["dtype"]))
        interpreter.invoke()
        features = logits = feature_map = None
        for output in interpreter.get_output_details():
            value = interpreter.get_tensor(output["index"]).astype(np.float32)
            if output["dtype"] != np.float32 and output["quantization"][0]:
                scale, zero_point = output["quantization"]
                value = (value - zero_point) * scale
            if value.ndim == 4:
                feature_map = value
            elif value.shape[-1] == IMAGENET_CLASSES:
                logits = value
            else:
                features = value
        assert features is not None and logits is not None
        return features, logits, feature_map
