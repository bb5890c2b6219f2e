"""Serving runtime, side by side in one run: this classifier (LiteRT int8) versus the same model
under full TensorFlow/Keras (float backbone + the same breed head as a Dense layer).

Prints cold start (new process -> first answer), warm classify of a real JPEG (decode +
preprocess + inference) at 1 and 2 threads, peak RSS (each probe's own VmHWM), and installed
sizes; then what finding the pets costs (a close-up and a 1280x720 photo with two pets) against
one centre-crop pass, and the peak memory of a burst of photos into one process.
Run: `make bench` or `python -m benchmarks.classifier_bench`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHOTO = ROOT / "tests" / "fixtures" / "photos" / "dog_beagle.jpg"
BENCH_DIR = ROOT / "build" / "bench"

# Each probe runs in a fresh interpreter: it prints one JSON line.
LITERT_PROBE = """
import json, resource, sys, time
t0 = time.perf_counter()
from classifier import Classifier, ClassifierSettings
import dataclasses
data = open(sys.argv[1], "rb").read()
settings = dataclasses.replace(ClassifierSettings.from_env(), threads=int(sys.argv[2]))
clf = Classifier(settings)
first = clf.classify(data)
cold = time.perf_counter() - t0
for _ in range(20):
    clf.classify(data)
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); clf.classify(data); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"cold_s": cold, "warm_ms": 1000 * times[len(times) // 2],
                  "p95_ms": 1000 * times[int(len(times) * 0.95)], "breed": first.breed,
                  "rss_mb": peak_rss_mb()}))
"""

KERAS_PROBE = """
import json, os, resource, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
t0 = time.perf_counter()
import numpy as np, keras, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(int(sys.argv[2]))
from classifier.decode import decode_image
from classifier.preprocess import short_side_for, to_model_input
model = keras.models.load_model(sys.argv[4])
size = model.input_shape[1]
data = open(sys.argv[1], "rb").read()
def classify():
    x = to_model_input(decode_image(data, min_side=short_side_for(size)), size)
    return model.predict(x[None].astype("float32"), verbose=0)
classify()
cold = time.perf_counter() - t0
for _ in range(5):
    classify()
times = []
for _ in range(int(sys.argv[3])):
    t = time.perf_counter(); classify(); times.append(time.perf_counter() - t)
times.sort()
print(json.dumps({"cold_s": cold, "warm_ms": 1000 * times[len(times) // 2],
                  "p95_ms": 1000 * times[int(len(times) * 0.95)],
                  "rss_mb": peak_rss_mb()}))
"""

# This process's own peak (VmHWM). ru_maxrss is carried across exec on Linux, so a probe started
# by a parent that had loaded TensorFlow would report the parent's peak.
PEAK_RSS = """
def peak_rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""
LITERT_PROBE = PEAK_RSS + LITERT_PROBE
KERAS_PROBE = PEAK_RSS + KERAS_PROBE

# Cost of finding the pets (classifier.locate): a close-up and a 1280x720 photo with two pets,
# each against today's single pass (centre crop, one inference) on the same photo.
SCENE_PROBE = """
import dataclasses, io, json, sys, time
import numpy as np
from PIL import Image
from training.scenes import LANDSCAPE, scene_with
from classifier import Classifier, ClassifierSettings
from classifier.decode import decode_image
from classifier.imagenet import pet_mass
from classifier.preprocess import short_side_for, to_model_input
photos = sys.argv[1].split(",")
settings = dataclasses.replace(ClassifierSettings.from_env(), threads=int(sys.argv[2]))
clf = Classifier(settings)
def jpeg(image):
    buffer = io.BytesIO(); image.save(buffer, format="JPEG", quality=90); return buffer.getvalue()
close_up = open(photos[0], "rb").read()
pair = [(Image.open(photos[1]), ""), (Image.open(photos[2]), "")]
two, _ = scene_with(Image.open(photos[3]), pair, LANDSCAPE, 0.5, [(0.25, 0.55), (0.75, 0.5)])
two = jpeg(two)
humble = jpeg(Image.open(photos[4]).convert("RGB").resize((960, 960), Image.Resampling.BICUBIC))
# The same pedigree as a 4:3 phone photo: the middle 4:3 of the beagle's photo at 1280x960.
beagle = Image.open(photos[0]).convert("RGB")
side = round(beagle.height * 4 / 3)
left = (beagle.width - side) // 2
phone = beagle.crop((left, 0, left + side, beagle.height))
phone = jpeg(phone.resize((1280, 960), Image.Resampling.BICUBIC))
small, _ = scene_with(Image.open(photos[3]), pair[:1], LANDSCAPE, 1 / 3, [(0.1, 0.6)])
small = jpeg(small)
def single_pass(data):
    image = decode_image(data, min_side=short_side_for(clf.input_size))
    out = clf.backbone.run(to_model_input(image, clf.input_size)[None])
    return clf.head.probabilities(out.features[0]), pet_mass(out.imagenet_logits[0])
def p50(fn, data, n=int(sys.argv[3])):
    for _ in range(10): fn(data)
    times = []
    for _ in range(n):
        t = time.perf_counter(); fn(data); times.append(time.perf_counter() - t)
    return 1000 * sorted(times)[len(times) // 2]
print(json.dumps({
    "closeup_single_ms": p50(single_pass, close_up), "closeup_ms": p50(clf.classify, close_up),
    "humble_single_ms": p50(single_pass, humble), "humble_ms": p50(clf.classify, humble),
    "phone_single_ms": p50(single_pass, phone), "phone_ms": p50(clf.classify, phone),
    "small_single_ms": p50(single_pass, small), "small_ms": p50(clf.classify, small),
    "two_single_ms": p50(single_pass, two), "two_ms": p50(clf.classify, two),
    "two_found": len(clf.classify(two).pets)}))
"""


def build_keras_model() -> Path:
    """The shipped model's float twin: ported backbone + breed head + softmax, saved once per
    head file (a twin kept from an earlier model would carry its head)."""
    from classifier.model_card import load_card, sha256_file

    card = load_card(ROOT / "model", ROOT / "unique_labels.csv")
    keras_path = BENCH_DIR / f"breed_model-{sha256_file(card.head_path)[:12]}.keras"
    if keras_path.exists():
        return keras_path
    import keras
    import numpy as np

    from training.efficientnet_lite import build_model

    backbone = build_model(card.backbone)
    with np.load(card.head_path) as head:
        weights = head["weights"] / head["feature_scale"][:, None]
        bias = head["bias"] - (head["feature_mean"] / head["feature_scale"]) @ head["weights"]
        temperature = float(head["temperature"])
    features, imagenet_logits, _ = backbone.outputs
    dense = keras.layers.Dense(weights.shape[1], name="breed_logits")
    breed = keras.layers.Softmax()(dense(features) / temperature)
    model = keras.Model(backbone.input, [breed, imagenet_logits])
    dense.set_weights([weights, bias])
    keras_path.parent.mkdir(parents=True, exist_ok=True)
    model.save(keras_path)
    return keras_path


def probe(code: str, *args: str, runs: int = 1) -> dict:
    """Run a probe ``runs`` times in new processes; median of each figure."""
    results = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code, *args],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
    return {
        k: statistics.median(r[k] for r in results)
        if isinstance(results[0][k], float)
        else results[0][k]
        for k in results[0]
    }


