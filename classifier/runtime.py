"""LiteRT runtime: a small pool of interpreters over one ``.tflite`` file, safe for threads.

A LiteRT interpreter is not thread-safe, so each call borrows one from a pool (size 1 behaves
like a lock). The model outputs pooled backbone features and the ImageNet logits.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from classifier.errors import ModelIntegrityError

FEATURE_DIM_MIN = 256  # any output that is not the 1000-way ImageNet head is the feature vector
IMAGENET_CLASSES = 1000


@dataclass(frozen=True, slots=True)
class BackboneOutput:
    features: np.ndarray  # (batch, D) float32
    imagenet_logits: np.ndarray  # (batch, 1000) float32


class LiteRTBackbone:
    """Runs the exported backbone; ``run`` may be called from many threads at once."""

    def __init__(self, model_path: Path, *, num_threads: int = 1, pool_size: int = 1) -> None:
        self._model_content = model_path.read_bytes()
        self._num_threads = num_threads
        self._pool: queue.Queue[Interpreter] = queue.Queue()
        first = self._new_interpreter()
        details = first.get_input_details()[0]
        self.input_size = int(details["shape"][1])
        self.input_dtype = details["dtype"]
        self._pool.put(first)
        for _ in range(max(0, pool_size - 1)):
            self._pool.put(self._new_interpreter())

    def _new_interpreter(self) -> Interpreter:
        interpreter = Interpreter(model_content=self._model_content, num_threads=self._num_threads)
        interpreter.allocate_tensors()
        outputs = interpreter.get_output_details()
        dims = sorted(int(o["shape"][-1]) for o in outputs)
        if len(outputs) != 2 or IMAGENET_CLASSES not in dims or dims[0] < FEATURE_DIM_MIN:
            raise ModelIntegrityError(f"unexpected model outputs {dims}; want features and 1000")
        return interpreter

    @contextmanager
    def _borrow(self) -> Iterator[Interpreter]:
        interpreter = self._pool.get()
        try:
            yield interpreter
        finally:
            self._pool.put(interpreter)

    def run(self, batch: np.ndarray) -> BackboneOutput:
        """``batch``: (n, size, size, 3) uint8 pixels."""
        with self._borrow() as interpreter:
            input_detail = interpreter.get_input_details()[0]
            if tuple(input_detail["shape"]) != batch.shape:
                interpreter.resize_tensor_input(input_detail["index"], batch.shape)
                interpreter.allocate_tensors()
                input_detail = interpreter.get_input_details()[0]
            interpreter.set_tensor(input_detail["index"], batch.astype(input_detail["dtype"]))
            interpreter.invoke()
            features = logits = None
            for detail in interpreter.get_output_details():
                value = interpreter.get_tensor(detail["index"]).astype(np.float32)
                if detail["dtype"] != np.float32 and detail["quantization"][0]:
                    scale, zero_point = detail["quantization"]
                    value = (value - zero_point) * scale
                if value.shape[-1] == IMAGENET_CLASSES:
                    logits = value
                else:
                    features = value
        assert features is not None and logits is not None
        return BackboneOutput(features=features.reshape(len(batch), -1), imagenet_logits=logits)
