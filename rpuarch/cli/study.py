"""``rpuarch study STUDY.yaml``: one of the paper's studies, run and reported in one command."""

from __future__ import annotations

import argparse
import shlex

from rich.console import Console
from rich.markup import escape

from . import add_overrides

INCOMPLETE = 3  # exit status: runs are pending (stopped by --budget); the same command continues


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "study", help="run one of the paper's studies (workloads/paper/) and write its report",
        description="Run every condition and seed of a study file at its default scale (one where the networks "
        "converge, hours on 2 cores) or at the paper's (--full), analyse the results with their spread over seeds, and "
        "write OUT/report.md, results.json and PNG plots; the index reports/README.md is regenerated. Each finished run is a "
        "small JSON file under OUT/runs/ (commit it with the report): a study stopped by --budget or Ctrl-C resumes "
        "where it stopped, and its report lists the runs still pending. Exit status 0: every run finished; 3: runs "
        "pending; 2: bad input. See docs/studies.md.",
    )
    p.add_argument("study", help="study file, or a shipped study by name, e.g. paper/asymmetry")
    p.add_argument("--out", metavar="DIR", help="report directory (default: reports/paper/<study>)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="runs at once, in separate processes (default 1)")
    p.add_argument("--full", action="store_true", help="the paper's scale (the study file's full settings): long")
    p.add_argument(
        "--data", action="append", default=[], metavar="[CORPUS=]FILE",
        help="a local copy of the study's corpus instead of the download/cache, e.g. --data ../shared/data/warpeace_input.txt"
        " (studies over several corpora: --data NAME=FILE, repeatable)",
    )
    p.add_argument("--seeds", metavar="S1,S2,...", help="seeds instead of the study file's")
    p.add_argument("--budget", type=float, metavar="MINUTES",
                   help="stop after this many minutes: running runs checkpoint and stop, the report lists what is pending,"
                   " and the same command continues (0: run nothing, regenerate the report from OUT/runs/)")
    p.add_argument("--max-seeds", type=int, metavar="N", help="the seed rule's limit of seeds per setting (default: the study file's)")
    p.add_argument("--cache", metavar="DIR",
                   help="local run cache with the checkpoints of unfinished runs, shared by studies (default: runs/study/points)")
    add_overrides(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=cmd_study)


def command_line(args: argparse.Namespace) -> str:
    """The command as a user would type it again (default options left out)."""
    parts = ["rpuarch", "study", args.study]
    for item in args.data:
        parts += ["--data", item]
    for item in args.overrides:
        parts += ["--set", item]
    if args.seeds:
        parts += ["--seeds", args.seeds]
    if args.jobs != 1:
        parts += ["--jobs", str(args.jobs)]
    if args.max_seeds is not None:
        parts += ["--max-seeds", str(args.max_seeds)]
    if args.out:
        parts += ["--out", args.out]
    if args.full:
        parts.append("--full")
    return shlex.join(parts)


def cmd_study(args: argparse.Namespace) -> int:
    from ..errors import ConfigError
    from ..study import run_study

    seeds = None
    if args.seeds:
        try:
            seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
        except ValueError:
            raise ConfigError("--seeds", None, f"{args.seeds!r} is not a comma-separated list of integers.") from None
    results = run_study(args.study, out_dir=args.out, jobs=args.jobs, full=args.full, overrides=args.overrides,
                        data=args.data, seeds=seeds, cache_dir=args.cache, command=command_line(args),
                        progress=not args.quiet, budget=args.budget, max_seeds=args.max_seeds)
    console = Console()
    console.print(f"[bold]{results['title']}[/]")
    console.print(f"Finding: {results['finding']}")
    for notice in results["notices"]:
        console.print(f"[yellow]warning:[/] {escape(notice)}")
    console.print(f"Report: [bold]{args.out or 'reports/paper/' + results['study']}/report.md[/] (results.json, plots, runs/)")
    return 0 if results["complete"] else INCOMPLETE
