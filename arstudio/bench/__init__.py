"""`arstudio bench`: speed and quality benchmarks whose ratios are measured within one run.

A benchmark is a function registered with ``register_bench`` that returns ``BenchResult``s, each
comparing ours against a baseline measured in the same run. Later issues add their own.
"""

from arstudio.bench.registry import BenchOptions, BenchSkipped, Benchmark, benchmarks, get_bench, register_bench
from arstudio.bench.result import BenchResult, Figure

__all__ = ["BenchOptions", "BenchResult", "BenchSkipped", "Benchmark", "Figure", "benchmarks", "get_bench",
           "register_bench"]
