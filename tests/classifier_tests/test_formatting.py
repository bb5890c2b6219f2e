"""One way to write a confidence: the bot, the web form, the API docs and the CLI share it."""

from __future__ import annotations

import pytest

from classifier.formatting import or_list, percent


@pytest.mark.parametrize(
    ("probability", "text"),
    [
        (-0.2, "<1%"),
        (0.0, "<1%"),
        (0.0049, "<1%"),
        (0.01, "1%"),
        (0.5, "50%"),
        (0.923, "92%"),
        (0.99, "99%"),
        (0.9951, ">99%"),
        (1.0, ">99%"),
        (1.7, ">99%"),
    ],
)
def test_percent_never_claims_certainty(probability: float, text: str) -> None:
    assert percent(probability) == text


def test_every_surface_uses_the_same_function() -> None:
    from bot import replies
    from classifier.__main__ import describe
    from webhook.templating import templates

    assert replies.percent is percent
    assert templates.env.filters["percent"] is percent
    assert describe.__globals__["percent"] is percent


@pytest.mark.parametrize(
    ("items", "text"),
    [
        ([], ""),
        (["JPEG"], "JPEG"),
        (["JPEG", "PNG"], "JPEG or PNG"),
        (["A", "B", "C"], "A, B or C"),
    ],
)
def test_or_list(items: list[str], text: str) -> None:
    assert or_list(items) == text
