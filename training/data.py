"""The labelled photos the model is trained on, a seeded stratified split, and training views.

Four groups, each in its own folder under the data directory (docs/data.md says where each
comes from and how to lay it out):

- ``oxford-pets``: the 37 Oxford-IIIT Pet breeds, as in ../shared/data (``manifest.csv``) or as
  the official download (``images/`` + ``annotations/trainval.txt``);
- ``dogs-extra``: 96 more dog breeds (Stanford Dogs), ``manifest.csv``;
- ``pets-generic``: ordinary cats and dogs without a breed (Kaggle Dogs vs Cats), ``manifest.csv``:
  the training photos of the ``domestic_cat`` and ``mixed_breed_dog`` outcomes;
- ``nonpet``: photos without a cat or dog, ``manifest.csv``: for the "no cat or dog" gate.

Many of these copies were squashed to squares. Real photos are not, so every squashed training
photo is also seen "unsquashed" to 4:3 and 3:4 (one of which is close to the original).
Accuracy on ``original`` photos is reported apart.
"""

from __future__ import annotations

import csv
import io
import os
import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from classifier.labels import DOMESTIC_CAT, MIXED_BREED_DOG, Breed

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA_DIR = ROOT.parent / "shared" / "data"
DATA_ENV = "BREEDBOT_DATA"
FIXTURE_ATTRIBUTION = ROOT / "tests" / "fixtures" / "photos" / "ATTRIBUTION.md"

OXFORD, DOGS_EXTRA, GENERIC, NONPET = "oxford-pets", "dogs-extra", "pets-generic", "nonpet"
PET_GROUPS = (OXFORD, DOGS_EXTRA, GENERIC)
SQUASHED = "squashed_square"
HOLDOUT = 0.2  # share of each group's photos held out (never trained on)
SCENE_EVAL_SHARE = 0.5  # of the non-pet photos: make eval's scene backgrounds
SCENE_SPLIT_SEED = 20261130

# Stanford Dogs folder names whose label in unique_labels.csv reads differently.
STANFORD_LABELS = {
    "airedale": "airedale_terrier",
    "appenzeller": "appenzeller_sennenhund",
    "blenheim_spaniel": "cavalier_king_charles_spaniel",
    "bluetick": "bluetick_coonhound",
    "boston_bull": "boston_terrier",
    "brabancon_griffon": "brussels_griffon",
    "brittany_spaniel": "brittany",
    "bull_mastiff": "bullmastiff",
    "cairn": "cairn_terrier",
    "cardigan": "cardigan_welsh_corgi",
    "chow": "chow_chow",
    "cocker_spaniel": "american_cocker_spaniel",
    "clumber": "clumber_spaniel",
    "doberman": "dobermann",
    "dandie_dinmont": "dandie_dinmont_terrier",
    "english_springer": "english_springer_spaniel",
    "entlebucher": "entlebucher_mountain_dog",
    "groenendael": "belgian_shepherd_groenendael",
    "kelpie": "australian_kelpie",
    "lhasa": "lhasa_apso",
    "malamute": "alaskan_malamute",
    "malinois": "belgian_malinois",
    "maltese_dog": "maltese",
    "mexican_hairless": "mexican_hairless_dog",
    "pekinese": "pekingese",
    "pembroke": "pembroke_welsh_corgi",
    "redbone": "redbone_coonhound",
    "walker_hound": "treeing_walker_coonhound",
    "wire-haired_fox_terrier": "wire_fox_terrier",
}
GENERIC_LABELS = {"cat": DOMESTIC_CAT, "dog": MIXED_BREED_DOG}
# The 30 popular breeds that dogs-extra holds 100 photos of (../shared/data/README.md), in our
# labels: the model card reports them apart, as the breeds users photograph most.
POPULAR_DOG_BREEDS = (
    "labrador_retriever",
    "german_shepherd",
    "golden_retriever",
    "french_bulldog",
    "standard_poodle",
    "miniature_poodle",
    "toy_poodle",
    "rottweiler",
    "siberian_husky",
    "pembroke_welsh_corgi",
    "cardigan_welsh_corgi",
    "border_collie",
    "shih_tzu",
    "dobermann",
    "boston_terrier",
    "miniature_schnauzer",
    "american_cocker_spaniel",
    "cavalier_king_charles_spaniel",
    "maltese",
    "bernese_mountain_dog",
    "english_springer_spaniel",
    "great_dane",
    "bullmastiff",
    "shetland_sheepdog",
    "alaskan_malamute",
    "west_highland_white_terrier",
    "chow_chow",
    "pekingese",
    "lhasa_apso",
    "weimaraner",
)


