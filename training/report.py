"""Metrics, plots and the model card (JSON + Markdown) written beside the model files."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np

from classifier.head import LOOK_ALONE
from classifier.imagenet import PROBE_MARGIN
from classifier.labels import Breed
from classifier.model_card import CARD_FILE, sha256_file
from classifier.preprocess import short_side_for
from training.data import DOGS_EXTRA, GENERIC, HOLDOUT, OXFORD, POPULAR_DOG_BREEDS, Photo
from training.head import expected_calibration_error, log_loss


def per_class_accuracy(pred: np.ndarray, y: np.ndarray, n_classes: int) -> float:
    accs = [float((pred[y == k] == k).mean()) for k in range(n_classes) if (y == k).any()]
    return float(np.mean(accs))


def confusion_plot(
    pred: np.ndarray,
    y: np.ndarray,
    labels: list[str],
    shown: list[int],
    path: Path,
    title: str,
) -> None:
    """Confusion among the ``shown`` labels; answers outside them pooled in one column."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    position = {k: i for i, k in enumerate(shown)}
    names = [labels[k] for k in shown] + ["(other label)"]
    n = len(shown)
    matrix = np.zeros((n, n + 1))
    for t, p in zip(y, pred, strict=True):
        if t in position:
            matrix[position[t], position.get(p, n)] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(12, 11))
    ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n + 1), names, rotation=90, fontsize=7)
    ax.set_yticks(range(n), names[:n], fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for t in range(n):
        for p in range(n + 1):
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
    ax.set_title("Reliability on each hold-out (stated confidence vs right)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- metrics


def _answers(probs: np.ndarray, y: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    pred = probs.argmax(1)
    conf = probs.max(1)
    return {"pred": pred, "conf": conf, "right": pred == y, "sure": conf >= threshold}


def _core(probs: np.ndarray, y: np.ndarray, threshold: float, n_classes: int) -> dict:
    a = _answers(probs, y, threshold)
    if not len(y):
        return {"n": 0}
    top3 = np.argsort(-probs, axis=1)[:, :3]
    return {
        "n": len(y),
        "top1": float(a["right"].mean()),
        "top1_mean_per_class": per_class_accuracy(a["pred"], y, n_classes),
        "top3": float((top3 == y[:, None]).any(axis=1).mean()),
        "sure": float(a["sure"].mean()),
        "right_and_sure": float((a["sure"] & a["right"]).mean()),
        "sure_but_wrong": float((a["sure"] & ~a["right"]).mean()),
        "ece": expected_calibration_error(a["conf"], a["right"]),
        "log_loss": log_loss(probs, y),
    }


def group_metrics(
    group: str,
    probs: np.ndarray,
    y: np.ndarray,
    labels: tuple[Breed, ...],
    photos: list[Photo],
    threshold: float,
) -> dict:
    """One hold-out group's figures at the "sure" threshold."""
    n_classes = len(labels)
    species = np.array([b.species for b in labels])
    pedigree = np.array([b.pedigree for b in labels])
    a = _answers(probs, y, threshold)
    metrics = _core(probs, y, threshold, n_classes)
    if not len(y):
        return metrics
    metrics["species_accuracy"] = float((species[a["pred"]] == species[y]).mean())
    if group == OXFORD:
        original = np.array([p.kind == "original" for p in photos])
        oxford = np.array([b.source == labels[0].source for b in labels])
        closed = np.where(oxford, probs, -1.0).argmax(1)
        metrics |= {
            "n_original": int(original.sum()),
            "top1_original": float(a["right"][original].mean()) if original.any() else None,
            "top1_squashed": float(a["right"][~original].mean()) if (~original).any() else None,
            "top1_mean_per_class_within_37": per_class_accuracy(closed, y, n_classes),
            "answered_non_pedigree": float((~pedigree[a["pred"]]).mean()),
        }
    elif group == DOGS_EXTRA:
        popular = np.isin(y, [i for i, b in enumerate(labels) if b.label in POPULAR_DOG_BREEDS])
        metrics["popular"] = _core(probs[popular], y[popular], threshold, n_classes)
        metrics["answered_non_pedigree"] = float((~pedigree[a["pred"]]).mean())
    elif group == GENERIC:
        for kind in ("cat", "dog"):
            mask = species[y] == kind
            if not mask.any():
                continue
            pred, sure = a["pred"][mask], a["sure"][mask]
            metrics[kind] = {
                "n": int(mask.sum()),
                "answered_non_pedigree": float((~pedigree[pred]).mean()),
                "confident_pedigree": float((sure & pedigree[pred]).mean()),
                "species_right": float((species[pred] == kind).mean()),
                "ece": expected_calibration_error(a["conf"][mask], a["right"][mask]),
            }
    return metrics


def small_copy_metrics(probs: np.ndarray, y: np.ndarray, labels: tuple[Breed, ...]) -> dict:
    """Pedigree photos made like the ordinary pets' copies (training.data.small_copy): right,
    and named a domestic cat or mixed breed (size taken as a sign of breed), per species."""
    species = np.array([b.species for b in labels])
    pedigree = np.array([b.pedigree for b in labels])
    pred = probs.argmax(1)
    out: dict = {"n": len(y), "top1": float((pred == y).mean())}
    for kind in ("cat", "dog"):
        mask = species[y] == kind
        if mask.any():
            out[kind] = {
                "n": int(mask.sum()),
                "top1": float((pred[mask] == y[mask]).mean()),
                "answered_non_pedigree": float((~pedigree[pred[mask]]).mean()),
            }
    return out


def dog_metrics(
    groups: list[tuple[np.ndarray, np.ndarray]], labels: tuple[Breed, ...], threshold: float
) -> dict:
    """Every dog photo of every hold-out: how often a wrong answer is stated as sure (for the
    ordinary dogs, a pedigree stated as sure counts as wrong)."""
    species = np.array([b.species for b in labels])
    wrong, right, n = 0, 0, 0
    for probs, y in groups:
        dogs = species[y] == "dog"
        a = _answers(probs[dogs], y[dogs], threshold)
        wrong += int((a["sure"] & ~a["right"]).sum())
        right += int((a["sure"] & a["right"]).sum())
        n += int(dogs.sum())
    return {"n": n, "sure_but_wrong": wrong / max(n, 1), "right_and_sure": right / max(n, 1)}


def summary_lines(metrics: dict) -> list[str]:
    ox, de, ge = metrics[OXFORD], metrics[DOGS_EXTRA], metrics[GENERIC]
    gate = metrics["pet_gate"]
    lines = [
        f"Oxford: top-1 {_pct(ox.get('top1_mean_per_class'))} mean per class, originals "
        f"{_pct(ox.get('top1_original'))}, ECE {ox.get('ece', 0):.3f}",
        f"Stanford dogs: top-1 {_pct(de.get('top1'))}; popular breeds "
        f"{_pct(de.get('popular', {}).get('top1'))}, right and sure "
        f"{_pct(de.get('popular', {}).get('right_and_sure'))}",
    ]
    for kind in ("cat", "dog"):
        if kind in ge:
            g = ge[kind]
            lines.append(
                f"ordinary {kind}s: non-pedigree answer {_pct(g['answered_non_pedigree'])}, "
                f"confident pedigree {_pct(g['confident_pedigree'])}"
            )
    lines.append(f"all dogs: sure but wrong {_pct(metrics['all_dogs']['sure_but_wrong'])}")
    small = ox.get("small_copies", {})
    if small:
        lines.append(
            "Oxford as the ordinary pets' 200 px copies: top-1 "
            f"{_pct(small.get('top1'))}; named domestic / mixed: cats "
            f"{_pct(small.get('cat', {}).get('answered_non_pedigree'))}, dogs "
            f"{_pct(small.get('dog', {}).get('answered_non_pedigree'))}"
        )
    lines.append(
        f"gate: non-pets rejected {_pct(gate['nonpet_rejected'])}, pets rejected "
        + ", ".join(f"{g} {_pct(gate.get(f'{g}_rejected'))}" for g in (OXFORD, DOGS_EXTRA, GENERIC))
    )
    return lines


# --------------------------------------------------------------------------- card


def calibration_photos(args, dataset) -> str:
    """The photos that calibrated, in the card's words: those the backbone never saw."""
    if args.fine_tuned_on is None:  # the committed Oxford-only checkpoint, or ImageNet weights
        return (
            "the Oxford validation photos the fine-tuned backbone never saw and every Stanford "
            "and ordinary-pet training photo, each scored by a head fitted without its quarter "
            "(four folds)"
        )
    counts = ", ".join(
        f"{group} {int(split.calib.sum())} of {len(split.train)}"
        for group, split in dataset.groups.items()
    )
    return (
        f"the training photos the fine-tuned backbone never saw ({counts}), each scored by a "
        "head fitted without its quarter (four folds)"
    )


def build_card(args, dataset, backbone, labels: tuple[Breed, ...], fitted, metrics: dict) -> dict:
    cal = fitted.calibration
    size = backbone.size
    command = f"python -m training.pipeline --variant {args.variant} --input-size {size}"
    command += f" --seed {args.seed}" + ("" if backbone.finetuned else " --backbone imagenet")
    command += f" --holdout-seed {args.holdout_seed}" if args.holdout_seed != args.seed else ""
    command += " --smoke" if args.smoke else ""
    counts = {
        g: {"train": len(s.train), "calibration": int(s.calib.sum()), "holdout": len(s.held)}
        for g, s in dataset.groups.items()
    }
    n_pedigree = sum(b.pedigree for b in labels)
    surest_nonpet = float(fitted.probe.nonpet_out_of_fold.max())
    return {
        "name": f"breedbot-efficientnet-{args.variant}-openworld"
        + ("-smoke" if args.smoke else ""),
        # The minor version moves whenever answers change (feedback is kept per version):
        # 3.3: the mean of the fold heads, and a gate with the pet probe's second opinion.
        # 3.4: a close-up is read off the quick look (the crop only when the look is unsure).
        # 3.5: the pedigree cats' small copies are trained on (size no longer reads "domestic").
        # 3.6: a photo up to 4:3 is read through its centre crop's pass first (serving; the
        #      model files are 3.5's).
        "version": f"{'3.6' if backbone.finetuned else '1.1'}.0+{args.variant}",
        "summary": f"Tells the breed of a cat or dog in a photo: {n_pedigree} breeds trained on "
        "labelled photos, or a domestic cat / mixed-breed dog, with a confidence calibrated on "
        'photos the model never saw; answers "no cat or dog" when neither the ImageNet head nor '
        "the pet probe sees one.",
        "backbone": args.variant,
        "input_size": size,
        "preprocessing": f"decode (EXIF-rotated, RGB), resize short side to "
        f"{short_side_for(size)} bicubic, centre crop {size}; raw 0..255 pixels (the model "
        "rescales (x - 127) / 128 itself).",
        "outputs": "pooled 1280-d backbone features, 1000 ImageNet logits and the feature map "
        "before pooling; the breed head (breed_head.npz: standardise, linear, softmax with "
        "temperature) and the pet finder (pet_finder.npz: a small network over the feature "
        "map's cells that finds each pet in a look at the whole photo, classifier.finder) run "
        "in NumPy. A photo up to 4:3 is first read through its centre crop's pass, whose "
        "feature map the pet finder reads too: a lone pet filling the crop's middle is a "
        "close-up answered by that pass. A wider photo first gets a quick look at the whole "
        "photo: a close-up it is at least "
        f"{LOOK_ALONE:.0%} sure is a domestic cat or a mixed breed (its feature map pooled over "
        "the centre crop, standardised by the head's look standardiser), with ImageNet mass past "
        "the gate's threshold, is answered from that look; any other gets its centre crop's "
        "pass.",
        "flip_tta": False,
        "confident_threshold": cal.confident_threshold,
        "pet_gate": {
            "threshold": fitted.gate_threshold,
            "probe_bar": fitted.probe.bar,
            "imagenet_classes": "151-268 (dogs), 281-285 (domestic cats)",
            "rule": "0.75% quantile of the training pets' scores (all three pet groups)",
            "probe_rule": "the surest non-pet photo scored by a probe fitted without it "
            f"({surest_nonpet:.2f}) + {PROBE_MARGIN:g}, rounded up to a half",
        },
        "labels": [
            {
                "label": b.label,
                "display_name": b.display_name,
                "species": b.species,
                "pedigree": b.pedigree,
                "source": b.source,
            }
            for b in labels
        ],
        "training": {
            "data": "folders of docs/data.md: oxford-pets (Oxford-IIIT Pet trainval), dogs-extra "
            "(Stanford Dogs, 96 breeds), pets-generic (Kaggle Dogs vs Cats: the domestic cat and "
            "mixed-breed dog outcomes), nonpet (the gate). Squashed-square photos are also seen "
            "unsquashed to 4:3 and 3:4, and every view mirrored.",
            "photos": counts,
            "small_copies": {
                "none": "measured only (metrics: small_copies)",
                "cats": "the big pedigree cat photos also trained on as the ordinary pets' 200 "
                "px copies (all measured: metrics: small_copies)",
                "all": "the big pedigree photos also trained on as the ordinary pets' 200 px "
                "copies (measured too: metrics: small_copies)",
            }[args.small_copies],
            "licence": "Oxford-IIIT Pet: CC BY-SA 4.0 (Parkhi et al., CVPR 2012); Stanford Dogs: "
            "ImageNet terms (research); Kaggle Dogs vs Cats (Asirra): research use; "
            "EfficientNet-Lite weights: Apache-2.0.",
            "split": f"per group, stratified by label and kind, {1 - HOLDOUT:.0%}/"
            f"{HOLDOUT:.0%}; test fixtures always held out",
            "backbone": backbone.description,
            "head": f"class-balanced L2 softmax regression over {len(labels)} labels, "
            f"C={fitted.c:g} by balanced log-loss on the calibration photos; the served head is "
            "the mean of the calibration fold heads (the very heads whose out-of-fold scores "
            "chose the temperature and thresholds)",
            "calibration": {
                "temperature": cal.temperature,
                "non_pedigree_log_prior": {"cat": cal.domestic_prior, "dog": cal.mixed_prior},
                "mixed_prior_max_cost": cal.mixed_cost,
                "confident_threshold": cal.confident_threshold,
                "photos": calibration_photos(args, dataset),
            },
            "seed": args.seed,
            "command": command,
        },
        "metrics": metrics | {"quantisation": backbone.quantisation},
        "limits": [
            "Every named breed was trained on labelled photos. Breeds with no photos here "
            "(dalmatian, dachshund, English bulldog, Australian shepherd, bichon frise, and cat "
            "breeds beyond the Oxford 12) get the nearest look-alike or the mixed/domestic "
            "answer, not stated as sure.",
            "A popularity prior (the folders' photo counts) favours common breeds: the 66 "
            "Stanford breeds with 35 photos each are named less readily than the 30 popular "
            "ones and the Oxford 37 (their hold-out top-1 is lower; see docs/model.md).",
            "The Stanford Dogs photos come from ImageNet, which the backbone was pretrained on: "
            "their hold-out flatters the model; real photos of those breeds score lower.",
            "The ordinary pets (Kaggle) include some purebreds labelled as ordinary, so their "
            '"confident pedigree" rate is an upper bound.',
            "Hard pairs: ragdoll/birman, staffordshire/american pit bull terrier, british "
            "shorthair/russian blue, husky/malamute/eskimo dog, the three poodle sizes.",
            "The non-pet set used to tune the gate is small (167 photos) and mostly ImageNet-like.",
            "The pet finder learnt from pets pasted into about 80 non-pet photos; a small pet, or "
            "two pets side by side, is found and named less often than a close-up (make eval).",
            "Metrics come from hold-outs of the folders above, not from official test splits.",
        ],
    }


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


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _group_table(m: dict, threshold: float) -> list[str]:
    rows = [
        ("photos", str(m.get("n", 0))),
        ("top-1 (right answer first)", _pct(m.get("top1"))),
        ("top-1, mean per class", _pct(m.get("top1_mean_per_class"))),
        ("top-3", _pct(m.get("top3"))),
        (f"stated as sure (>= {threshold:.0%})", _pct(m.get("sure"))),
        ("right and stated as sure", _pct(m.get("right_and_sure"))),
        ("wrong but stated as sure", _pct(m.get("sure_but_wrong"))),
        ("expected calibration error", f"{m.get('ece', float('nan')):.3f}"),
    ]
    return ["| measure | value |", "|---|---|", *[f"| {a} | {b} |" for a, b in rows]]


def _small_copy_rows(small: dict) -> list[str]:
    """The Oxford hold-out made like the ordinary pets' 200 px copies: does size read as breed?"""
    if not small:
        return []
    cats, dogs = small.get("cat", {}), small.get("dog", {})
    return [
        f"| made like the ordinary pets' 200 px copies: top-1 ({small.get('n')}) | "
        f"{_pct(small.get('top1'))} |",
        "| made like those copies: cats answered domestic / dogs mixed | "
        f"{_pct(cats.get('answered_non_pedigree'))} / {_pct(dogs.get('answered_non_pedigree'))} |",
    ]


def markdown(card: dict[str, Any]) -> str:
    m = card["metrics"]
    t = card["confident_threshold"]
    ox, de, ge, gate = m[OXFORD], m[DOGS_EXTRA], m[GENERIC], m["pet_gate"]
    cal = card["training"]["calibration"]
    priors = cal["non_pedigree_log_prior"]
    counts = card["training"]["photos"]
    n_pedigree = sum(1 for b in card["labels"] if b["pedigree"])
    lines = [
        f"# Model card: {card['name']} {card['version']}",
        "",
        card["summary"],
        "",
        "## Inputs and outputs",
        f"- Backbone: {card['training']['backbone']}; exported full-int8 for LiteRT.",
        f"- Input: RGB uint8, {card['input_size']}x{card['input_size']}; {card['preprocessing']}",
        f"- Outputs: {card['outputs']}",
        f"- Labels ({len(card['labels'])}, `unique_labels.csv`): {n_pedigree} pedigree breeds "
        "(37 Oxford-IIIT Pet, the rest Stanford Dogs) and 2 non-pedigree outcomes "
        "(`domestic_cat`, `mixed_breed_dog`).",
        "",
        "## Training data",
        f"- {card['training']['data']}",
        f"- Small copies: {card['training']['small_copies']}.",
        "- Photos per group (training / of which calibration / hold-out): "
        + "; ".join(
            f"{g} {c['train']} / {c['calibration']} / {c['holdout']}" for g, c in counts.items()
        ),
        f"- Licence: {card['training']['licence']}",
        f"- Split: {card['training']['split']}",
        f"- Head: {card['training']['head']}",
        f"- Calibration ({cal['photos']}): temperature {cal['temperature']:.3f}; log-priors "
        f"{priors['cat']:.2f} on domestic cat and {priors['dog']:.2f} on mixed breed (most cats "
        "people photograph are domestic, most shelter dogs mixed; the mixed-breed prior may cost "
        f"the pedigree dogs at most {cal['mixed_prior_max_cost']:.0%} of top-1); stated as sure "
        f"at >= {cal['confident_threshold']:.3f}.",
        f"- Reproduce: `{card['training']['command']}` (seed {card['training']['seed']}).",
        "",
        "## Metrics, per hold-out group (never trained on)",
        "",
        "Each photo answered as serving answers a close-up: a photo up to 4:3 by its centre "
        "crop's pass; a wider one by the quick look where that is at least "
        f"{LOOK_ALONE:.0%} sure of a domestic cat or a mixed breed, by the centre crop elsewhere "
        "(the crop's answer for "
        + ", ".join(
            f"{_pct(x.get('crop_pass'))} of {g}"
            for g, x in ((OXFORD, ox), (DOGS_EXTRA, de), (GENERIC, ge))
        )
        + "; top-1 from the centre crop alone: "
        + ", ".join(f"{_pct(x.get('top1_crop_only'))}" for x in (ox, de, ge))
        + ").",
        "",
        "### Oxford-IIIT Pet (37 breeds)",
        *_group_table(ox, t),
        f"| top-1 on original-aspect photos ({ox.get('n_original')}) | "
        f"{_pct(ox.get('top1_original'))} |",
        f"| top-1 on squashed-square photos | {_pct(ox.get('top1_squashed'))} |",
        f"| top-1 if only the 37 could be answered (closed world, as model 2.0) | "
        f"{_pct(ox.get('top1_mean_per_class_within_37'))} |",
        f"| answered domestic/mixed | {_pct(ox.get('answered_non_pedigree'))} |",
        *_small_copy_rows(ox.get("small_copies", {})),
        "",
        "### Stanford Dogs (96 more breeds; ImageNet photos, flattering)",
        *_group_table(de, t),
        f"| the 30 popular breeds: top-1 ({de.get('popular', {}).get('n')}) | "
        f"{_pct(de.get('popular', {}).get('top1'))} |",
        f"| the 30 popular breeds: right and stated as sure | "
        f"{_pct(de.get('popular', {}).get('right_and_sure'))} |",
        "",
        "### Ordinary pets (Kaggle Dogs vs Cats: domestic cats, mostly mixed dogs)",
        "| measure | cats | dogs |",
        "|---|---|---|",
    ]
    c, d = ge.get("cat", {}), ge.get("dog", {})
    lines += [
        f"| photos | {c.get('n')} | {d.get('n')} |",
        f"| answered domestic cat / mixed breed | {_pct(c.get('answered_non_pedigree'))} | "
        f"{_pct(d.get('answered_non_pedigree'))} |",
        f"| a pedigree stated as sure | {_pct(c.get('confident_pedigree'))} | "
        f"{_pct(d.get('confident_pedigree'))} |",
        f"| cat vs dog right | {_pct(c.get('species_right'))} | {_pct(d.get('species_right'))} |",
        "",
        f"All dog photos of the three hold-outs ({m['all_dogs']['n']}): a wrong answer stated as "
        f"sure for {_pct(m['all_dogs']['sure_but_wrong'])}, right and sure for "
        f"{_pct(m['all_dogs']['right_and_sure'])}.",
        "",
        '## "No cat or dog" gate',
        "ImageNet probability mass on dog (151-268) and domestic-cat (281-285) classes; below "
        f'{gate["threshold"]:.3f} the answer is "no cat or dog" ({card["pet_gate"]["rule"]}), '
        f"unless the pet probe (cat or dog against non-pet photos, on the backbone's features) "
        f"reaches {gate['probe_bar']:.1f} ({card['pet_gate']['probe_rule']}).",
        "",
        "| measure | ImageNet mass alone | with the probe (shipped) |",
        "|---|---|---|",
        f'| non-pet photos answered "no cat or dog" ({gate["n_nonpet"]}, also used to tune; '
        f"the probe's logits out of fold) | {_pct(gate.get('nonpet_rejected_by_mass'))} | "
        f"{_pct(gate['nonpet_rejected'])} |",
        *[
            f"| {g} hold-out photos wrongly rejected | "
            f"{_pct(gate.get(f'{g}_rejected_by_mass'))} | {_pct(gate.get(f'{g}_rejected'))} |"
            for g in (OXFORD, DOGS_EXTRA, GENERIC)
        ],
        "",
        "## Pet finder",
        "A small network over the backbone's feature map finds each pet in a look at the whole "
        "photo (classifier.finder, docs/model.md); "
        f"{m.get('pet_finder', {}).get('rule', 'not trained')}.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| scenes | {m.get('pet_finder', {}).get('scenes')} |",
        f"| held-out scenes: cells right (inside a pet or not) | "
        f"{_pct(m.get('pet_finder', {}).get('cell_accuracy'))} |",
        f"| held-out scenes: mean log-error of the distances to a pet's edges | "
        f"{m.get('pet_finder', {}).get('box_log_mae', float('nan')):.3f} |",
        "",
        "How often pets are found and named in phone-like photos is measured end to end by "
        "`make eval` (docs/model.md, README).",
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
        "Plots: `confusion_matrix.png` (Oxford hold-out), `reliability.png` (every hold-out).",
        "",
        "## Limits",
        *[f"- {limit}" for limit in card["limits"]],
        "",
    ]
    return "\n".join(lines)
