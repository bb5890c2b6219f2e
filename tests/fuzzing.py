"""Example counts for the property tests: short in ``make test``, long in ``make fuzz``
(``BREEDBOT_FUZZ_SCALE=20``)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings


def fuzz_settings(examples: int, **kwargs):
    scale = max(1, int(os.environ.get("BREEDBOT_FUZZ_SCALE", "1") or 1))
    return settings(
        max_examples=examples * scale,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        **kwargs,
    )