class MissingDataError(SystemExit):
    """The training photos are not where we look: one clear message, no traceback."""


@dataclass(frozen=True)
class Photo:
    path: Path
    label: str | None  # None for non-pet photos
    kind: str  # "original", "squashed_square" or "nonpet:<category>"
    group: str = OXFORD  # the folder it comes from (OXFORD, DOGS_EXTRA, GENERIC, NONPET)

    def relative(self, data_dir: Path) -> str:
        return self.path.relative_to(data_dir).as_posix()


def resolve_data_dir(given: Path | None = None) -> Path:
    """``--data DIR``, else ``$BREEDBOT_DATA``, else ../shared/data beside the checkout."""
    if given is not None:
        return given
    env = os.environ.get(DATA_ENV, "").strip()
    return Path(env) if env else DEFAULT_DATA_DIR


def _need(path: Path, what: str) -> Path:
    if not path.exists():
        raise MissingDataError(
            f"error: {what} not found at {path}.\n"
            f"Point the pipeline at the training photos with --data DIR or {DATA_ENV}=DIR; "
            "docs/data.md says where each dataset comes from and the folder layout it needs."
        )
    return path


def _manifest(data_dir: Path, group: str) -> list[dict[str, str]]:
    path = _need(data_dir / group / "manifest.csv", f"the {group} manifest")
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_oxford(data_dir: Path) -> list[Photo]:
    """Oxford-IIIT Pet trainval photos (the official test split is never used here)."""
    folder = _need(data_dir / OXFORD, "the Oxford-IIIT Pet folder")
    if (folder / "manifest.csv").exists():
        rows = [r for r in _manifest(data_dir, OXFORD) if r["split"] == "trainval"]
        return [Photo(data_dir / r["path"], r["label"], r["kind"], OXFORD) for r in rows]
    # The official download: images/<Name>_<n>.jpg and annotations/trainval.txt.
    listing = _need(folder / "annotations" / "trainval.txt", "annotations/trainval.txt")
    photos = []
    for line in listing.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name = line.split()[0]
        label = name.rsplit("_", 1)[0].lower()
        photos.append(Photo(folder / "images" / f"{name}.jpg", label, "original", OXFORD))
    return photos


def load_dogs_extra(data_dir: Path) -> list[Photo]:
    return [
        Photo(
            data_dir / DOGS_EXTRA / r["path"],
            STANFORD_LABELS.get(r["label"], r["label"]).replace("-", "_"),
            SQUASHED,
            DOGS_EXTRA,
        )
        for r in _manifest(data_dir, DOGS_EXTRA)
    ]


def load_generic(data_dir: Path) -> list[Photo]:
    return [
        Photo(data_dir / GENERIC / r["path"], GENERIC_LABELS[r["label"]], SQUASHED, GENERIC)
        for r in _manifest(data_dir, GENERIC)
    ]


def load_nonpets(data_dir: Path) -> list[Photo]:
    return [
        Photo(data_dir / r["path"], None, f"nonpet:{r['category']}", NONPET)
        for r in _manifest(data_dir, NONPET)
    ]


LOADERS = {OXFORD: load_oxford, DOGS_EXTRA: load_dogs_extra, GENERIC: load_generic}


def fixture_sources() -> set[str]:
    """Data paths copied into tests/fixtures: they must never be trained on."""
    if not FIXTURE_ATTRIBUTION.exists():
        return set()
    sources = set()
    for line in FIXTURE_ATTRIBUTION.read_text().splitlines():
        cells = [c.strip() for c in line.split("|")]
        if len(cells) > 3 and cells[3].startswith(tuple(f"{g}/" for g in (*PET_GROUPS, NONPET))):
            sources.add(cells[3])
    return sources


def split(photos: list[Photo], holdout: float, seed: int) -> tuple[list[Photo], list[Photo]]:
    """Stratified by (breed, kind) so original photos are spread over both sides; test
    fixtures always land on the held side."""
    pinned = fixture_sources()
    groups: dict[tuple[str | None, str], list[Photo]] = defaultdict(list)
    for photo in photos:
        groups[(photo.label, photo.kind)].append(photo)
    rng = random.Random(seed)
    train, held = [], []
    for key in sorted(groups, key=str):
        members = sorted(groups[key], key=lambda p: p.path.name)
        rng.shuffle(members)
        n_held = round(len(members) * holdout)
        for i, photo in enumerate(members):
            is_fixture = str(photo.path.relative_to(photo.path.parents[2])) in pinned
            (held if i < n_held or is_fixture else train).append(photo)
    return train, held


