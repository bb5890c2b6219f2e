"""Command line: ``python -m classifier [--top K] [--json] IMAGE...``.

With ``--json`` each image gives one JSON object on its own line (other tools parse this):
``{"path", "is_pet", "species", "breed", "confidence", "confident", "top": [{"breed",
"confidence"}]}`` (``breed`` may be ``domestic_cat`` or ``mixed_breed_dog``; ``confident`` is the
model's own decision to state the answer as sure), or
``{"path", "error"}`` for an image that cannot be read. Exit status 1 if any image failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from classifier.core import get_classifier
from classifier.errors import ClassifierError, InvalidImageError
from classifier.formatting import percent
from classifier.result import Prediction


def describe(path: str, prediction: Prediction) -> str:
    """One readable line per image, with the percentages the bot and the form show."""
    if not prediction.is_pet:
        return f"{path}: no cat or dog found ({percent(prediction.confidence)} sure)"
    alternatives = ", ".join(
        f"{g.display_name} {percent(g.confidence)}" for g in prediction.top[1:]
    )
    hedge = "" if prediction.confident else " (not sure)"
    name = prediction.display_name
    if prediction.pedigree:
        name = f"{name} ({prediction.species})"
    answer = f"{name}, {percent(prediction.confidence)}"
    return f"{path}: {answer}" + hedge + (f"; then {alternatives}" if alternatives else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m classifier", description="Tell the breed of a cat or dog in photos."
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--top", type=int, default=3, metavar="K", help="alternatives (default 3)")
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top must be at least 1")

    try:
        classifier = get_classifier()
    except ClassifierError as exc:
        print(f"error: cannot load the model: {exc}", file=sys.stderr)
        return 2

    failed = False
    for path in args.images:
        try:
            data = Path(path).read_bytes()
            prediction = classifier.classify(data, top_k=args.top)
        except (OSError, InvalidImageError) as exc:
            failed = True
            message = str(exc) if isinstance(exc, InvalidImageError) else exc.strerror or str(exc)
            if args.json:
                print(json.dumps({"path": path, "error": message}), flush=True)
            else:
                print(f"{path}: error: {message}", file=sys.stderr, flush=True)
            continue
        if args.json:
            print(json.dumps({"path": path, **prediction.to_dict()}), flush=True)
        else:
            print(describe(path, prediction), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
