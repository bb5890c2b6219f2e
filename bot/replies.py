"""Everything the bot says, as pure functions (no Telegram calls): easy to test and to reword.

Replies are plain text (no parse mode), so breed names and user input never need escaping.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from classifier import Breed, Prediction
from classifier.formatting import percent  # shared with the form, the API docs and the CLI
from classifier.result import Pet

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for one text message
SPECIES_EMOJI = {"cat": "🐱", "dog": "🐶"}
SPECIES_NAME = {"cat": "cat", "dog": "dog"}


def prediction_text(prediction: Prediction, *, compact: bool = False) -> str:
    """The answer for one photo. ``compact``: one short paragraph (album photos)."""
    if not prediction.is_pet or not prediction.top:
        return (
            "I don't see a cat or a dog in this photo. "
            "Send me a photo where the pet is clearly visible."
        )
    if len(prediction.pets) > 1:
        return pets_text(prediction.pets)
    best = prediction.top[0]
    emoji = SPECIES_EMOJI.get(best.species, "🐾")
    if not best.pedigree:
        return _non_pedigree_text(prediction, emoji, compact=compact)
    if prediction.confident:
        species = SPECIES_NAME[best.species]
        text = f"{emoji} {best.display_name} ({species}), {percent(best.confidence)} sure."
        if compact or len(prediction.top) < 2:
            return text
        runner_up = prediction.top[1]
        return f"{text}\nNext best: {runner_up.display_name} ({percent(runner_up.confidence)})."
    lines = ["🐾 I'm not sure about this one. My best guesses:"]
    for rank, guess in enumerate(prediction.top[:3], start=1):
        lines.append(
            f"{rank}. {guess.display_name} ({SPECIES_NAME[guess.species]}), "
            f"{percent(guess.confidence)}"
        )
    return "\n".join(lines)


# (sure, unsure) wording of the non-pedigree answers, and how their look-alikes are introduced.
NON_PEDIGREE_WORDING = {
    "cat": (
        ("A domestic cat, no particular breed.", "Probably a domestic cat, no particular breed."),
        "Closest look-alikes",
    ),
    "dog": (("A mixed-breed dog.", "Probably a mixed breed."), "Looks most like"),
}


def _non_pedigree_text(prediction: Prediction, emoji: str, *, compact: bool) -> str:
    """A domestic cat or a mixed-breed dog: an answer in its own right, with the pedigree
    breeds it resembles (not claims that it is one)."""
    (sure, unsure), lead = NON_PEDIGREE_WORDING[prediction.top[0].species]
    text = f"{emoji} {sure if prediction.confident else unsure}"
    alikes = prediction.look_alikes[: 1 if compact else 3]
    if alikes:
        names = ", ".join(f"{g.display_name} {percent(g.confidence)}" for g in alikes)
        text += f" {lead}: {names}."
    return text


# Where each pet is, left to right, for 2, 3 or 4 pets.
POSITIONS = {
    2: ("left", "right"),
    3: ("left", "middle", "right"),
    4: ("left", "centre left", "centre right", "right"),
}


def pets_text(pets: Sequence[Pet]) -> str:
    """Several pets in one photo: one numbered line each, left to right."""
    ordered = sorted(pets, key=lambda pet: pet.box[0] + pet.box[2])
    places = POSITIONS.get(len(ordered), tuple("" for _ in ordered))
    lines = [f"I see {len(ordered)} pets:"]
    for rank, (pet, place) in enumerate(zip(ordered, places, strict=True), start=1):
        lines.append(f"{rank}. {_pet_line(pet, place)}")
    return "\n".join(lines)


def _pet_line(pet: Pet, place: str) -> str:
    emoji = SPECIES_EMOJI.get(pet.species, "🐾")
    where = f" ({place})" if place else ""
    if not pet.pedigree:
        (sure, unsure), lead = NON_PEDIGREE_WORDING[pet.species]
        text = (sure if pet.confident else unsure).rstrip(".")
        text = f"{emoji} {text}{where}"
        alikes = pet.look_alikes[:2]
        if alikes:
            names = ", ".join(f"{g.display_name} {percent(g.confidence)}" for g in alikes)
            text += f"; {lead.lower()}: {names}"
        return text + "."
    if pet.confident:
        return f"{emoji} {pet.display_name}{where}, {percent(pet.confidence)} sure."
    text = f"{emoji} not sure{where}: {pet.display_name} {percent(pet.confidence)}"
    if len(pet.top) > 1:
        text += f" or {pet.top[1].display_name} {percent(pet.top[1].confidence)}"
    return text + "."


def breeds_text(breeds: Iterable[Breed]) -> str:
    """Every label, by species: the pedigree breeds, then what the domestic/mixed answers
    mean; always within Telegram's 4096 characters."""
    groups: dict[str, list[str]] = {"cat": [], "dog": []}
    for breed in breeds:
        if breed.pedigree:
            groups.setdefault(breed.species, []).append(breed.display_name)
    total = sum(len(names) for names in groups.values())
    parts = [f"I know {total} breeds."]
    for species, title in (("cat", "🐱 Cats"), ("dog", "🐶 Dogs")):
        names = sorted(groups.get(species, []), key=str.casefold)
        if names:
            parts.append(f"{title} ({len(names)}):\n" + ", ".join(names))
    parts.append(
        "Not every pet has a breed: most cats are domestic cats and many dogs are mixes. "
        'For those I answer "a domestic cat" or "a mixed-breed dog" and name the breeds '
        "it looks most like. A breed I don't know (for example a dalmatian or a dachshund) "
        "gets its nearest look-alikes, never a sure answer."
    )
    return _fit("\n\n".join(parts))


