"""Fine-tune EfficientNet-Lite's backbone on the training photos, keeping its ImageNet head.

Why: a logistic head on the frozen ImageNet backbone tops out near 91% on original-aspect
photos (docs/model.md). Fine-tuning the whole backbone with fresh random crops every epoch
lets it learn breed details; the ImageNet head is *distilled* from the frozen original
("learning without forgetting"), so the "no cat or dog" gate keeps working on the same single
network. The committed checkpoint was fine-tuned on the Oxford photos only. The next run goes
on from it over every group (``prepare --groups all --init CHECKPOINT``, ``make
finetune-open-prepare``, then tools/device_finetune.sh on a rented GPU; docs/model.md,
"Fine-tuning on every group"): each checkpoint lists every photo its weights have seen, so
that make train calibrates only on the others.

Two steps, so the GPU step needs nothing but torch, numpy and Pillow:

    python -m training.finetune prepare   # CPU: compact copy of the training photos + weights
    python -m training.finetune train     # GPU recommended: ~80 s per configuration on an
                                          # H200 (30 epochs); hours on a 2-core CPU

`prepare` reuses the pipeline's seeded hold-out split (the hold-out is never copied) and sets
aside a stratified validation part of the training photos that fine-tuning never sees: the
pipeline calibrates the breed head on it. `train` writes one checkpoint per configuration
(lukemelas-layout float16 weights + metadata) and prints each one's validation accuracy and
how well it kept the ImageNet head (the gate); docs/model.md says how the shipped one was
chosen. Its validation figures come from the compact WebP copies and the float network, so
they rank configurations; the model card's figures come from `make train`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import random
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

# Pure NumPy/Pillow modules: the package imports LiteRT lazily, so these load on a GPU machine
# that has only torch, NumPy and Pillow, and evaluation here matches serving.
from classifier import imagenet, preprocess
from classifier.model_card import sha256_file
from training import data

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "build" / "finetune"
# Training crops are 260 px. The copy of the 2,940 training photos is ~36 MB, small enough to
# ship to a rented GPU machine along with the repository.
STORE_SHORT_SIDE = 288
STORE_QUALITY = 75  # WebP
VAL_FRACTION = 0.15
# Fine-tuning on the Stanford and ordinary-pet photos too (--groups): this share of each of
# their training photos is never fine-tuned on. make train calibrates on them (a photo the
# backbone was tuned on scores too sure), so the share is bigger than Oxford's: the ordinary
# dogs' "sure" threshold rule needs a few hundred of them.
OPEN_VAL_FRACTION = 0.3
OTHER_GROUPS = tuple(g for g in data.PET_GROUPS if g != data.OXFORD)  # their own val figures
SEED = 20261126


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- prepare (CPU)


@dataclass(frozen=True)
class Part:
    """One group's share of the compact copy: the photos fine-tuned on (``fit``), the
    validation photos it never sees, and those of them copied for the run's own figures."""

    group: str
    fit: list
    val: list
    val_copied: list


def group_parts(args: argparse.Namespace) -> list[Part]:
    """Each group's training photos (the pipeline's seeded hold-out split: the hold-out is
    never copied) split into fitting and validation photos."""
    parts = []
    rng = random.Random(args.seed)
    for group in args.groups:
        train, _ = data.split(data.LOADERS[group](args.data_dir), args.holdout, args.seed)
        share = VAL_FRACTION if group == data.OXFORD else OPEN_VAL_FRACTION
        fit, val = data.split(train, share, args.seed)
        if args.limit:  # smoke runs: every Nth photo
            fit, val = fit[:: args.limit], val[:: args.limit]
        copied = val
        if group != data.OXFORD and args.val_sample and len(val) > args.val_sample:
            copied = sorted(rng.sample(val, args.val_sample), key=lambda p: p.path.as_posix())
        parts.append(Part(group, fit, val, copied))
    return parts


