"""Bot API faults on the three calls behind every answer: getFile, the file download and
sendMessage. Shared by tests/test_bot_faults.py (fast retry settings, normal suite) and
``python -m benchmarks.fault_paths`` (the production defaults, for docs/operations.md).

Each scenario injects its fault into the Bot API double, a private photo is sent to the polling
bot, and the outcome is checked: the breed answer once the fault clears, an apology once the
retries are spent, or, when sendMessage itself keeps failing, no message at all (an apology
could not get through either) -- never two messages.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from tests.support import updates as u
from tests.support.bot_api_double import DOWNLOAD, BotApiDouble

Outcome = Literal["answer", "apology", "nothing"]
APOLOGY = "something went wrong on my side"
PREDICTION_MARKERS = ("% sure", "not sure", "don't see a cat or a dog")


@dataclass(frozen=True)
class Timing:
    """What a scenario needs to know about the bot's retry settings."""

    attempts: int  # retries after the first try
    backoff: float
    backoff_max: float
    read_timeout: float
    max_retry_after: float

    @classmethod
    def of(cls, settings) -> Timing:  # settings: bot.config.BotSettings
        return cls(
            settings.retry_attempts,
            settings.retry_backoff_seconds,
            settings.retry_backoff_max_seconds,
            settings.read_timeout,
            settings.max_retry_after_seconds,
        )

    def backoffs(self, count: int) -> float:
        return sum(min(self.backoff * 2**i, self.backoff_max) for i in range(count))

    @property
    def short_outage(self) -> float:
        """Refuse connections long enough to fail the first try and the first retry."""
        return self.backoff + 0.5 * min(self.backoff * 2, self.backoff_max)

    @property
    def slow(self) -> float:
        """An answer later than the read timeout."""
        return self.read_timeout + 0.3


@dataclass(frozen=True)
class Scenario:
    id: str
    description: str
    inject: Callable[[BotApiDouble, Timing], None]
    outcome: Outcome
    method: str  # the call the fault hits: its attempts are checked
    attempts: Callable[[Timing], int | tuple[int, int]]  # exact, or (min, max)


def _last_try_fails(timing: Timing) -> int:
    return timing.attempts + 1


SCENARIOS: tuple[Scenario, ...] = (
    # 429 Too Many Requests: wait retry_after, then the call goes through.
    Scenario(
        "getFile-429",
        "getFile: 429, retry_after 1 s",
        lambda api, t: api.fail_next("getFile", 429, retry_after=1),
        "answer",
        "getFile",
        lambda t: 2,
    ),
    Scenario(
        "sendMessage-429",
        "sendMessage: 429, retry_after 1 s",
        lambda api, t: api.fail_next("sendMessage", 429, retry_after=1),
        "answer",
        "sendMessage",
        lambda t: 2,
    ),
    Scenario(
        "getFile-429-too-long",
        "getFile: 429, retry_after 60 s (over BOT_MAX_RETRY_AFTER_SECONDS)",
        lambda api, t: api.fail_next("getFile", 429, retry_after=60),
        "apology",
        "getFile",
        lambda t: 1,
    ),
    # 5xx: Telegram did not perform the call; exponential backoff.
    Scenario(
        "getFile-5xx",
        "getFile: 500 twice",
        lambda api, t: api.fail_next("getFile", 500, times=2),
        "answer",
        "getFile",
        lambda t: 3,
    ),
    Scenario(
        "download-5xx",
        "download: 502 twice",
        lambda api, t: api.fail_next(DOWNLOAD, 502, times=2),
        "answer",
        DOWNLOAD,
        lambda t: 3,
    ),
    Scenario(
        "sendMessage-5xx",
        "sendMessage: 500 twice",
        lambda api, t: api.fail_next("sendMessage", 500, times=2),
        "answer",
        "sendMessage",
        lambda t: 3,
    ),
    Scenario(
        "getFile-5xx-persistent",
        "getFile: 503 until the retries run out",
        lambda api, t: api.fail_next("getFile", 503, times=50),
        "apology",
        "getFile",
        _last_try_fails,
    ),
    Scenario(
        "download-5xx-persistent",
        "download: 503 until the retries run out",
        lambda api, t: api.fail_next(DOWNLOAD, 503, times=50),
        "apology",
        DOWNLOAD,
        _last_try_fails,
    ),
    Scenario(
        "sendMessage-5xx-persistent",
        "sendMessage: 503 until the retries run out",
        lambda api, t: api.fail_next("sendMessage", 503, times=50),
        "nothing",
        "sendMessage",
        _last_try_fails,
    ),
    # Timeouts: the answer comes after the read timeout.
    Scenario(
        "getFile-timeout",
        "getFile: answered after the read timeout, once",
        lambda api, t: api.delay_next("getFile", t.slow),
        "answer",
        "getFile",
        lambda t: 2,
    ),
    Scenario(
        "download-timeout",
        "download: answered after the read timeout, once",
        lambda api, t: api.delay_next(DOWNLOAD, t.slow),
        "answer",
        DOWNLOAD,
        lambda t: 2,
    ),
    Scenario(
        "sendMessage-timeout",
        "sendMessage: performed, answered after the read timeout (not retried)",
        lambda api, t: api.delay_next("sendMessage", t.slow),
        "answer",
        "sendMessage",
        lambda t: 1,
    ),
    # Refused connections: the port is closed, then reopened.
    Scenario(
        "getFile-refused",
        "getFile: connection refused for a while",
        lambda api, t: api.refuse_connections_after("sendChatAction", t.short_outage),
        "answer",
        "getFile",
        lambda t: 1,  # refused attempts never reach the double; one performed call
    ),
    Scenario(
        "download-refused",
        "download: connection refused for a while",
        lambda api, t: api.refuse_connections_after("getFile", t.short_outage),
        "answer",
        DOWNLOAD,
        lambda t: 1,
    ),
    Scenario(
        "sendMessage-refused",
        "sendMessage: connection refused for a while",
        lambda api, t: api.refuse_connections_after(DOWNLOAD, t.short_outage),
        "answer",
        "sendMessage",
        lambda t: 1,
    ),
    # The connection is closed after the request was sent: idempotent calls are retried,
    # sendMessage is not (it may have been delivered; a duplicate is worse than silence).
    Scenario(
        "download-dropped",
        "download: connection closed without an answer, once",
        lambda api, t: api.drop_next(DOWNLOAD),
        "answer",
        DOWNLOAD,
        lambda t: 2,
    ),
    Scenario(
        "sendMessage-dropped",
        "sendMessage: connection closed without an answer (not retried)",
        lambda api, t: api.drop_next("sendMessage"),
        "nothing",
        "sendMessage",
        lambda t: 1,
    ),
)


