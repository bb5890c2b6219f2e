"""How long each Bot API fault path takes with the production retry settings
(``python -m benchmarks.fault_paths``, part of ``make loadtest``; about two minutes).

The scenarios are tests/support/fault_scenarios.py, the ones tests/test_bot_faults.py runs
with short delays: the real polling bot against the Bot API double, one photo per scenario.
Settings: the defaults of bot/config.py (3 retries, backoff 1 s doubling to 8 s, read timeout
10 s, 429 waits up to 30 s). Prints a Markdown table (docs/operations.md).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.bot_api_double import BotApiDouble  # noqa: E402
from tests.support.fault_scenarios import (  # noqa: E402
    SCENARIOS,
    Result,
    Timing,
    check,
    run_scenario,
    table,
)

PHOTO = ROOT / "tests" / "fixtures" / "photos" / "dog_pug.jpg"


async def one(scenario) -> Result:
    from bot.application import build_application
    from bot.config import BotSettings
    from bot.polling import run_polling
    from bot.store import StoreLocation, open_store

    with BotApiDouble() as api:
        settings = BotSettings(
            token=api.token, api_base_url=api.base_url, state_dir="", _env_file=None
        )
        timing = Timing.of(settings)
        # A fresh in-memory store per scenario: each double starts its update ids (and its
        # user) afresh, so the process's shared store would take them for re-deliveries.
        store = open_store(StoreLocation("memory"))
        app = build_application(settings, store=store)
        stop, ready = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(run_polling(app, stop, ready=ready))
        await asyncio.wait_for(ready.wait(), 30)
        try:
            result = await run_scenario(api, scenario, timing, PHOTO.read_bytes(), within=120)
        finally:
            stop.set()
            await asyncio.wait_for(task, 60)
            store.close()
        check(result, timing)
        return result


async def main() -> int:
    logging.basicConfig(level=logging.ERROR)
    results = []
    begin = time.monotonic()
    for scenario in SCENARIOS:  # a fresh double and bot each (the double reuses update ids)
        result = await one(scenario)
        print(f"{scenario.id}: {result.seconds:.2f} s", file=sys.stderr, flush=True)
        results.append(result)
    print("Bot API fault paths, production retry settings (bot/config.py defaults):")
    print(table(results))
    print(f"({time.monotonic() - begin:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
