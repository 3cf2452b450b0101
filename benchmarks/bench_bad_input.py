"""Time and peak memory (tracemalloc) of refusing each bad input of tests/api/test_bad_input.py.

Run from the repository root:  python benchmarks/bench_bad_input.py
Prints the slowest refusals and the largest peaks; issue 12 asks for < 2 s and < 100 MB each.
"""
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "api"))

from fronts import call  # noqa: E402
from test_bad_input import CASES  # noqa: E402


def measure(front, changes, exception):
    tracemalloc.start()
    start = time.perf_counter()
    try:
        call(front, changes)
    except exception:
        pass
    wall = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return wall, peak


def main():
    rows = [(name, *measure(front, changes, exception))
            for name, front, changes, exception, _ in CASES]
    print(f"{len(rows)} refusals; total {sum(r[1] for r in rows):.2f} s")
    print("slowest:")
    for name, wall, peak in sorted(rows, key=lambda r: -r[1])[:8]:
        print(f"  {wall * 1e3:8.1f} ms  {peak / 2 ** 20:7.2f} MiB  {name}")
    print("largest peak:")
    for name, wall, peak in sorted(rows, key=lambda r: -r[2])[:5]:
        print(f"  {wall * 1e3:8.1f} ms  {peak / 2 ** 20:7.2f} MiB  {name}")


if __name__ == "__main__":
    main()