def _fit(text: str, limit: int = MAX_MESSAGE_LENGTH) -> str:
    if len(text) <= limit:
        return text
    suffix = " …"
    return text[: limit - len(suffix)].rstrip(" ,\n") + suffix


def _metric_lines(metrics: Mapping[str, Any]) -> list[str]:
    """The measured figures of the model card ("metrics"), one line per hold-out group."""
    oxford = metrics.get("oxford-pets") or {}
    dogs = metrics.get("dogs-extra") or {}
    popular = dogs.get("popular") or {}
    ordinary = metrics.get("pets-generic") or {}
    cats, mixed = ordinary.get("cat") or {}, ordinary.get("dog") or {}
    gate = metrics.get("pet_gate") or {}
    rows = (
        (oxford.get("top1_mean_per_class"), "the 37 Oxford-IIIT Pet breeds: right breed"),
        (oxford.get("top1_original"), "the same, uncropped original-shape photos"),
        (popular.get("top1"), "popular dog breeds (Labrador, German shepherd...): right breed"),
        (popular.get("right_and_sure"), "popular dog breeds: right and stated as sure"),
        (cats.get("answered_non_pedigree"), 'ordinary cats answered "domestic cat"'),
        (cats.get("confident_pedigree"), "ordinary cats given a sure pedigree (lower is better)"),
        (mixed.get("confident_pedigree"), "ordinary dogs given a sure pedigree (lower is better)"),
        (gate.get("nonpet_rejected"), "photos without a pet recognised as such"),
    )
    lines = [
        f"• {label}: {value * 100:.1f}%"
        for value, label in rows
        if isinstance(value, int | float) and 0 <= value <= 1
    ]
    n = sum(
        group.get("n", 0)
        for group in (oxford, dogs, ordinary)
        if isinstance(group.get("n", 0), int)
    )
    if lines and n > 0:
        lines.append(f"• measured on {n} held-out photos the model never saw in training")
    return lines


def about_text(
    *,
    name: str | None,
    version: str | None,
    backbone: str | None,
    metrics: Mapping[str, Any] | None,
    breed_count: int | None,
    privacy: str | None = None,
) -> str:
    """``privacy``: what is kept (``bot.feedback_replies.kept_data_text``); None: nothing."""
    parts = ["Breed Bot tells the breed of a cat or a dog from a photo."]
    if name:
        model = f"Model: {name}" + (f" {version}" if version else "")
        if backbone:
            model += f" ({backbone})"
        if breed_count:
            model += f", {breed_count} breeds"
        lines = [model + "."]
        lines.extend(_metric_lines(metrics or {}))
        parts.append("\n".join(lines))
    else:
        parts.append("The model is not loaded right now.")
    parts.append(
        privacy
        or "Privacy: your photos are only used to answer you. They are not stored, "
        "and nothing is kept after the answer."
    )
    return _fit("\n\n".join(parts))


def start_text(first_name: str | None = None) -> str:
    greeting = f"Hi {first_name}! " if first_name else "Hi! "
    return (
        f"{greeting}Send me a photo of a cat or a dog and I'll tell you its breed.\n\n"
        + help_text(private=True)
    )


def help_text(*, private: bool, bot_username: str | None = None) -> str:
    mention = f"@{bot_username}" if bot_username else "me"
    if private:
        return (
            "How to use me:\n"
            "• send a photo (or an image file) of a cat or a dog: I reply with the breed;\n"
            "• /breeds lists the breeds I know;\n"
            "• /about tells about the model and privacy;\n"
            "• 👍/👎 under an answer tell me if I was right; /forget deletes what I kept;\n"
            "• in a group, reply to a photo with /breed, or caption a photo /breed."
        )
    return (
        "In this group I only look at photos you ask about:\n"
        "• reply to a photo with /breed;\n"
        "• or send a photo with the caption /breed;\n"
        f"• or mention {mention} in a photo's caption.\n"
        "/breeds lists the breeds I know; /about tells about the model."
    )


def brief_help() -> str:
    return (
        "Send me a photo of a cat or a dog and I'll tell you its breed. "
        "/help shows what else I can do."
    )


def breed_usage(*, private: bool) -> str:
    if private:
        return "Send me a photo of a cat or a dog, or reply to a photo with /breed."
    return (
        "To use /breed, reply with it to a photo (or an image file), "
        "or send a photo with the caption /breed."
    )


def not_an_image(description: str) -> str:
    return (
        f"That's {description}, and I can only look at still images. "
        "Please send a photo of a cat or a dog."
    )


def too_large(size_bytes: int, limit_bytes: int) -> str:
    return (
        f"That file is too large for me ({size_bytes / 1e6:.1f} MB; bots can download "
        f"at most {limit_bytes // (1024 * 1024)} MB). Please send it as a photo, "
        "or a smaller image."
    )


def invalid_image(reason: str) -> str:
    return f"Sorry, I couldn't read that image. {reason}"


def apology() -> str:
    return "Sorry, something went wrong on my side. Please try again in a minute."


def model_unavailable() -> str:
    return (
        "Sorry, I can't recognise breeds right now (the model is not available). Please try later."
    )
