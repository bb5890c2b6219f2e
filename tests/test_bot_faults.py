"""Bot API faults on getFile, the download and sendMessage (tests/support/fault_scenarios.py):
bounded retries, the answer once the fault clears, never two messages for one photo, an apology
when the retries run out. Fast retry settings here; ``python -m benchmarks.fault_paths`` runs
the same scenarios with the production defaults (figures in docs/operations.md)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import start_polling_bot
from tests.support.fault_scenarios import SCENARIOS, Result, Timing, check, run_scenario, table

_results: list[Result] = []
INTERNALS = re.compile(r"Traceback|Error\b|Exception|\.py\b|/home/|/work/|site-packages|httpx")


@pytest.fixture(scope="module", autouse=True)
def _print_timings(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if _results and reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("\nBot API fault paths (test settings):\n" + table(_results))


@pytest.fixture
def fault_settings(bot_settings):
    """Retries as in production, shorter: backoff 0.1, 0.2, 0.4 s; read timeout 0.6 s."""
    return bot_settings.model_copy(
        update={
            "retry_attempts": 3,
            "retry_backoff_seconds": 0.1,
            "retry_backoff_max_seconds": 0.4,
            "read_timeout": 0.6,
            "max_retry_after_seconds": 5,
        }
    )


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
async def test_fault_path(bot_api, fault_settings, photo, scenario) -> None:
    timing = Timing.of(fault_settings)
    bot = await start_polling_bot(fault_settings)
    try:
        result = await run_scenario(bot_api, scenario, timing, photo("dog_pug"), within=15)
    finally:
        await bot.stop()
    _results.append(result)
    check(result, timing)
    assert all(not INTERNALS.search(text) for text in result.texts), result.texts
    # Bounded: never longer than every retry's backoff plus its timeout, plus one long wait.
    bound = timing.backoffs(timing.attempts) + 2 * timing.read_timeout + 2.5
    assert result.seconds < bound, f"{scenario.id} took {result.seconds:.2f} s (bound {bound})"
