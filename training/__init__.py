"""Rebuilds the shipped model from ../shared/data (needs the `train` extra: TensorFlow, torch)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TensorFlow's C++ start-up chatter
