"""Classifier settings from environment variables, with safe defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from classifier.decode import DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


@dataclass(frozen=True)
class ClassifierSettings:
    model_dir: Path = PROJECT_ROOT / "model"
    labels_path: Path = PROJECT_ROOT / "unique_labels.csv"
    threads: int = 1  # LiteRT threads per inference (1 vCPU on a 1,769 MB Lambda)
    pool_size: int = 1  # interpreters that may run at once
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def from_env(cls) -> ClassifierSettings:
        return cls(
            model_dir=Path(os.environ.get("BREEDBOT_MODEL_DIR") or cls.model_dir),
            labels_path=Path(os.environ.get("BREEDBOT_LABELS") or cls.labels_path),
            threads=max(1, _int_env("BREEDBOT_THREADS", cls.threads)),
            pool_size=max(1, _int_env("BREEDBOT_POOL_SIZE", cls.pool_size)),
            max_pixels=_int_env("BREEDBOT_MAX_PIXELS", cls.max_pixels),
            max_bytes=_int_env("BREEDBOT_MAX_IMAGE_BYTES", cls.max_bytes),
        )
