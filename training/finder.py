"""Train the pet finder (``classifier.finder``) on phone-like scenes.

Stages, each passing small records:

    plan_scenes -> look_at_scenes (cached) -> fit_finder

A scene is one of half the non-pet photos (the other half is `make eval`'s), covered to a phone
frame (16:9, 9:16, 4:3, 3:4 or square), with 0 to 3 training-split pets pasted at random
places and heights (``training.scenes``; squashed photos get a plausible aspect back first).
It is JPEG-encoded, decoded as serving decodes, and looked at whole at one of the two look
sizes serving uses (``classifier.locate``); the int8 model's feature map and the pets' boxes
are what the finder learns from. The network is fitted with torch (train extra) and saved as
plain arrays that ``classifier.finder`` runs in NumPy.
"""

from __future__ import annotations

import io
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from classifier import finder, locate
from classifier.decode import decode_image
from classifier.finder import PetFinder
from classifier.runtime import LiteRTBackbone
from training import scenes
from training.data import SQUASHED, Photo

FRAMES = [(1280, 720), (720, 1280), (1280, 960), (960, 1280), (1024, 1024)]
PETS_PER_SCENE = [(0, 0.12), (1, 0.48), (2, 0.32), (3, 0.08)]  # (count, probability)
# Pet heights, share of the frame height, drawn log-uniform: small pets are as common as big
# ones (a uniform draw made the finder guess too big a box for a small pet).
HEIGHTS = {1: (0.18, 0.8), 2: (0.18, 0.6), 3: (0.18, 0.5)}
# Only ~80 background photos: each scene shows a random part of one (this share of its sides
# or more), at a random brightness, so the finder learns pets rather than backgrounds.
BACKGROUND_ZOOM = 0.6
BRIGHTNESS = (0.75, 1.25)
RESTORED_ASPECTS = [4 / 3, 4 / 3, 3 / 4, 1.0]  # for squashed-square pets
JPEG_QUALITIES = [75, 85, 92]
EPOCHS = 30
BATCH = 1024
LEARNING_RATE = 2e-3
WEIGHT_DECAY = 1e-2
DROPOUT = 0.2
BOX_LOSS_WEIGHT = 0.5
VALIDATION_SHARE = 0.1  # of the scenes: reported, not trained on


@dataclass(frozen=True)
class PlacedPet:
    photo: Photo
    height: float  # share of the frame height
    x: float  # centre, share of the frame width
    y: float
    aspect: float  # width / height restored for a squashed photo (1.0: kept)
    mirror: bool


@dataclass(frozen=True)
class ScenePlan:
    background: Photo
    mirror: bool
    part: tuple[float, float, float, float]  # of the background, as shares of its sides
    brightness: float
    frame: tuple[int, int]
    pets: tuple[PlacedPet, ...]
    look_scale: float  # which look serving would take (classifier.locate.LOOK_SCALES)
    quality: int


@dataclass
class SceneLooks:
    """What the finder learns from: per scene its feature map and its pets' (box, hidden share)
    in the scene's pixels."""

    feature_maps: list[np.ndarray]
    pets: list[list[tuple[finder.Box, float]]]
    frames: list[tuple[int, int]]


def plan_scenes(
    pets: list[Photo], backgrounds: list[Photo], count: int, seed: int
) -> list[ScenePlan]:
    rng = random.Random(seed)
    plans = []
    counts, weights = zip(*PETS_PER_SCENE, strict=True)
    for _ in range(count):
        n = rng.choices(counts, weights)[0]
        placed = tuple(
            PlacedPet(
                photo=rng.choice(pets),
                height=float(np.exp(rng.uniform(*np.log(HEIGHTS[n])))),
                x=rng.random(),
                y=rng.random(),
                aspect=rng.choice(RESTORED_ASPECTS),
                mirror=rng.random() < 0.5,
            )
            for _ in range(n)
        )
        side = rng.uniform(BACKGROUND_ZOOM, 1.0)
        left, top = rng.uniform(0, 1 - side), rng.uniform(0, 1 - side)
        plans.append(
            ScenePlan(
                background=rng.choice(backgrounds),
                mirror=rng.random() < 0.5,
                part=(left, top, left + side, top + side),
                brightness=rng.uniform(*BRIGHTNESS),
                frame=rng.choice(FRAMES),
                pets=placed,
                look_scale=rng.choice(locate.LOOK_SCALES),
                quality=rng.choice(JPEG_QUALITIES),
            )
        )
    return plans