def init_lineage(args: argparse.Namespace) -> dict:
    """What the weights fine-tuning starts from have seen already: the groups and every photo
    they were fine-tuned on (none for the ImageNet weights). A checkpoint from before these
    were recorded was fine-tuned on the Oxford training photos minus its validation ones."""
    from training.efficientnet_lite import load_finetuned

    if args.init is None:
        return {"groups": [], "fine_tuned_on": []}
    _, meta = load_finetuned(args.init)
    if "fine_tuned_on" in meta:
        return {"groups": meta["groups"], "fine_tuned_on": meta["fine_tuned_on"]}
    train, _ = data.split(data.load_oxford(args.data_dir), args.holdout, args.seed)
    unseen = set(meta.get("validation_photos", []))
    seen = [p.relative(args.data_dir) for p in train if p.relative(args.data_dir) not in unseen]
    return {"groups": [data.OXFORD], "fine_tuned_on": sorted(seen)}


def check_unseen(args: argparse.Namespace, parts: list[Part], lineage: dict) -> None:
    """The validation photos must be ones the starting weights never saw either: make train
    calibrates on them (a photo the backbone saw scores too sure)."""
    seen = set(lineage["fine_tuned_on"])
    for part in parts:
        shown = [p for p in part.val if p.relative(args.data_dir) in seen]
        if shown:
            raise SystemExit(
                f"{args.init.name} was fine-tuned on {len(shown)} of the {part.group} photos "
                "this split keeps for validation: prepare with the seed and hold-out it was "
                "made with"
            )


