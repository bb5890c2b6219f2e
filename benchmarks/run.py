"""`make bench`: every benchmark of the project, one after the other, figures printed."""

from __future__ import annotations

import importlib

BENCHMARKS = ["benchmarks.classifier_bench", "benchmarks.webhook_overhead"]


def main() -> None:
    for name in BENCHMARKS:
        print(f"\n## {name}\n", flush=True)
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            print(f"(not available: {exc})")
            continue
        module.main()


if __name__ == "__main__":
    main()
