"""The ``rpuarch`` command: a thin shell over the Python API.

Each command group lives in its own module with a ``register(subparsers)`` function that adds
its parsers and sets ``handler`` (a function of the parsed args returning an exit status).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from rich.console import Console
from rich.markup import escape

from .. import __version__
from ..errors import ConfigError, UserError

# Command modules, in the order they are listed by --help.
COMMAND_MODULES = ["config", "device", "bench", "train", "estimate", "calibrate", "run", "study"]

err_console = Console(stderr=True, highlight=False, soft_wrap=True)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors also exit 2, tidily
        self.print_usage(sys.stderr)
        err_console.print(f"[bold red]error:[/] {escape(message)}")
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="rpuarch",
        description="Train LSTMs on simulated resistive cross-point (RPU) arrays and estimate the chip.",
    )
    parser.add_argument("--version", action="version", version=f"rpuarch {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except UserError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
        return exc.exit_status
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]: finished work and checkpoints are kept.")
        return 130


def add_overrides(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="PATH=VALUE",
        help="override a workload field by dotted path, e.g. --set device.up_down=0.02 (repeatable)",
    )


def add_workload_args(parser: argparse.ArgumentParser, seed: bool = True) -> None:
    """The workload file, its --set overrides and (unless ``seed=False``) --seed; read them back
    with ``workload_overrides``."""
    parser.add_argument("workload", nargs="?", help="workload YAML file, or a shipped workload by name, e.g. quickstart"
                        " (default: quickstart)")
    add_overrides(parser)
    if seed:
        parser.add_argument("--seed", type=int, metavar="N", help="seed of every random draw (the same as --set seed=N)")


def add_threads_arg(parser: argparse.ArgumentParser) -> None:
    """--threads N: threads of one training run (read back by ``use_threads``)."""
    parser.add_argument(
        "--threads", type=int, metavar="N",
        help="threads of the training run: 2 trains the RPU network and its floating-point twin at the same time,"
        " with the same numbers (default: RPUARCH_THREADS, else 1)",
    )


def check_threads(threads: int) -> None:
    if threads < 1:
        raise ConfigError("--threads", None, f"{threads} threads.", "1 or more")


def use_threads(args: argparse.Namespace) -> None:
    """Make --threads the default of every training in this process (RPUARCH_THREADS)."""
    if args.threads is not None:
        check_threads(args.threads)
        os.environ["RPUARCH_THREADS"] = str(args.threads)


def workload_overrides(args: argparse.Namespace) -> list[str]:
    """The --set overrides, with --seed N as a last ``seed=N``."""
    seed = getattr(args, "seed", None)
    return list(args.overrides) + ([f"seed={seed}"] if seed is not None else [])


def help_by_default(parser: argparse.ArgumentParser) -> None:
    """A command group run without a subcommand prints its help and exits with status 2."""

    def show_help(args: argparse.Namespace) -> int:
        parser.print_help()
        return 2

    parser.set_defaults(handler=show_help)