def render(plan: ScenePlan) -> tuple[bytes, list[tuple[finder.Box, float]]]:
    """The scene as JPEG bytes, and each pet's box with the share of it later pets hide."""
    background = Image.open(plan.background.path).convert("RGB")
    w, h = background.size
    x0, y0, x1, y1 = plan.part
    background = background.crop((round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h)))
    background = ImageEnhance.Brightness(background).enhance(plan.brightness)
    if plan.mirror:
        background = background.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    frame = scenes.cover(background, plan.frame)
    boxes = [scenes.place(frame, _pet_image(p), p.height, p.x, p.y) for p in plan.pets]
    pets = []
    for i, box in enumerate(boxes):
        hidden = max((locate.share_inside(box, later) for later in boxes[i + 1 :]), default=0.0)
        pets.append((tuple(float(v) for v in box), hidden))
    buffer = io.BytesIO()
    frame.save(buffer, format="JPEG", quality=plan.quality)
    return buffer.getvalue(), pets  # type: ignore[return-value]


def _pet_image(pet: PlacedPet) -> Image.Image:
    image = Image.open(pet.photo.path).convert("RGB")
    if pet.photo.kind == SQUASHED and pet.aspect != 1.0:
        w, h = image.size
        size = (round(w * pet.aspect), h) if pet.aspect > 1 else (w, round(h / pet.aspect))
        image = image.resize(size, Image.Resampling.BICUBIC)
    if pet.mirror:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return image


def look_at_scenes(
    plans: list[ScenePlan],
    runtime: LiteRTBackbone,
    detail_side: int,
    cache: Path,
    log: Callable[[str], None] = print,
) -> SceneLooks:
    """Render every scene and look at it as serving does; cached (minutes of work)."""
    if cache.exists():
        log(f"      reusing {cache.name}")
        with np.load(cache, allow_pickle=False) as saved:
            maps = [saved[f"map{i}"] for i in range(len(plans))]
            pets = [_unpack(saved[f"pets{i}"]) for i in range(len(plans))]
            frames = [tuple(int(v) for v in f) for f in saved["frames"]]
        return SceneLooks(maps, pets, frames)  # type: ignore[arg-type]
    maps, pets, frames = [], [], []
    start = time.perf_counter()
    for i, plan in enumerate(plans):
        jpeg, placed = render(plan)
        image = decode_image(jpeg, min_side=detail_side)
        scale = image.width / plan.frame[0]
        size = locate.look_size(image.width, image.height, runtime.input_size, plan.look_scale)
        view = locate.look_pixels(image, size)
        maps.append(runtime.run(view[None]).feature_map[0].astype(np.float16))
        pets.append([(tuple(v * scale for v in box), hidden) for box, hidden in placed])
        frames.append((image.width, image.height))
        if (i + 1) % 500 == 0:
            log(f"      {i + 1}/{len(plans)} scenes, {time.perf_counter() - start:.0f} s")
    cache.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"map{i}": m for i, m in enumerate(maps)}
    arrays |= {f"pets{i}": _pack(p) for i, p in enumerate(pets)}
    np.savez(cache, frames=np.array(frames), **arrays)
    return SceneLooks(maps, pets, frames)  # type: ignore[arg-type]


def _pack(pets: list[tuple[finder.Box, float]]) -> np.ndarray:
    return np.array([[*box, hidden] for box, hidden in pets], np.float64).reshape(-1, 5)


def _unpack(rows: np.ndarray) -> list[tuple[finder.Box, float]]:
    return [(tuple(float(v) for v in r[:4]), float(r[4])) for r in rows]  # type: ignore[misc]


@dataclass(frozen=True)
class FinderFit:
    finder: PetFinder
    validation: dict[str, float]  # scenes; per-cell accuracy and box error on held-out ones
    inputs: str = ""  # what it was fitted from (training.pipeline.finder_inputs)


