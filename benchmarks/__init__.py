"""Benchmarks, beside the library and not shipped in its wheel. Every measurement ends with one line

    BENCH <name> <value> <unit> ratio=<x> vs <reference>

where the reference is measured in the same run. Run `python -m benchmarks --help` from the repository root.
"""

from __future__ import annotations


def bench_line(name: str, value: float, unit: str, ratio: float, reference: str) -> str:
    """Print and return one BENCH line."""
    line = f"BENCH {name} {value:.4g} {unit} ratio={ratio:.3g} vs {reference}"
    print(line, flush=True)
    return line
