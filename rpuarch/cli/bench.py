"""``rpuarch bench``: measured speed of the numerics (commands, not timed tests).

``bench tile`` is the tile benchmark (rpuarch.device.benchmark); ``bench sweep`` measures
the Dask executor's overhead per point (rpuarch.sweep.dask_executor). Other benchmarks
add their own subcommand to the ``bench`` group here.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markdown import Markdown
from rich.table import Table

from ..errors import ConfigError, UserError
from ..files import atomic_write_json
from . import add_overrides, check_threads, help_by_default


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("bench", help="measure the speed of the numerics")
    sub = p.add_subparsers(dest="bench_command", metavar="SUBCOMMAND", parser_class=type(p))
    help_by_default(p)
    q = sub.add_parser(
        "tile",
        help="rank-1 updates/s and forward vectors/s of the 256 x 161 LSTM tile, against the targets",
        description="The tile benchmark (gokmen-vlasov-2016, BL 10, lr 0.05, update and BL"
        " management, LSTM-like rank-1 pairs; forward with the default periphery).",
    )
    q.add_argument("--seconds", type=float, default=1.0, help="wall time per case (default 1 s)")
    q.add_argument("--seed", type=int, default=0, help="seed of the tile and the pairs (default 0)")
    q.add_argument("--backend", choices=["numba", "numba-f32", "numpy"], default="numba",
                   help="numba kernels (default), the same with float32 products, or the pure-numpy fallback")
    q.add_argument("--blas-threads", type=int, default=1, metavar="N",
                   help="OpenBLAS threads for this run (default 1; 0 leaves the library's setting)")
    q.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    q.set_defaults(handler=cmd_bench_tile)

    q = sub.add_parser(
        "modes",
        help="measure what the aggregated update mode changes against the exact one",
        description="One fixed batch of LSTM-like rank-1 pairs on the 256 x 161 tile, applied in exact and in"
        " aggregated mode from the same weights and devices, R replicates each (see rpuarch.device.modes).",
    )
    q.add_argument("--presets", nargs="+", default=["gokmen-vlasov-2016", "soft-bounds"], metavar="PRESET")
    q.add_argument("--batch", type=int, default=1600, help="rank-1 pairs in the batch (default 1600)")
    q.add_argument("--replicates", type=int, default=30, help="replicates per mode (default 30)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    q.set_defaults(handler=cmd_bench_modes)

    q = sub.add_parser(
        "sweep",
        help="Dask's overhead per point: short points on an embedded LocalCluster against the local executor",
        description="The same short points (the quickstart cut to a 1 x 8 LSTM, seeds 1..N) under the local executor"
        " and an embedded Dask LocalCluster with as many workers as --jobs, repeated in alternating order.",
    )
    q.add_argument("--points", type=int, default=16, help="points per sweep (default 16)")
    q.add_argument("--jobs", type=int, default=2, help="local processes and Dask workers (default 2)")
    q.add_argument("--repeat", type=int, default=3, help="repetitions of each executor (default 3)")
    q.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    q.add_argument("--docs", metavar="FILE", help="write the figures into the bench block of this markdown file (docs/cluster.md)")
    q.set_defaults(handler=cmd_bench_sweep)

    q = sub.add_parser(
        "train",
        help="characters/s of LSTM training (RPU exact, floating point, 32 streams aggregated), against the targets",
        description="The training benchmark (rpuarch.nn.benchmark): the installed Linux headers as text,"
        " a 1 x 64 LSTM, 50-step windows, SGD lr 0.05, gokmen-vlasov-2016, BL 10, 7-bit DAC / 9-bit ADC.",
    )
    q.add_argument("--seconds", type=float, default=5.0, help="timed wall time per case (default 5 s)")
    q.add_argument("--seed", type=int, default=0, help="seed of the networks (default 0)")
    q.add_argument("--data", metavar="PATH", help="a text file, directory or glob instead of the Linux headers")
    q.add_argument("--workload", metavar="FILE",
                   help="time this workload's own networks instead of the reference setup (a YAML file or a shipped"
                   " workload by name, e.g. lstm2-64wp; with --set): each alone on one thread, then on --threads")
    add_overrides(q)
    q.add_argument("--threads", type=int, default=2, metavar="N",
                   help="with --workload: threads of the threaded cases (default 2; 1: only the one-thread cases)")
    q.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    q.set_defaults(handler=cmd_bench_train)


def _check_seconds(seconds: float) -> None:
    if not 0 < seconds <= 600:
        raise ConfigError("--seconds", None, f"{seconds} is out of range.", "0 < seconds <= 600")


def _write_json(path: str | None, data: object, console: Console) -> None:
    """--json FILE, when given: the figures as JSON."""
    if path:
        atomic_write_json(path, data)
        console.print(f"wrote json: {path}")


def cmd_bench_tile(args: argparse.Namespace) -> int:
    from ..device.benchmark import benchmark_tile

    _check_seconds(args.seconds)
    if args.blas_threads < 0:
        raise ConfigError("--blas-threads", None, f"{args.blas_threads} is negative.", "0 (leave as is) or more")
    console = Console()
    with console.status("benchmarking ...") as status:
        result = benchmark_tile(args.seconds, args.seed, args.backend, args.blas_threads or None,
                                progress=lambda name: status.update(f"benchmarking: {name}"))

    table = Table(title="Tile benchmark: 256 x 161, gokmen-vlasov-2016, BL 10, lr 0.05 (rates per second)")
    for column, justify in (("case", "left"), ("unit", "left"), ("CPU median", "right"), ("wall median", "right"),
                            ("wall best", "right"), ("target", "right"), ("aihwkit 1.2", "right"),
                            ("vs aihwkit", "right"), ("", "left")):
        table.add_column(column, justify=justify, no_wrap=column != "case")
    for c in result.cases:
        verdict = {True: "[green]ok[/]", False: "[red]below target[/]", None: ""}[c.meets_target]
        table.add_row(
            c.name,
            c.unit,
            f"{c.cpu:,.0f}",
            f"{c.wall:,.0f}",
            f"{c.best_wall:,.0f}",
            f"{c.target:,.0f}" if c.target else "-",
            f"{c.reference:,.0f}" if c.reference else "-",
            f"{c.cpu / c.reference:.1f}x" if c.reference else "-",
            verdict,
        )
    console.print(table)
    console.print(
        f"backend {result.backend}; OpenBLAS threads {result.blas_threads or 'unchanged'}; {result.cpu_count} CPUs; "
        f"1-min load average {result.load_before:.2f} before, {result.load_after:.2f} after. Targets are checked "
        "on the CPU-clock rate (what the process achieves while it runs); on a shared machine the wall rate "
        "also counts waiting for a core."
    )
    for c in result.cases:
        if c.detail:
            details = ", ".join(f"{k.replace('_', ' ')} {v:,.2f}" for k, v in c.detail.items())
            console.print(f"  {c.name}: {details}")
    _write_json(args.json, result.to_dict(), console)
    return 0


def cmd_bench_modes(args: argparse.Namespace) -> int:
    from ..device.modes import SCENARIOS, compare_modes, to_dict

    if args.batch < 1 or args.replicates < 2:
        raise ConfigError("--batch/--replicates", None, "too small.", "--batch >= 1 and --replicates >= 2")
    console = Console()
    results = []
    with console.status("comparing modes ...") as status:
        for preset in args.presets:
            for scenario in SCENARIOS:
                status.update(f"comparing modes: {preset}, {scenario}")
                results.append(compare_modes(preset, scenario, args.batch, args.replicates, seed=args.seed))
    table = Table(title=f"Aggregated vs exact update: one batch of {args.batch} pairs, {args.replicates} replicates per mode")
    for column in ("device", "weights", "mean update", "bias", "noise floor", "devices differing",
                   "spread agg/exact", "at bound exact", "at bound agg"):
        table.add_column(column, justify="left" if column in ("device", "weights") else "right")
    for r in results:
        table.add_row(r.preset, r.scenario, f"{r.mean_update:.1f} steps", f"{r.bias:.1f} steps", f"{r.bias_floor:.1f} steps",
                      f"{100 * r.significant:.2f} %", f"{r.spread_ratio:.3f}", f"{100 * r.at_bound_exact:.2f} %",
                      f"{100 * r.at_bound_aggregated:.2f} %")
    console.print(table)
    console.print("bias: RMS over devices of the difference of the mean final weights (dw_min steps); noise floor: "
                  "what replicate noise alone gives; devices differing: |z| > 4.5. Scenarios: "
                  + "; ".join(f"{k}: {v}" for k, v in SCENARIOS.items()) + ".")
    _write_json(args.json, [to_dict(r) for r in results], console)
    return 0


def cmd_bench_sweep(args: argparse.Namespace) -> int:
    try:
        from ..sweep.dask_executor import bench_block, benchmark_overhead, overhead_markdown, write_overhead_into
    except ImportError as exc:
        raise UserError(f"bench sweep needs Dask, which is not installed here ({exc}): pip install 'rpuarch[dask]'") from None
    if args.points < 1 or args.jobs < 1 or args.repeat < 1:
        raise ConfigError("--points/--jobs/--repeat", None, "must be at least 1.")
    if args.docs:
        bench_block(Path(args.docs))  # a file without the block fails now, not after the benchmark
    console = Console()
    with console.status(f"benchmarking: {args.points} points, local vs Dask, {args.repeat} time(s) each ..."):
        result = benchmark_overhead(args.points, args.jobs, args.repeat)
    console.print(Markdown(overhead_markdown(result)))
    _write_json(args.json, result.to_dict(), console)
    if args.docs:
        write_overhead_into(Path(args.docs), result)
        console.print(f"wrote the figures into {args.docs}")
    return 0


def cmd_bench_train(args: argparse.Namespace) -> int:
    from ..nn.benchmark import REFERENCE_NOTE, benchmark_training

    _check_seconds(args.seconds)
    if args.workload or args.overrides:
        return _bench_workload_training(args)
    console = Console()
    with console.status("benchmarking ...") as status:
        result = benchmark_training(args.seconds, args.seed, {"path": args.data} if args.data else None,
                                    progress=lambda name: status.update(f"benchmarking: {name}"))
    table = Table(title="Training benchmark, char/s (median over windows, by the CPU and the wall clock)",
                  title_justify="left")
    for column, justify in (("case", "left"), ("CPU", "right"), ("wall", "right"), ("target", "right"),
                            ("aihwkit (ratio)", "right"), ("", "left")):
        table.add_column(column, justify=justify, no_wrap=True)
    for c in result.cases:
        verdict = {True: "[green]ok[/]", False: "[red]below[/]", None: ""}[c.meets_target]
        table.add_row(c.name, f"{c.cpu:,.0f}", f"{c.wall:,.0f}", f"{c.target:,.0f}" if c.target else "-",
                      f"{c.reference:,.0f} ({c.cpu / c.reference:.1f}x)" if c.reference else "-", verdict)
    console.print(table)
    console.print(f"corpus {result.corpus}, vocabulary {result.vocab_size}; one BLAS thread; {result.cpu_count} CPUs; "
                  f"1-min load average {result.load_before:.2f} before, {result.load_after:.2f} after. Targets are "
                  f"checked on the CPU-clock rate; the wall rate also counts waiting for a core. {REFERENCE_NOTE}")
    for c in result.cases:
        shares = ", ".join(f"{k} {100 * v:.0f} %" for k, v in c.shares.items())
        console.print(f"  {c.name}: {c.windows} windows timed, last loss {c.final_loss:.3f} nats/char; time: {shares}")
    _write_json(args.json, result.to_dict(), console)
    return 0


def _bench_workload_training(args: argparse.Namespace) -> int:
    """``bench train --workload``: the workload's own networks, one thread and --threads."""
    from ..config import load_workload
    from ..nn.benchmark import benchmark_workload

    check_threads(args.threads)
    if args.data:
        raise UserError("--data and --workload: give the text as the workload's dataset (--set dataset.path=...).")
    loaded = load_workload(args.workload, list(args.overrides))
    console = Console()
    with console.status("benchmarking ...") as status:
        result = benchmark_workload(loaded.workload, args.seconds, args.threads,
                                    progress=lambda name: status.update(f"benchmarking: {name}"))
    table = Table(title=f"Training benchmark of {loaded.workload.name}, char/s over all networks of a case",
                  title_justify="left")
    for column, justify in (("case", "left"), ("wall", "right"), ("CPU", "right"), ("windows", "right")):
        table.add_column(column, justify=justify, no_wrap=True)
    for c in result.cases:
        table.add_row(c.name, f"{c.wall:,.0f}", f"{c.cpu:,.0f}", str(c.windows))
    console.print(table)
    console.print(f"corpus {result.corpus}, vocabulary {result.vocab_size}; one BLAS thread; {result.cpu_count} CPUs; "
                  f"1-min load average {result.load_before:.2f} before, {result.load_after:.2f} after. CPU = characters"
                  " per second of the process's CPU time (all its threads); wall = per second of elapsed time.")
    rpu, fp, *threaded = result.cases
    if threaded:
        one_thread = 2 / (1 / rpu.wall + 1 / fp.wall)  # both networks one after another, as on one thread
        console.print(f"Both networks on {args.threads} threads: {threaded[1].wall / one_thread:.2f} times their speed one"
                      f" after another on one thread; the RPU network alone: {threaded[0].wall / rpu.wall:.2f} times."
                      " (Shares of a busy machine's cores, not a speed-up, when no core is free.)")
    _write_json(args.json, result.to_dict(), console)
    return 0
