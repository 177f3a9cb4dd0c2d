"""``rpuarch run``, ``rpuarch compare`` and ``rpuarch sweep``: thin shells over rpuarch.run and
rpuarch.sweep (imported when a command runs, so ``rpuarch --help`` stays fast)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import load_workload
from ..kernel_cache import say_if_compiling
from . import add_threads_arg, add_workload_args, use_threads, workload_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "run", help="train on RPU tiles and in floating point, estimate the chip, write a report",
        description="Train the workload's LSTM on simulated RPU tiles and as a floating-point twin, estimate the "
        "chip with the activity training measured, print a summary and write DIR/report.json, report.md and "
        "plots. Running again with the same output directory resumes an interrupted run.",
    )
    add_workload_args(p)
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/<name>-<hash8 of the resolved workload>)")
    p.add_argument("--fresh", action="store_true", help="start over: ignore a finished report or checkpoints in DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_threads_arg(p)
    p.set_defaults(handler=cmd_run)

    p = subparsers.add_parser(
        "compare", help="run a workload under named variants and compare them side by side",
        description="Run the workload under each variant and show one side-by-side table (best values in bold); "
        "writes DIR/comparison.json and comparison.md, each variant's full report under DIR/points/.",
    )
    add_workload_args(p)
    p.add_argument(
        "--variant", action="append", default=[], metavar="NAME:PATH=VALUE[,PATH=VALUE...]",
        help="a named variant (repeatable); a bare NAME is the workload as it is, e.g. --variant base "
        "--variant asym:device.up_down=0.02 --variant small:tile.rows=512,tile.cols=512",
    )
    p.add_argument("--variant-file", metavar="FILE", help="YAML file: variants: {NAME: {PATH: VALUE, ...}, ...}")
    _study_args(p, "compare")
    p.set_defaults(handler=cmd_compare)

    p = subparsers.add_parser(
        "sweep", help="run the cross product of field values in parallel; table, CSV, JSON and plots",
        description="Run the workload at every combination of the --grid values, in parallel processes. Writes "
        "DIR/sweep.json, sweep.csv and sweep.png (each metric against the first swept field). Finished points "
        "are cached by the hash of their resolved workload: re-running computes only the missing ones.",
    )
    add_workload_args(p)
    p.add_argument(
        "--grid", action="append", default=[], metavar="PATH=V1,V2,...",
        help="a swept field and its values (repeatable; the sweep is the cross product), e.g. --grid device.up_down=0,0.01,0.02",
    )
    _study_args(p, "sweep")
    p.set_defaults(handler=cmd_sweep)


def _study_args(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument("--out", metavar="DIR", help=f"output directory (default: runs/<name>-{what})")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="points run at once, in separate processes (default 1; with --executor dask and no --scheduler: workers of the embedded cluster)")
    p.add_argument("--executor", default="local", choices=["local", "dask"], help="where points run: local processes (default) or a Dask cluster (docs/cluster.md)")
    p.add_argument("--scheduler", metavar="ADDRESS", help="with --executor dask: the running cluster's scheduler, tcp://HOST:PORT (default: an embedded LocalCluster)")
    p.add_argument("--cache", metavar="DIR", help="directory of finished points (default: DIR/points); share it between studies to reuse points")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def cmd_run(args: argparse.Namespace) -> int:
    from ..errors import TrainingDiverged
    from ..nn import checkpoint
    from ..report.summary import print_run_summary
    from ..run import default_out_dir, execute, plan_run

    use_threads(args)
    loaded = load_workload(args.workload, workload_overrides(args))
    out_dir = Path(args.out) if args.out else default_out_dir(loaded)
    plan = plan_run(loaded, out_dir, fresh=args.fresh)  # every check first: a refused run prints only its error
    console = Console()
    console.print(f"[bold]rpuarch run[/] {escape(str(loaded.path))} -> {escape(str(out_dir))}")
    if plan.finished is not None:
        console.print("This workload's run finished earlier in this directory: showing its report (--fresh recomputes).")
    elif plan.resume_from is not None:
        done = plan.resume_from
        console.print(f"Resuming {escape(str(out_dir))} from epoch {min(done.values(), default=0) + 1} (its checkpoint: RPU"
                      f" network {done.get('rpu', 0)} and floating-point twin {done.get('fp', 0)} epoch(s) done).")
    elif plan.replaces:
        console.print(f"Replacing the report in {escape(str(out_dir))}: {escape(plan.replaces)}.")
    if plan.finished is None:
        say_if_compiling(console)
    again = f"rpuarch run {loaded.path} --out {out_dir}"
    try:
        report = execute(plan, progress=not args.quiet)
    except TrainingDiverged as exc:
        if checkpoint.path_in(out_dir).is_file():
            exc.args = (f"{exc} `{again} --set training.lr=...` continues from it.",)
        raise
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: checkpoint kept; [bold]{escape(again)}[/] (and the same --set options) resumes.")
        return 130
    print_run_summary(report, str(out_dir), console)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from ..report.summary import print_tables
    from ..run import runs_dir
    from ..sweep import compare, make_executor, parse_variant, read_variant_file

    variants = [parse_variant(v) for v in args.variant]
    if args.variant_file:
        variants += read_variant_file(args.variant_file)
    overrides = workload_overrides(args)
    base = load_workload(args.workload, overrides)
    out_dir = Path(args.out) if args.out else runs_dir(base.workload.name, "compare")
    executor = make_executor(args.executor, args.jobs, args.scheduler, quiet=args.quiet)
    document, table = compare(args.workload, overrides, variants, out_dir, executor, args.cache, progress=not args.quiet)
    print_tables([table])
    Console().print(f"Comparison: [bold]{escape(str(out_dir))}/comparison.md[/] (and comparison.json)")
    return 0 if all(v["status"] != "failed" for v in document["variants"]) else 1


def cmd_sweep(args: argparse.Namespace) -> int:
    from ..report.summary import print_tables
    from ..run import runs_dir
    from ..sweep import make_executor, parse_axis, sweep
    from ..sweep.grid import results_table

    axes = [parse_axis(g) for g in args.grid]
    overrides = workload_overrides(args)
    base = load_workload(args.workload, overrides)
    out_dir = Path(args.out) if args.out else runs_dir(base.workload.name, "sweep")
    executor = make_executor(args.executor, args.jobs, args.scheduler, quiet=args.quiet)
    document = sweep(args.workload, overrides, axes, out_dir, executor, args.cache, progress=not args.quiet)
    print_tables([results_table(document)])
    Console().print(f"Sweep: [bold]{escape(str(out_dir))}/sweep.csv[/], sweep.json, sweep.png")
    return 0 if all(p["status"] != "failed" for p in document["points"]) else 1