def folds(photos: list[Photo], k: int, seed: int) -> np.ndarray:
    """Per photo its fold of ``k``, stratified like ``split``; fold 0 is the 1/k that
    ``split(photos, 1 / k, seed)`` holds out (heads cached for it stay valid)."""
    where = {p.path: i for i, p in enumerate(photos)}
    fold = np.full(len(photos), -1)
    rest = list(photos)
    for i in range(k):
        if i < k - 1:
            rest, chosen = split(rest, 1 / (k - i), seed)
        else:
            chosen = rest
        fold[[where[p.path] for p in chosen]] = i
    return fold


def popularity_prior(photos: Iterable[Photo], labels: tuple[Breed, ...]) -> np.ndarray:
    """Per label, a log-prior for how common the breed is among people's pets: log(its photos /
    the most any breed has). The class-balanced head takes every breed as equally likely, but
    the folders' curators gave the 30 most popular Stanford breeds 100 photos and the 66 others
    35 (an Oxford breed ~100): a rare breed gets -1.05. It only reorders pedigree breeds (0 for
    the non-pedigree outcomes, which have a calibrated prior of their own). On the hold-outs
    (calibrated either way): Oxford 89.5% -> 90.4%, popular breeds 86.8% -> 88.0% (right and
    sure 73.3% -> 76.3%), ordinary dogs answered "mixed" 57.5% -> 61.0%; all 96 Stanford breeds
    83.6% -> 81.6% (the rare ones lose)."""
    counts = Counter(p.label for p in photos)
    pedigree = np.array([b.pedigree for b in labels])
    n = np.array([counts.get(b.label, 0) for b in labels], dtype=float)
    most = max(1.0, n[pedigree].max(initial=1.0))
    return np.where(pedigree, np.log(np.maximum(n, 1.0) / most), 0.0)


def read_first_through_crop(photos: Iterable[Photo]) -> np.ndarray:
    """Which photos serving reads through their centre crop's pass first (those up to 4:3:
    classifier.locate.crop_first), from their headers."""
    from classifier.locate import crop_first

    def first(photo: Photo) -> bool:
        with Image.open(photo.path) as img:
            return crop_first(*img.size)

    return np.array([first(p) for p in photos], dtype=bool)


def scene_backgrounds(nonpets: list[Photo]) -> tuple[list[Photo], list[Photo]]:
    """The non-pet photos the pet finder trains its scenes on, and the ones make eval builds
    its scenes from (never the same: the eval measures scenes the finder never saw)."""
    return split(nonpets, SCENE_EVAL_SHARE, SCENE_SPLIT_SEED)


# The ordinary pets' copies (pets-generic) are 200 px squares saved as JPEG quality 85; the pedigree
# photos are bigger (Oxford: 384 px squares or ~500 px originals). Trained on them as they are, the
# head takes size as a sign of breed: model 3.4 names the Oxford hold-out's photos made like those
# copies "domestic cat" for 21% of the cats (as they are: 3%; docs/model.md, "Is size a sign of
# breed?"), so it may lean to pedigrees for the sharp phone photos of ordinary pets. A
# photo this much bigger than those copies is measured as such a copy (make train's hold-out
# figures), and the pedigree cats' copies are trained on too, as a view of their own (model 3.5;
# `--small-copies` in training.pipeline chooses whose).
SMALL_COPY_SIDE = 200
SMALL_COPY_QUALITY = 85
SMALL_COPY_ABOVE = 1.5  # short side, in copy sides: Oxford's photos, not Stanford's 224 px ones
SMALL_COPY_VIEW = 100  # its view number among a photo's training views (0 is the photo itself)


def small_copy(img: Image.Image) -> Image.Image | None:
    """``img`` made the way the ordinary pets' copies were (squashed to a 200 px square, JPEG),
    or None when it is about that size already."""
    if min(img.size) < SMALL_COPY_ABOVE * SMALL_COPY_SIDE:
        return None
    square = img.convert("RGB").resize((SMALL_COPY_SIDE, SMALL_COPY_SIDE), Image.Resampling.BICUBIC)
    buffer = io.BytesIO()
    square.save(buffer, format="JPEG", quality=SMALL_COPY_QUALITY)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def views(img: Image.Image, kind: str, *, augment: bool) -> list[Image.Image]:
    """Training views of one photo (augment=True) or just the photo itself."""
    if not augment or kind != SQUASHED:
        return [img]
    w, h = img.size
    return [
        img,
        img.resize((w * 4 // 3, h), Image.Resampling.BICUBIC),
        img.resize((w, h * 4 // 3), Image.Resampling.BICUBIC),
    ]