def prepare(args: argparse.Namespace) -> int:
    """Write ``manifest.csv``, ``images/``, ``nonpet/``, ``labels.json`` and, unless fine-tuning
    goes on from a checkpoint (``--init``), ``init.npz`` under ``--out``."""
    from training.efficientnet_lite import load_state_dict

    labels = _labels(args.groups)
    parts = group_parts(args)
    lineage = init_lineage(args)
    check_unseen(args, parts, lineage)
    nonpets = data.load_nonpets(args.data_dir)
    if args.limit:
        nonpets = nonpets[:: args.limit]
    out: Path = args.out
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "nonpet").mkdir(parents=True, exist_ok=True)
    rows = []
    for subset in ("fit", "val"):
        for part in parts:
            for photo in part.fit if subset == "fit" else part.val_copied:
                rows.append(
                    {
                        "file": f"images/{len(rows):05d}.webp",
                        "source": photo.path.relative_to(args.data_dir).as_posix(),
                        "label": photo.label,
                        "kind": photo.kind,
                        "subset": subset,
                        "index": labels.index(photo.label),
                        "group": part.group,
                    }
                )
    for i, photo in enumerate(nonpets):
        rows.append(
            {
                "file": f"nonpet/{i:04d}.webp",
                "source": photo.path.relative_to(args.data_dir).as_posix(),
                "label": "",
                "kind": photo.kind,
                "subset": "nonpet",
                "index": -1,
                "group": data.NONPET,
            }
        )
    sources = {r["file"]: args.data_dir / r["source"] for r in rows}

    def write(name: str) -> int:
        img = Image.open(sources[name])
        img = img.convert("RGB")
        scale = args.short_side / min(img.size)
        if scale < 1:
            size = (round(img.width * scale), round(img.height * scale))
            img = img.resize(size, Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        img.save(buffer, "WEBP", quality=args.quality, method=4)
        (out / name).write_bytes(buffer.getvalue())
        return len(buffer.getvalue())

    with ThreadPoolExecutor(4) as pool:
        total = sum(pool.map(write, sources))
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    if args.init is None:
        state = load_state_dict(args.variant)
        np.savez_compressed(out / "init.npz", **{k: v.astype(np.float16) for k, v in state.items()})
    lineage["init_sha256"] = sha256_file(args.init or out / "init.npz")
    (out / "lineage.json").write_text(json.dumps(lineage))
    (out / "labels.json").write_text(json.dumps(labels))
    fit, val = sum(len(p.fit) for p in parts), sum(len(p.val) for p in parts)
    copied = sum(len(p.val_copied) for p in parts)
    log(
        f"prepared {fit} fine-tuning + {val} validation photos ({copied} of them copied) of "
        f"{', '.join(args.groups)} and {len(nonpets)} non-pets ({total / 1e6:.1f} MB) in {out}; "
        "the hold-out photos stay out"
    )
    return 0


def _labels(groups: list[str]) -> list[str]:
    """The breed layer's labels: the Oxford-IIIT Pet 37 for the Oxford-only run (the committed
    checkpoint's), every label of unique_labels.csv once other groups are fine-tuned on."""
    from classifier.labels import SOURCES, load_labels

    breeds = load_labels(ROOT / "unique_labels.csv")
    if list(groups) == [data.OXFORD]:
        return [b.label for b in breeds if b.source == SOURCES[0]]
    return [b.label for b in breeds]


# --------------------------------------------------------------------------- train (GPU)


@dataclass
class Config:
    """One fine-tuning run. The defaults are the first configuration tried ("base"); CONFIGS
    lists the experiments of docs/model.md and SHIPPED the one whose checkpoint is committed."""

    name: str = "base"
    epochs: int = 20
    lr: float = 3e-4  # backbone; the breed layer gets 10x
    weight_decay: float = 0.02
    batch: int = 64
    size: int = 260  # training crop; serving uses 300 (objects look larger in random crops)
    min_scale: float = 0.25
    distill: float = 1.0  # weight of the ImageNet-head distillation loss
    distill_temperature: float = 2.0
    # Extra small crops per batch, distillation only: mostly background, they keep the
    # ImageNet head's behaviour on things that are not pets (the gate's non-pet side).
    background_crops: int = 0
    background_scale: tuple[float, float] = (0.03, 0.2)
    label_smoothing: float = 0.1
    drop_path: float = 0.1
    freeze_bn: bool = True  # keep BatchNorm statistics (small batches, keeps ImageNet behaviour)
    # Weigh each label's photos to one label's worth in the loss (as the breed head is fitted):
    # once every group is fine-tuned on, the two non-pedigree labels hold 560 photos each and
    # a rare Stanford breed 20.
    balanced: bool = False
    # Keep the stem and this many MBConv blocks as the starting checkpoint's: their activations
    # are computed once for the network and its teacher, and no gradient flows through them
    # (bfloat16 on this project's CPU: 3.4-4.4 s per 32 crops with every block trained, 1.6 s
    # with 11 kept).
    frozen_blocks: int = 0
    seed: int = SEED


@dataclass
class Photos:
    images: list  # uint8 (3, H, W) tensors on the training device
    labels: np.ndarray
    original: np.ndarray
    eval_pixels: np.ndarray  # serving preprocessing: (N, S, S, 3) uint8
    files: list[str] = field(default_factory=list)
    groups: np.ndarray = field(default_factory=lambda: np.array([], dtype=object))


def load_subset(directory: Path, rows: list[dict], device, eval_size: int) -> Photos:
    import torch

    def read(row: dict):
        img = Image.open(directory / row["file"]).convert("RGB")
        return np.array(img), preprocess.to_model_input(img, eval_size)

    with ThreadPoolExecutor(8) as pool:
        decoded = list(pool.map(read, rows))
    return Photos(
        images=[torch.from_numpy(a).permute(2, 0, 1).contiguous().to(device) for a, _ in decoded],
        labels=np.array([int(r["index"]) for r in rows]),
        original=np.array([r["kind"] == "original" for r in rows]),
        eval_pixels=np.stack([e for _, e in decoded]),
        files=[r["source"] for r in rows],
        # Manifests from before the open-world run hold Oxford photos only.
        groups=np.array([r.get("group") or data.OXFORD for r in rows], dtype=object),
    )


def random_crops(
    photos: Photos, idx: np.ndarray, cfg: Config, rng: np.random.Generator, scale=None
):
    """Fresh random-resized crops (scale, aspect, flip, light colour jitter) on the device.

    Squashed-square photos get a wider aspect range, so some crops undo the squash."""
    import torch
    from torch.nn import functional as F

    out = []
    for i in idx:
        img = photos.images[i]
        _, h, w = img.shape
        squashed = not photos.original[i]
        log_ratio = (
            (math.log(0.6), math.log(1 / 0.6)) if squashed else (math.log(3 / 4), math.log(4 / 3))
        )
        for _ in range(10):
            area = h * w * rng.uniform(*(scale or (cfg.min_scale, 1.0)))
            ratio = math.exp(rng.uniform(*log_ratio))
            cw, ch = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
            if 0 < cw <= w and 0 < ch <= h:
                break
        else:
            cw, ch = w, h
        x0, y0 = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        crop = img[None, :, y0 : y0 + ch, x0 : x0 + cw].float()
        crop = F.interpolate(crop, (cfg.size, cfg.size), mode="bilinear", antialias=True)
        if rng.random() < 0.5:
            crop = crop.flip(-1)
        out.append(crop)
    batch = torch.cat(out)
    n = len(idx)
    jitter = torch.from_numpy(rng.uniform(0.8, 1.2, (3, n)).astype(np.float32)).to(batch.device)
    gray = batch.mean(1, keepdim=True)
    batch = gray + (batch - gray) * jitter[0].view(n, 1, 1, 1)  # saturation
    mean = batch.mean((1, 2, 3), keepdim=True)
    batch = mean + (batch - mean) * jitter[1].view(n, 1, 1, 1)  # contrast
    batch = batch * jitter[2].view(n, 1, 1, 1)  # brightness
    return batch.clamp(0, 255)


def predict(model, head, pixels: np.ndarray, device, batch: int = 128):
    """(breed probabilities, ImageNet logits) for serving-preprocessed uint8 pixels."""
    import torch

    model.eval()
    probs, logits = [], []
    with torch.no_grad(), _autocast(device):
        for start in range(0, len(pixels), batch):
            x = torch.from_numpy(pixels[start : start + batch]).to(device)
            x = x.permute(0, 3, 1, 2).float().contiguous(memory_format=torch.channels_last)
            features, inet = model(x)
            breed = head(features) if head is not None else features[:, :1]
            probs.append(breed.float().softmax(-1).cpu().numpy())
            logits.append(inet.float().cpu().numpy())
    return np.concatenate(probs), np.concatenate(logits)


def _autocast(device):
    import torch

    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    # oneDNN's bfloat16 kernels where the CPU has them (AVX512-BF16): a training step here
    # takes 3.4-4.4 s instead of 7.3 s
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=_cpu_bf16())


