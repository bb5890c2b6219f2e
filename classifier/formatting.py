"""How the classifier's numbers and lists are written for people.

The bot, the web form, the JSON API's documentation and the command line all show confidences;
they import these functions so that one photo reads the same everywhere (the bot once said
">99%" where the command line said "100%" for the same answer).
"""

from __future__ import annotations

from collections.abc import Iterable


def percent(probability: float) -> str:
    """A probability as a whole percentage: 0.923 -> '92%'.

    A calibrated probability is never certain, so the ends read '<1%' and '>99%' instead of
    '0%' and '100%'; values outside 0..1 are clamped.
    """
    value = max(0.0, min(1.0, float(probability))) * 100
    if value < 1:
        return "<1%"
    if value > 99:
        return ">99%"
    return f"{value:.0f}%"


def or_list(items: Iterable[str]) -> str:
    """'A', 'A or B', 'A, B or C': a list a sentence can end with."""
    words = list(items)
    if len(words) < 2:
        return "".join(words)
    return ", ".join(words[:-1]) + " or " + words[-1]
