"""Run every ``bench/bench_*.py`` module's ``main()`` in name order (``make bench``)."""

from __future__ import annotations

import importlib
from pathlib import Path


def main() -> None:
    names = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    if not names:
        print("no benchmarks yet (add bench/bench_<name>.py with a main())")
    for name in names:
        print(f"== {name}", flush=True)
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main()
