"""Fine-tune EfficientNet-Lite's backbone on the training photos, keeping its ImageNet head.

Why: a logistic head on the frozen ImageNet backbone tops out near 91% on original-aspect
photos (docs/model.md). Fine-tuning the whole backbone with fresh random crops every epoch
lets it learn breed details; the ImageNet head is *distilled* from the frozen original
("learning without forgetting"), so the "no cat or dog" gate keeps working on the same single
network. The committed checkpoint was fine-tuned on the Oxford photos only; fine-tuning on the
Stanford Dogs and ordinary-pet folders too is the next step (docs/model.md, model 3.0).

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

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / "build" / "finetune"
# Training crops are 260 px. The copy of the 2,940 training photos is ~36 MB, small enough to
# ship to a rented GPU machine along with the repository.
STORE_SHORT_SIDE = 288
STORE_QUALITY = 75  # WebP
VAL_FRACTION = 0.15
SEED = 20261126


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- prepare (CPU)


def prepare(args: argparse.Namespace) -> int:
    """Write ``manifest.csv``, ``images/``, ``nonpet/`` and ``init.npz`` under ``--out``."""
    from training import data
    from training.efficientnet_lite import load_state_dict

    labels = _labels()
    pets = data.load_oxford(args.data_dir)
    train, held = data.split(pets, args.holdout, args.seed)
    fit, val = data.split(train, VAL_FRACTION, args.seed)
    nonpets = data.load_nonpets(args.data_dir)
    if args.limit:  # smoke runs: every Nth photo
        fit, val, nonpets = fit[:: args.limit], val[:: args.limit], nonpets[:: args.limit]
    out: Path = args.out
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "nonpet").mkdir(parents=True, exist_ok=True)
    rows = []
    for subset, photos in (("fit", fit), ("val", val)):
        for photo in photos:
            rel = photo.path.relative_to(args.data_dir).as_posix()
            name = f"images/{len(rows):05d}.webp"
            rows.append(
                {
                    "file": name,
                    "source": rel,
                    "label": photo.label,
                    "kind": photo.kind,
                    "subset": subset,
                    "index": labels.index(photo.label),
                }
            )
    for i, photo in enumerate(nonpets):
        name = f"nonpet/{i:04d}.webp"
        rows.append(
            {
                "file": name,
                "source": photo.path.relative_to(args.data_dir).as_posix(),
                "label": "",
                "kind": photo.kind,
                "subset": "nonpet",
                "index": -1,
            }
        )
    sources = {r["file"]: args.data_dir / r["source"] for r in rows}

    def store(name: str) -> int:
        img = Image.open(sources[name])
        img = img.convert("RGB")
        scale = STORE_SHORT_SIDE / min(img.size)
        if scale < 1:
            size = (round(img.width * scale), round(img.height * scale))
            img = img.resize(size, Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        img.save(buffer, "WEBP", quality=STORE_QUALITY, method=4)
        (out / name).write_bytes(buffer.getvalue())
        return len(buffer.getvalue())

    with ThreadPoolExecutor(4) as pool:
        total = sum(pool.map(store, sources))
    with (out / "manifest.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    state = load_state_dict(args.variant)
    np.savez_compressed(out / "init.npz", **{k: v.astype(np.float16) for k, v in state.items()})
    (out / "labels.json").write_text(json.dumps(labels))
    log(
        f"prepared {len(fit)} fine-tuning + {len(val)} validation photos and {len(nonpets)} "
        f"non-pets ({total / 1e6:.1f} MB) in {out}; the {len(held)} hold-out photos stay out"
    )
    return 0


def _labels() -> list[str]:
    """The breeds the committed checkpoint was fine-tuned on: the Oxford-IIIT Pet 37."""
    from classifier.labels import SOURCES, load_labels

    return [b.label for b in load_labels(ROOT / "unique_labels.csv") if b.source == SOURCES[0]]


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
    seed: int = SEED


@dataclass
class Photos:
    images: list  # uint8 (3, H, W) tensors on the training device
    labels: np.ndarray
    original: np.ndarray
    eval_pixels: np.ndarray  # serving preprocessing: (N, S, S, 3) uint8
    files: list[str] = field(default_factory=list)


def load_subset(directory: Path, rows: list[dict], device, eval_size: int) -> Photos:
    import torch

    def read(row: dict):
        img = Image.open(directory / row["file"]).convert("RGB")
        return np.asarray(img), preprocess.to_model_input(img, eval_size)

    with ThreadPoolExecutor(8) as pool:
        decoded = list(pool.map(read, rows))
    return Photos(
        images=[torch.from_numpy(a).permute(2, 0, 1).contiguous().to(device) for a, _ in decoded],
        labels=np.array([int(r["index"]) for r in rows]),
        original=np.array([r["kind"] == "original" for r in rows]),
        eval_pixels=np.stack([e for _, e in decoded]),
        files=[r["source"] for r in rows],
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
    return torch.autocast("cpu", enabled=False)


def mean_per_class(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean([(pred[y == c] == c).mean() for c in np.unique(y)]))


def train_one(cfg: Config, init: dict, fit: Photos, val: Photos, nonpet: Photos, device) -> dict:
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
    n_classes = int(max(fit.labels.max(), val.labels.max())) + 1
    head = torch.nn.Linear(model.num_features, n_classes).to(device)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)

    decay = [p for n, p in model.named_parameters() if p.ndim > 1]
    no_decay = [p for n, p in model.named_parameters() if p.ndim <= 1]
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
                features, inet = model(x)
                with torch.no_grad():
                    _, inet_teacher = teacher(x)
                loss = F.cross_entropy(
                    head(features[: len(idx)]).float(), y, label_smoothing=cfg.label_smoothing
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
            record.update(evaluate(model, head, val, nonpet, teacher_val, teacher_non, device))
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


def evaluate(model, head, val: Photos, nonpet: Photos, teacher_val, teacher_non, device) -> dict:
    probs, inet = predict(model, head, val.eval_pixels, device)
    _, inet_non = predict(model, head, nonpet.eval_pixels, device)
    pred = probs.argmax(1)
    pet_val = imagenet.pet_mass(inet)
    threshold = imagenet.gate_threshold(pet_val)
    return {
        "val_top1": float((pred == val.labels).mean()),
        "val_mean_per_class": mean_per_class(pred, val.labels),
        "val_original_top1": float((pred[val.original] == val.labels[val.original]).mean()),
        "nonpet_rejected": float((imagenet.pet_mass(inet_non) < threshold).mean()),
        "imagenet_agreement_nonpet": float((inet_non.argmax(1) == teacher_non.argmax(1)).mean()),
        "imagenet_agreement_val": float((inet.argmax(1) == teacher_val.argmax(1)).mean()),
    }


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
    init = dict(np.load(directory / "init.npz"))
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
        result = train_one(cfg, init, subsets["fit"], subsets["val"], subsets["nonpet"], device)
        result["seconds"] = time.perf_counter() - started
        state = result.pop("state")
        meta = {key: value for key, value in result.items()}
        meta["validation_photos"] = subsets["val"].files
        meta["fit_photos"] = len(subsets["fit"].images)
        np.savez_compressed(
            args.out / f"{name}.npz",
            __meta__=np.array(json.dumps(meta)),
            **{k: v.astype(np.float16) for k, v in state.items()},
        )
        results.append(result)
        (args.out / "summary.json").write_text(json.dumps(results, indent=1))
    log(
        "config: validation top-1 / mean per class / originals, non-pets rejected, "
        "ImageNet top-1 agreement with the original on non-pets"
    )
    for r in results:
        f = r["final"]
        log(
            f"  {r['config']['name']:>12}: {f['val_top1']:.4f} / {f['val_mean_per_class']:.4f} / "
            f"{f['val_original_top1']:.4f}, {f['nonpet_rejected']:.4f}, "
            f"{f['imagenet_agreement_nonpet']:.4f}"
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
    t = sub.add_parser("train", help="fine-tune (GPU recommended)")
    t.add_argument("--data", type=Path, default=DEFAULT_DIR / "data")
    t.add_argument("--out", type=Path, default=DEFAULT_DIR / "runs")
    t.add_argument("--configs", nargs="+", default=[SHIPPED], choices=sorted(CONFIGS))
    t.add_argument("--epochs", type=int, default=0, help="override every config's epochs")
    t.add_argument("--batch", type=int, default=0, help="override every config's batch size")
    t.add_argument("--eval-size", type=int, default=300)
    t.add_argument("--limit", type=int, default=0, help="keep every Nth photo (smoke runs)")
    t.add_argument("--time-budget", type=float, default=float("inf"), help="seconds")
    args = parser.parse_args(argv)
    if args.command == "prepare":
        from training.data import resolve_data_dir

        args.data_dir = resolve_data_dir(args.data_dir)
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(SEED)
    return prepare(args) if args.command == "prepare" else train(args)


if __name__ == "__main__":
    sys.exit(main())
