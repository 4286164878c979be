"""Timing shared by the extraction benchmarks: medians of whole passes, and the speed lines
printed against trafilatura (both run in the same process, passes alternating, so a change
in the machine's load falls on both alike)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], reps: int) -> float:
    """The median wall time of `reps` calls of `fn`."""
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired_medians(ours: Callable[[], object], theirs: Callable[[], object], reps: int) -> tuple[float, float]:
    """Median wall times of both, after one warm-up call each, their passes alternating."""
    ours(), theirs()
    a, b = [], []
    for _ in range(reps):
        a.append(median_seconds(ours, 1))
        b.append(median_seconds(theirs, 1))
    return statistics.median(a), statistics.median(b)


def print_speed(n_pages: int, ours: float, trafilatura: float, reps: int) -> None:
    print(f"\nspeed, median of {reps} passes over {n_pages} pages:")
    print(f"  trafilatura     {trafilatura:7.3f} s  ({1000 * trafilatura / n_pages:6.2f} ms/page)")
    print(f"  this extractor  {ours:7.3f} s  ({1000 * ours / n_pages:6.2f} ms/page)  (bytes in, decoding included)")
    print(f"  speed ratio     {trafilatura / ours:7.1f}x")