def fit_finder(looks: SceneLooks, seed: int, log: Callable[[str], None] = print) -> FinderFit:
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    sample = np.concatenate([m.reshape(-1, m.shape[-1])[::7] for m in looks.feature_maps])
    sample = sample.astype(np.float32)
    mean = sample.mean(axis=0)
    _, singular, vt = np.linalg.svd(sample - mean, full_matrices=False)
    k = finder.COMPONENTS
    projection = (vt[:k].T / (singular[:k] / np.sqrt(len(sample)))).astype(np.float32)

    scene_of, inputs, labels, targets, weights = [], [], [], [], []
    for i, (fm, pets, (w, h)) in enumerate(
        zip(looks.feature_maps, looks.pets, looks.frames, strict=True)
    ):
        reduced = (fm.astype(np.float32) - mean) @ projection
        x = finder.cell_inputs(reduced)
        label, target, weight = finder.cell_targets(fm.shape[0], fm.shape[1], w, h, pets)
        inputs.append(x.reshape(-1, x.shape[-1]))
        labels.append(label.ravel())
        targets.append(target.reshape(-1, 4))
        weights.append(weight.ravel())
        scene_of.append(np.full(label.size, i))
    x_all = torch.from_numpy(np.concatenate(inputs))
    y_all = torch.from_numpy(np.concatenate(labels))
    t_all = torch.from_numpy(np.concatenate(targets))
    w_all = torch.from_numpy(np.concatenate(weights))
    scene = np.concatenate(scene_of)
    held_scenes = rng.permutation(len(looks.frames))[: round(VALIDATION_SHARE * len(looks.frames))]
    is_val = np.isin(scene, held_scenes)
    train_rows, val_rows = np.flatnonzero(~is_val), np.flatnonzero(is_val)
    log(
        f"      {len(x_all)} cells of {len(looks.frames)} scenes, "
        f"{float(y_all.mean()):.1%} pet cells; {len(held_scenes)} scenes held out"
    )

    net = torch.nn.Sequential(
        torch.nn.Linear(x_all.shape[1], finder.HIDDEN),
        torch.nn.ReLU(),
        torch.nn.Dropout(DROPOUT),
        torch.nn.Linear(finder.HIDDEN, 5),
    )
    steps = EPOCHS * (len(train_rows) // BATCH + 1)
    optimiser = torch.optim.AdamW(net.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, LEARNING_RATE, total_steps=steps)
    bce = torch.nn.BCEWithLogitsLoss(reduction="none")

    def loss(rows):
        out = net(x_all[rows])
        objectness = (bce(out[:, 0], y_all[rows]) * w_all[rows]).mean()
        pos = y_all[rows] > 0
        box = (out[pos, 1:] - t_all[rows][pos]).abs().sum(dim=1).mean()
        return objectness + BOX_LOSS_WEIGHT * box

    start = time.perf_counter()
    for _ in range(EPOCHS):
        net.train()
        order = torch.from_numpy(rng.permutation(train_rows))
        for i in range(0, len(order), BATCH):
            batch_loss = loss(order[i : i + BATCH])
            optimiser.zero_grad()
            batch_loss.backward()
            optimiser.step()
            schedule.step()
    net.eval()
    with torch.no_grad():
        rows = torch.from_numpy(val_rows)
        out = net(x_all[rows])
        counted = w_all[rows] > 0
        right = ((out[:, 0] > finder.OBJECT_LOGIT).float() == y_all[rows])[counted]
        pos = y_all[rows] > 0
        box_error = (out[pos, 1:] - t_all[rows][pos]).abs().mean()
    validation = {
        "scenes": len(looks.frames),
        "cell_accuracy": float(right.float().mean()),
        "box_log_mae": float(box_error),
    }
    log(
        f"      {EPOCHS} epochs in {time.perf_counter() - start:.0f} s; held-out scenes: "
        f"cells right {validation['cell_accuracy']:.1%}, box log-error "
        f"{validation['box_log_mae']:.3f}"
    )
    first, _, _, second = net
    params = [p.detach().numpy().astype(np.float32) for p in (first.weight, first.bias)]
    params += [p.detach().numpy().astype(np.float32) for p in (second.weight, second.bias)]
    return FinderFit(
        PetFinder(mean, projection, params[0].T.copy(), params[1], params[2].T.copy(), params[3]),
        validation,
    )