def _cpu_bf16() -> bool:
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def mean_per_class(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


@dataclass(frozen=True)
class Labels:
    """The breed layer's labels (``labels.json``) and which of them are pedigree breeds."""

    names: list[str]
    pedigree: np.ndarray  # bool per label

    @classmethod
    def read(cls, directory: Path) -> Labels:
        from classifier.labels import NON_PEDIGREE

        names = json.loads((directory / "labels.json").read_text())
        return cls(names, np.array([name not in NON_PEDIGREE for name in names]))


def class_weights(labels: np.ndarray, classes: int) -> np.ndarray:
    """Per label, the loss weight that gives each label present one label's worth."""
    counts = np.bincount(labels, minlength=classes).astype(np.float64)
    weights = np.where(counts > 0, len(labels) / (max(1, (counts > 0).sum()) * counts.clip(1)), 0)
    return weights.astype(np.float32)


def train_one(
    cfg: Config, init: dict, fit: Photos, val: Photos, nonpet: Photos, labels: Labels, device
) -> dict:
    import torch
    from torch.nn import functional as F

    from training.torch_lite import EfficientNetLite, numpy_state

    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    teacher = EfficientNetLite(init).to(device).eval().to(memory_format=torch.channels_last)
    for p in teacher.parameters():
        p.requires_grad_(False)
    model = EfficientNetLite(init, drop_path=cfg.drop_path).to(device)
    model = model.to(memory_format=torch.channels_last)
    frozen = cfg.frozen_blocks
    for p in model.bottom_parameters(frozen) if frozen else []:
        p.requires_grad_(False)
    n_classes = len(labels.names)
    head = torch.nn.Linear(model.num_features, n_classes).to(device)
    weight = None
    if cfg.balanced:
        weight = torch.from_numpy(class_weights(fit.labels, n_classes)).to(device)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)

    trained = [p for p in model.parameters() if p.requires_grad]
    decay = [p for p in trained if p.ndim > 1]
    no_decay = [p for p in trained if p.ndim <= 1]
    optimizer = torch.optim.AdamW(
        [
            {"params": decay, "lr": cfg.lr, "weight_decay": cfg.weight_decay},
            {"params": no_decay, "lr": cfg.lr, "weight_decay": 0.0},
            {"params": head.parameters(), "lr": cfg.lr * 10, "weight_decay": cfg.weight_decay},
        ]
    )
    base_lrs = [g["lr"] for g in optimizer.param_groups]
    steps_per_epoch = len(fit.images) // cfg.batch
    total = steps_per_epoch * cfg.epochs
    warmup = steps_per_epoch
    teacher_val = predict(teacher, None, val.eval_pixels, device)[1]
    teacher_non = predict(teacher, None, nonpet.eval_pixels, device)[1]
    history = []
    step = 0
    t0 = time.perf_counter()
    for epoch in range(cfg.epochs):
        model.train()
        if cfg.freeze_bn:
            for module in model.modules():
                if isinstance(module, torch.nn.BatchNorm2d):
                    module.eval()
        order = rng.permutation(len(fit.images))
        losses = []
        for b in range(steps_per_epoch):
            idx = order[b * cfg.batch : (b + 1) * cfg.batch]
            x = random_crops(fit, idx, cfg, rng).contiguous(memory_format=torch.channels_last)
            y = torch.from_numpy(fit.labels[idx]).to(device)
            if cfg.background_crops:
                extra = rng.integers(0, len(fit.images), cfg.background_crops)
                background = random_crops(fit, extra, cfg, rng, cfg.background_scale)
                x = torch.cat([x, background.contiguous(memory_format=torch.channels_last)])
            scale = (
                step / warmup
                if step < warmup
                else 0.5 * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))
            )
            for group, base in zip(optimizer.param_groups, base_lrs, strict=True):
                group["lr"] = base * scale
            with _autocast(device):
                if frozen:
                    with torch.no_grad():  # the frozen bottom is the teacher's too
                        shared = teacher.bottom(x, frozen)
                        _, inet_teacher = teacher.top(shared, frozen)
                    features, inet = model.top(shared, frozen)
                else:
                    features, inet = model(x)
                    with torch.no_grad():
                        _, inet_teacher = teacher(x)
                loss = F.cross_entropy(
                    head(features[: len(idx)]).float(),
                    y,
                    weight=weight,
                    label_smoothing=cfg.label_smoothing,
                )
                if cfg.distill:
                    t = cfg.distill_temperature
                    kd = F.kl_div(
                        F.log_softmax(inet.float() / t, -1),
                        F.log_softmax(inet_teacher.float() / t, -1),
                        log_target=True,
                        reduction="batchmean",
                    )
                    loss = loss + cfg.distill * kd * t * t
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            losses.append(float(loss.detach()))
            step += 1
        record = {
            "epoch": epoch + 1,
            "loss": float(np.mean(losses)),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        if epoch + 1 == cfg.epochs or (epoch + 1) % 5 == 0:
            record.update(
                evaluate(model, head, val, nonpet, labels, teacher_val, teacher_non, device)
            )
        history.append(record)
        log(
            f"  [{cfg.name}] "
            + " ".join(
                f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in record.items()
            )
        )
    return {
        "config": asdict(cfg),
        "history": history,
        "final": history[-1],
        "state": numpy_state(model),
    }


def evaluate(
    model, head, val: Photos, nonpet: Photos, labels: Labels, teacher_val, teacher_non, device
) -> dict:
    """Validation figures: the ``val_*`` ones on the Oxford photos (the card's target), one
    top-1 per other group fine-tuned on, and for the ordinary pets how many are answered
    domestic / mixed."""
    probs, inet = predict(model, head, val.eval_pixels, device)
    _, inet_non = predict(model, head, nonpet.eval_pixels, device)
    pred = probs.argmax(1)
    pet_val = imagenet.pet_mass(inet)
    threshold = imagenet.gate_threshold(pet_val)
    ox = val.groups == data.OXFORD
    figures = {
        "val_top1": float((pred[ox] == val.labels[ox]).mean()),
        "val_mean_per_class": mean_per_class(pred[ox], val.labels[ox]),
        "val_original_top1": float(
            (pred[ox & val.original] == val.labels[ox & val.original]).mean()
        ),
        "nonpet_rejected": float((imagenet.pet_mass(inet_non) < threshold).mean()),
        "imagenet_agreement_nonpet": float((inet_non.argmax(1) == teacher_non.argmax(1)).mean()),
        "imagenet_agreement_val": float((inet.argmax(1) == teacher_val.argmax(1)).mean()),
    }
    for group in sorted(set(val.groups) - {data.OXFORD}):
        rows = val.groups == group
        figures[f"{group}_top1"] = float((pred[rows] == val.labels[rows]).mean())
        if group == data.GENERIC:
            figures[f"{group}_non_pedigree"] = float((~labels.pedigree[pred[rows]]).mean())
    return figures


# The experiments of docs/model.md; SHIPPED is the one whose checkpoint is committed.
SHIPPED = "long-kd3"
CONFIGS = {
    "base": Config(),
    "lr1e-4": Config(name="lr1e-4", lr=1e-4),
    "bn-train": Config(name="bn-train", freeze_bn=False),
    "long": Config(name="long", epochs=30),
    "long-bg": Config(name="long-bg", epochs=30, background_crops=32),
    "long-bg-kd3": Config(name="long-bg-kd3", epochs=30, background_crops=32, distill=3.0),
    "long-kd3": Config(name="long-kd3", epochs=30, distill=3.0),
    "long40-bg": Config(name="long40-bg", epochs=40, background_crops=32),
    # Every group (prepare --groups all), on from the committed checkpoint, which is also the
    # distillation teacher: tools/device_finetune.sh runs both in one rented-GPU call.
    "open-kd3": Config(name="open-kd3", epochs=15, lr=1e-4, distill=3.0, balanced=True),
    "open-kd3-lr3e-4": Config(
        name="open-kd3-lr3e-4", epochs=15, lr=3e-4, distill=3.0, balanced=True
    ),
    # The same on two CPU cores within a session (about 5.5 minutes an epoch): the stem and the
    # blocks up to the 88-channel stage stay as the checkpoint's, the rest is tuned.
    "open-top-kd3": Config(
        name="open-top-kd3", epochs=7, lr=3e-4, distill=3.0, balanced=True, frozen_blocks=11
    ),
}


def fine_tuned_on(fit: Photos, directory: Path, init: Path) -> dict:
    """What a new checkpoint records of the photos its weights have seen, its start's included
    (``lineage.json``, written by prepare): the groups and every photo fine-tuned on. make
    train calibrates on the other training photos."""
    path = directory / "lineage.json"
    if path.exists():
        lineage = json.loads(path.read_text())
        if lineage["init_sha256"] != sha256_file(init):
            raise SystemExit(f"{directory} was prepared for other starting weights than {init}")
    elif init.name == "init.npz":  # prepared before lineage.json: the ImageNet weights
        lineage = {"groups": [], "fine_tuned_on": []}
    else:
        raise SystemExit(f"{directory} has no lineage.json: prepare again with --init {init}")
    return {
        "groups": sorted(set(lineage["groups"]) | set(fit.groups)),
        "fine_tuned_on": sorted(set(lineage["fine_tuned_on"]) | set(fit.files)),
    }


def train(args: argparse.Namespace) -> int:
    import torch

    directory: Path = args.data
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.backends.cudnn.benchmark = True
    log(
        f"device: {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, "
        f"torch {torch.__version__}"
    )
    with (directory / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if args.limit:
        rows = [r for i, r in enumerate(rows) if i % args.limit == 0]
    t0 = time.perf_counter()
    subsets = {
        name: load_subset(
            directory, [r for r in rows if r["subset"] == name], device, args.eval_size
        )
        for name in ("fit", "val", "nonpet")
    }
    log(
        f"loaded {', '.join(f'{len(v.images)} {k}' for k, v in subsets.items())} photos "
        f"in {time.perf_counter() - t0:.0f} s"
    )
    from training.efficientnet_lite import load_finetuned

    init_path = args.init or directory / "init.npz"
    init, _ = load_finetuned(init_path)
    labels = Labels.read(directory)
    lineage = fine_tuned_on(subsets["fit"], directory, init_path)
    args.out.mkdir(parents=True, exist_ok=True)
    results = []
    deadline = time.perf_counter() + args.time_budget
    for name in args.configs:
        cfg = CONFIGS[name]
        overrides = {"epochs": args.epochs, "batch": args.batch}
        cfg = Config(**{**asdict(cfg), **{k: v for k, v in overrides.items() if v}})
        if results and time.perf_counter() + results[-1]["seconds"] * 1.1 > deadline:
            log(f"skipping {name}: not enough time left in --time-budget")
            continue
        started = time.perf_counter()
        result = train_one(
            cfg, init, subsets["fit"], subsets["val"], subsets["nonpet"], labels, device
        )
        result["seconds"] = time.perf_counter() - started
        state = result.pop("state")
        meta = {key: value for key, value in result.items()}
        meta["validation_photos"] = subsets["val"].files
        meta["fit_photos"] = len(subsets["fit"].images)
        meta |= lineage
        np.savez_compressed(
            args.out / f"{name}.npz",
            __meta__=np.array(json.dumps(meta)),
            **{k: v.astype(np.float16) for k, v in state.items()},
        )
        results.append(result)
        (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    log(
        "config: Oxford validation top-1 / mean per class / originals, non-pets rejected, "
        "ImageNet top-1 agreement with the original on non-pets[, other groups' figures]"
    )
    for r in results:
        f = r["final"]
        others = "".join(
            f", {key} {value:.4f}" for key, value in f.items() if key.startswith(OTHER_GROUPS)
        )
        log(
            f"  {r['config']['name']:>12}: {f['val_top1']:.4f} / {f['val_mean_per_class']:.4f} / "
            f"{f['val_original_top1']:.4f}, {f['nonpet_rejected']:.4f}, "
            f"{f['imagenet_agreement_nonpet']:.4f}{others}"
        )
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="compact copy of the training photos (CPU)")
    p.add_argument(
        "--data", "--data-dir", dest="data_dir", type=Path, default=None, help="photos folder"
    )
    p.add_argument("--out", type=Path, default=DEFAULT_DIR / "data")
    p.add_argument("--variant", default="lite2")
    p.add_argument("--seed", type=int, default=SEED)
    p.add_argument("--holdout", type=float, default=0.2)
    p.add_argument("--limit", type=int, default=0, help="keep every Nth photo (smoke runs)")
    p.add_argument(
        "--groups",
        nargs="+",
        default=[data.OXFORD],
        choices=[*data.PET_GROUPS, "all"],
        help="the photo folders to fine-tune on (default: oxford-pets, the committed run)",
    )
    # The defaults are the Oxford-only run's; the open-world run stores smaller copies so that
    # every group travels to a rented GPU machine in one call (docs/model.md).
    p.add_argument("--short-side", type=int, default=STORE_SHORT_SIDE, help="stored photos' side")
    p.add_argument("--quality", type=int, default=STORE_QUALITY, help="stored photos' WebP quality")
    p.add_argument(
        "--val-sample",
        type=int,
        default=0,
        help="copy at most this many validation photos of each non-Oxford group (0: all)",
    )
    p.add_argument(
        "--init",
        type=Path,
        default=None,
        help="the checkpoint `train --init` will start from: no init.npz is written, and its "
        "validation photos must stay out of the fine-tuning",
    )
    t = sub.add_parser("train", help="fine-tune (GPU recommended)")
    t.add_argument("--data", type=Path, default=DEFAULT_DIR / "data")
    t.add_argument("--out", type=Path, default=DEFAULT_DIR / "runs")
    t.add_argument("--configs", nargs="+", default=[SHIPPED], choices=sorted(CONFIGS))
    t.add_argument("--epochs", type=int, default=0, help="override every config's epochs")
    t.add_argument("--batch", type=int, default=0, help="override every config's batch size")
    t.add_argument("--eval-size", type=int, default=300)
    t.add_argument("--limit", type=int, default=0, help="keep every Nth photo (smoke runs)")
    t.add_argument("--time-budget", type=float, default=float("inf"), help="seconds")
    t.add_argument(
        "--init",
        type=Path,
        default=None,
        help="start from this checkpoint (also the distillation teacher) instead of the "
        "prepared ImageNet weights (init.npz)",
    )
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from training.data import resolve_data_dir

        args.data_dir = resolve_data_dir(args.data_dir)
        if "all" in args.groups:
            args.groups = list(data.PET_GROUPS)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(SEED)
    return prepare(args) if args.command == "prepare" else train(args)


if __name__ == "__main__":
    sys.exit(main())