def dist_closure(roots: list[str]) -> set[str]:
    """Installed distributions needed by ``roots`` (extras ignored except ptb's)."""
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        name = stack.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for req in dist.requires or []:
            if "extra ==" in req and "rate-limiter" not in req:
                continue
            stack.append(
                req.split(";")[0]
                .split("[")[0]
                .split("<")[0]
                .split(">")[0]
                .split("=")[0]
                .split("!")[0]
                .split("~")[0]
                .strip()
            )
    return seen


def installed_mb(names: set[str]) -> float:
    total = 0
    for name in names:
        for file in metadata.distribution(name).files or []:
            path = Path(file.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6


def runtime_roots() -> list[str]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [ln.split("==")[0].split("[")[0] for ln in lines if ln and not ln.startswith("#")]


def main() -> None:
    photo = str(PHOTO)
    keras_path = str(build_keras_model())
    print(f"Benchmark photo: {PHOTO.name}; CPU cores: {os.cpu_count()}; medians", flush=True)
    rows = []
    for threads in (1, 2):
        lite = probe(LITERT_PROBE, photo, str(threads), "300", runs=3)
        tf = probe(KERAS_PROBE, photo, str(threads), "40", keras_path, runs=2)
        rows.append((threads, lite, tf))
    runtime = dist_closure(runtime_roots())
    with_tf = runtime | dist_closure(["tensorflow", "keras"])
    size_runtime, size_tf = installed_mb(runtime), installed_mb(with_tf)

    print()
    print("| measure | LiteRT int8 (this classifier) | TensorFlow/Keras float | ratio |")
    print("|---|---|---|---|")
    lite1, tf1 = rows[0][1], rows[0][2]
    print(
        f"| cold start, new process -> first answer (1 thread) | {lite1['cold_s']:.2f} s | "
        f"{tf1['cold_s']:.2f} s | 1/{tf1['cold_s'] / lite1['cold_s']:.0f} |"
    )
    for threads, lite, tf in rows:
        print(
            f"| warm classify, real JPEG, {threads} thread{'s' if threads > 1 else ''} "
            f"(p50 / p95) | {lite['warm_ms']:.1f} / {lite['p95_ms']:.1f} ms | "
            f"{tf['warm_ms']:.1f} / {tf['p95_ms']:.1f} ms (`predict`) | "
            f"{tf['warm_ms'] / lite['warm_ms']:.1f}x faster |"
        )
    print(
        f"| peak RSS (1 thread) | {lite1['rss_mb']:.0f} MB | {tf1['rss_mb']:.0f} MB | "
        f"1/{tf1['rss_mb'] / lite1['rss_mb']:.1f} |"
    )
    print(
        f"| installed size of the runtime set | {size_runtime:.0f} MB | "
        f"{size_tf:.0f} MB (+ tensorflow, keras) | 1/{size_tf / size_runtime:.1f} |"
    )
    print(f"\n(first answer on {PHOTO.name}: {lite1['breed']})", flush=True)
    scene_costs()
    burst_memory()


# A close-up the quick look is sure shows a domestic cat: the look answers it alone (the 200 px
# fixture blown up to a phone-sized 960x960 JPEG, as the shelter photos come small).
HUMBLE_CLOSE_UP = "cat_domestic_tuxedo.jpg"


def scene_costs() -> None:
    """Finding the pets versus today's single pass, per photo, 1 and 2 threads."""
    fixtures = ROOT / "tests" / "fixtures" / "photos"
    photos = ",".join(
        str(fixtures / name)
        for name in (
            "dog_beagle.jpg",
            "dog_pug.jpg",
            "cat_siamese.jpg",
            "nonpet_landscape.jpg",
            HUMBLE_CLOSE_UP,
        )
    )
    print("\nFinding the pets (classifier.finder) versus one centre-crop pass, p50 per photo:")
    print("| photo | threads | single pass | this classifier | ratio (target) |")
    print("|---|---|---|---|---|")
    for threads in (1, 2):
        r = probe(SCENE_PROBE, photos, str(threads), "60", runs=1)
        print(
            f"| close-up ({PHOTO.name}) | {threads} | {r['closeup_single_ms']:.1f} ms | "
            f"{r['closeup_ms']:.1f} ms | {r['closeup_ms'] / r['closeup_single_ms']:.2f}x (<= 2x) |"
        )
        print(
            f"| 4:3 close-up of a pedigree, the centre crop's pass alone ({PHOTO.name}'s middle "
            f"at 1280x960) | {threads} | {r['phone_single_ms']:.1f} ms | {r['phone_ms']:.1f} ms | "
            f"{r['phone_ms'] / r['phone_single_ms']:.2f}x (<= 2x) |"
        )
        print(
            f"| close-up of a domestic cat, the centre crop's pass alone ({HUMBLE_CLOSE_UP} at "
            f"960x960) | "
            f"{threads} | "
            f"{r['humble_single_ms']:.1f} ms | {r['humble_ms']:.1f} ms | "
            f"{r['humble_ms'] / r['humble_single_ms']:.2f}x (<= 2x) |"
        )
        print(
            f"| 1280x720, one pet a third of the height at the edge | {threads} | "
            f"{r['small_single_ms']:.1f} ms | {r['small_ms']:.1f} ms | "
            f"{r['small_ms'] / r['small_single_ms']:.2f}x (<= 2x) |"
        )
        print(
            f"| 1280x720, two pets ({r['two_found']} found) | {threads} | "
            f"{r['two_single_ms']:.1f} ms | {r['two_ms']:.1f} ms | "
            f"{r['two_ms'] / r['two_single_ms']:.2f}x (<= 3x) |"
        )


# A burst into one process: 200 phone-sized photos from 40 threads (Starlette's and anyio's
# default thread limit), with the classifier's bound on photos in flight (pool size + 1) and
# without it (the bound raised past the burst).
BURST_PROBE = """
import io, json, sys, threading, time
from concurrent.futures import ThreadPoolExecutor
from PIL import Image
from classifier import Classifier
clf = Classifier()
if sys.argv[2] == "off":
    clf._in_flight = threading.BoundedSemaphore(10_000)
photo = Image.open(sys.argv[1]).convert("RGB").resize((1280, 960))
buffer = io.BytesIO(); photo.save(buffer, format="JPEG", quality=90); data = buffer.getvalue()
clf.classify(data)
t = time.perf_counter()
with ThreadPoolExecutor(40) as pool:
    list(pool.map(clf.classify, [data] * 200))
print(json.dumps({"wall_s": time.perf_counter() - t, "rss_mb": peak_rss_mb()}))
"""
BURST_PROBE = PEAK_RSS + BURST_PROBE


def burst_memory() -> None:
    """Peak memory of a burst with and without the bound on photos in flight."""
    print("\nA burst: 200 photos of 1280x960 classified from 40 threads at once, one process:")
    print("| photos worked on at once | peak RSS | wall |")
    print("|---|---|---|")
    for mode, label in (("on", "pool size + 1 (shipped)"), ("off", "every waiting thread's")):
        r = probe(BURST_PROBE, str(PHOTO), mode)
        print(f"| {label} | {r['rss_mb']:.0f} MB | {r['wall_s']:.1f} s |")


if __name__ == "__main__":
    main()
