"""Studies of many runs: comparisons of named variants and grid sweeps, cached by workload hash,
run by a pluggable executor (local processes, or Dask)."""

from .cache import ResultCache
from .compare import Variant, compare, parse_variant, read_variant_file
from .executor import Executor, LocalExecutor, PointOutcome, PointTask, make_executor, run_point
from .grid import Axis, parse_axis, sweep
from .points import PointResult, run_points

__all__ = [
    "Axis", "Executor", "LocalExecutor", "PointOutcome", "PointResult", "PointTask", "ResultCache", "Variant",
    "compare", "make_executor", "parse_axis", "parse_variant", "read_variant_file", "run_point", "run_points", "sweep",
]
