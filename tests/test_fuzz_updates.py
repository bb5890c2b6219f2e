"""Property tests of update handling: random and mutated update JSON through the Lambda
handler's webhook route (``Update.de_json`` + ``process_update`` with the real handlers) and
through the polling bot's getUpdates guard. Never 5xx, never an unhandled error in a handler,
never more than one reply per update."""

from __future__ import annotations

import copy
import itertools
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.safe_updates import sanitize_updates
from tests.fuzzing import fuzz_settings
from tests.support import updates as u
from tests.support.lambda_events import telegram_webhook_event
from tests.support.warm_lambda import WarmLambda, warm_lambda

SECRET = "fuzz_secret-" + "z" * 24
_ids = itertools.count(900_000_000)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)

_PHOTO = [{"file_id": "p-1", "file_unique_id": "u-p", "width": 800, "height": 600}]
_BOT = {"id": 1234567, "is_bot": True, "first_name": "Bot", "username": "breed_test_bot"}


def templates() -> list[dict[str, Any]]:
    """Valid updates of every shape the bot handles (they are copied, then mutated)."""
    photo = u.photo_message(_PHOTO, caption="/breed", message_id=11)
    return [
        u.update(u.text_message("/start", message_id=1)),
        u.update(u.text_message("hello @breed_test_bot", chat=u.GROUP_CHAT, message_id=2)),
        u.update(u.photo_message(_PHOTO, message_id=3)),
        u.update(u.photo_message(_PHOTO, caption="/breed", chat=u.GROUP_CHAT, message_id=4)),
        u.update(u.document_message("d-1", file_size=10, message_id=5)),
        u.update(u.sticker_message(message_id=6)),
        u.update(u.text_message("/breed", chat=u.GROUP_CHAT, reply_to_message=photo, message_id=7)),
        u.update(
            u.photo_message(
                _PHOTO,
                chat=u.GROUP_CHAT,
                reply_to_message=u.message(user=_BOT, chat=u.GROUP_CHAT, text="hi"),
                message_id=8,
            )
        ),
        {"edited_message": {**u.text_message("/help", message_id=9), "edit_date": 1}},
    ]


def paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


def mutate(update: dict[str, Any], path: tuple, action: str, value: Any) -> dict[str, Any]:
    if not path:
        return update
    parent = update
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if action == "delete":
        del parent[key]
    elif action == "replace":
        parent[key] = value
    elif action == "wrap":
        parent[key] = [parent[key]]
    elif action == "stringify":
        parent[key] = json.dumps(parent[key])
    return update


OPTIONAL = {
    "from", "entities", "caption_entities", "caption", "reply_to_message", "username",
    "first_name", "title", "file_size", "mime_type", "file_name", "media_group_id", "text",
    "edit_date", "user",
}  # fmt: skip


def typed_value(old: Any) -> st.SearchStrategy[Any]:
    """A new value of the type Telegram promises for this field."""
    if isinstance(old, bool):
        return st.booleans()
    if isinstance(old, int):
        return st.integers(-(2**40), 2**40)
    if isinstance(old, str):
        return st.text(max_size=300)
    return st.just(old)


@st.composite
def mutated_updates(draw, typed: bool) -> dict[str, Any]:
    """``typed``: Telegram's types kept (values, optional fields): the bot must handle these
    without any error. Otherwise anything goes: only a 4xx or a quiet 200 is asked for."""
    update = copy.deepcopy(draw(st.sampled_from(templates())))
    for _ in range(draw(st.integers(1, 4))):
        candidates = [p for p in paths(update) if p]
        if typed:
            candidates = [
                p
                for p in candidates
                if not isinstance(leaf(update, p), dict | list) or p[-1] in OPTIONAL
            ]
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        if typed:
            old = leaf(update, path)
            if path[-1] in OPTIONAL and draw(st.booleans()):
                update = mutate(update, path, "delete", None)
            elif not isinstance(old, dict | list):
                update = mutate(update, path, "replace", draw(typed_value(old)))
        else:
            action = draw(st.sampled_from(["delete", "replace", "replace", "wrap", "stringify"]))
            update = mutate(update, path, action, draw(json_values))
    return update


def leaf(update: dict[str, Any], path: tuple) -> Any:
    value: Any = update
    for key in path:
        value = value[key]
    return value


@pytest.fixture(scope="module")
def container() -> Iterator[WarmLambda]:
    with warm_lambda(SECRET) as warm:
        yield warm


class _Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def deliver(container: WarmLambda, update: dict[str, Any], *, quiet: bool = True) -> None:
    errors = _Errors()
    root = logging.getLogger()
    root.addHandler(errors)
    before = len(container.api.sent_messages)
    try:
        payload = {**update, "update_id": next(_ids)}
        result = container(telegram_webhook_event(payload, secret=SECRET))
    finally:
        root.removeHandler(errors)
    assert result.status in {200, 400, 422}, (result.status, result.text)
    assert "method" not in result.text
    problems = [r.getMessage() for r in errors.records]
    if quiet:
        assert not problems, problems  # a handler crashed (the error handler logged it)
    assert len(container.api.sent_messages) - before <= 1


@fuzz_settings(80)
@given(mutated_updates(typed=True))
def test_well_typed_mutations_are_handled_without_errors(container: WarmLambda, update) -> None:
    deliver(container, update)


@fuzz_settings(40)
@given(mutated_updates(typed=False))
def test_ill_typed_updates_never_break_the_route(container: WarmLambda, update) -> None:
    """Outside Telegram's contract: a handler may fail (logged, maybe an apology), but the
    route answers 200/4xx and never replies twice."""
    deliver(container, update, quiet=False)


@fuzz_settings(40)
@given(st.dictionaries(st.sampled_from([*Update.ALL_TYPES, "message", "x"]), json_values))
def test_random_updates_through_the_webhook(container: WarmLambda, update) -> None:
    deliver(container, update, quiet=False)


@fuzz_settings(60)
@given(st.lists(st.one_of(mutated_updates(typed=False), json_values), max_size=5))
def test_the_getupdates_guard_never_passes_an_unparseable_update(items) -> None:
    batch = [
        {**item, "update_id": index} if isinstance(item, dict) and index % 3 else item
        for index, item in enumerate(items)
    ]
    clean = sanitize_updates(batch)
    for item in clean:
        Update.de_json(item, None)  # ptb can parse every update that gets through
    ids = [item["update_id"] for item in clean]
    assert ids == sorted(set(ids))
