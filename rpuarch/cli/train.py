"""``rpuarch train``: train the workload's LSTM on RPU tiles and as a floating-point twin.

A thin shell over ``rpuarch.nn.train.train`` (imported when the command runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from ..config import load_workload
from ..errors import UserError
from ..kernel_cache import say_if_compiling
from . import add_threads_arg, add_workload_args, use_threads, workload_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train the LSTM on RPU tiles and in floating point; write DIR/train.json",
        description="Train the workload's LSTM on simulated RPU tiles and, on the same data in the same order, "
        "its floating-point twin. Shows progress, prints a summary and writes DIR/train.json; checkpoints "
        "DIR/checkpoint.npz after every epoch and on Ctrl-C (press twice to stop at once). A diverging run "
        "(non-finite loss) stops with exit status 2 and keeps the last good checkpoint.",
    )
    add_workload_args(p)
    p.add_argument("--out", metavar="DIR", help="output directory (default: runs/<name>-train)")
    p.add_argument(
        "--resume", metavar="DIR",
        help="continue the run checkpointed in DIR (same workload; training.epochs and training.lr may change); "
        "ends with exactly the numbers of an uninterrupted run",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_threads_arg(p)
    p.set_defaults(handler=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from ..errors import TrainingDiverged
    from ..files import check_writable_dir
    from ..nn import checkpoint
    from ..nn.checkpoint import CheckpointError
    from ..nn.train import train
    from ..report.summary import print_tables, print_warnings
    from ..report.tables import accuracy_table, network_table
    from ..run import preflight, runs_dir

    use_threads(args)
    loaded = load_workload(args.workload, workload_overrides(args))
    if args.resume and args.out and Path(args.out).resolve() != Path(args.resume).resolve():
        raise UserError(f"--out {args.out} and --resume {args.resume} differ: a resumed run writes where it was checkpointed.")
    out_dir = Path(args.resume or args.out or runs_dir(loaded.workload.name, "train"))
    preflight(loaded)  # every check first: a refused run prints only its error
    check_writable_dir(out_dir, "--resume" if args.resume else "--out")
    console = Console()
    verb = "resuming" if args.resume else "training"
    console.print(f"[bold]rpuarch train[/] {verb} {escape(str(loaded.path))} -> {escape(str(out_dir))}")
    say_if_compiling(console)
    try:
        result = train(loaded, out_dir=out_dir, resume=bool(args.resume), progress=not args.quiet)
    except CheckpointError as exc:
        exc.args = (f"--resume: {exc} (Without --resume, training starts over.)",)
        raise
    except TrainingDiverged as exc:
        if checkpoint.path_in(out_dir).is_file():
            exc.args = (f"{exc} `rpuarch train {loaded.path} --resume {out_dir} --set training.lr=...` continues from it.",)
        raise
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: checkpoint kept; continue with [bold]rpuarch train "
                      f"{escape(str(loaded.path))} --resume {escape(str(out_dir))}[/] (and the same --set options)")
        return 130
    print_tables([accuracy_table(result), network_table(result)], console)
    print_warnings(result, console)
    timing = result["timing"]
    console.print(
        f"Training speed: RPU {timing['rpu']['chars_per_s']:,.0f} char/s, floating point "
        f"{timing['fp']['chars_per_s']:,.0f} char/s; wall time {timing['wall_s']:.1f} s."
    )
    console.print(f"Results: [bold]{escape(str(out_dir))}/train.json[/]")
    return 0