@dataclass
class Result:
    scenario: Scenario
    seconds: float  # photo sent -> the bot's last call about it reached the Bot API
    texts: list[str]
    attempts: int
    outages: list[tuple[float, float]]  # refused-connection windows during the scenario


def add_photo(api: BotApiDouble, data: bytes, prefix: str) -> list[dict]:
    sizes, files = u.photo_sizes(data, prefix)
    for file_id, content in files.items():
        api.add_file(file_id, content)
    return sizes


async def run_scenario(
    api: BotApiDouble, scenario: Scenario, timing: Timing, photo: bytes, *, within: float
) -> Result:
    """Inject the fault, send one photo to the (running) polling bot, wait until the bot is
    done with it. ``within``: the longest the scenario may take. A refusal window still open
    when the answer arrives is waited out."""
    sizes = add_photo(api, photo, scenario.id)
    scenario.inject(api, timing)
    message = u.photo_message(sizes)
    start = time.monotonic()
    api.push_update(u.update(message))

    def settled() -> bool:
        if scenario.outcome == "nothing":
            calls = api.calls(scenario.method)
            expected = scenario.attempts(timing)
            needed = expected if isinstance(expected, int) else expected[0]
            return len(calls) >= needed and time.monotonic() - calls[-1].at > 0.3
        return bool(api.sent_messages)

    await api.until(settled, within=within)
    if scenario.id.endswith("-refused"):
        await api.until(lambda: bool(api.outages), within=within)  # the port is open again
    about = [r for r in api.requests if r.method in {"getFile", DOWNLOAD, "sendMessage"}]
    end = max(r.at for r in about) if about else time.monotonic()
    return Result(
        scenario,
        end - start,
        api.sent_texts,
        len(api.calls(scenario.method)),
        list(api.outages),
    )


def check(result: Result, timing: Timing) -> None:
    """Raise AssertionError unless the outcome is the promised one."""
    scenario, texts = result.scenario, result.texts
    assert len(texts) <= 1, f"{scenario.id}: {len(texts)} messages for one photo: {texts}"
    if scenario.outcome == "answer":
        assert texts and any(m in texts[0] for m in PREDICTION_MARKERS), texts
    elif scenario.outcome == "apology":
        assert texts and APOLOGY in texts[0], texts
    else:
        assert texts == [], texts
    if scenario.id.endswith("-refused"):
        [(begin, end)] = result.outages  # connections really were refused for a while
        assert end - begin >= timing.short_outage * 0.9
    expected = scenario.attempts(timing)
    low, high = (expected, expected) if isinstance(expected, int) else expected
    assert low <= result.attempts <= high, (
        f"{scenario.id}: {result.attempts} {scenario.method} calls, expected {expected}"
    )


def table(results: list[Result]) -> str:
    lines = [
        "| fault | user sees | calls of the faulty method reaching the Bot API "
        "| photo sent -> last call |",
        "|---|---|---|---|",
    ]
    shown = {"answer": "the breed answer", "apology": "the apology", "nothing": "no message"}
    for result in results:
        lines.append(
            f"| {result.scenario.description} | {shown[result.scenario.outcome]} | "
            f"{result.attempts} | {result.seconds:.2f} s |"
        )
    return "\n".join(lines)
