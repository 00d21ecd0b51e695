"""The ``tunebench`` command.

    tunebench strategies [--verbose]
    tunebench tune --strategy random --budget-epochs 300 --seed 0 --storage runs.db

``tune`` searches the book task (California housing, the book's MLP and space) unless told
otherwise; rerunning the same command after an interruption resumes the study.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _option(text: str) -> tuple[str, Any]:
    name, sep, raw = text.partition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"options are NAME=VALUE, got {text!r}")
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        value = raw
    return name, value


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tunebench",
        description="Hyperparameter search for neural networks: many strategies, one interface.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = commands.add_parser("strategies", help="list the registered search strategies")
    listing.add_argument(
        "-v", "--verbose", action="store_true", help="also show each strategy's options"
    )

    tune = commands.add_parser(
        "tune", help="search the book task's hyperparameters with one strategy"
    )
    tune.add_argument("--strategy", default="random", help="a name from `tunebench strategies`")
    tune.add_argument("--budget-epochs", type=int, default=None, help="training epochs to spend")
    tune.add_argument("--budget-trials", type=int, default=None, help="trials to run")
    tune.add_argument("--budget-seconds", type=float, default=None, help="wall-clock seconds")
    tune.add_argument("--seed", type=int, default=0, help="seed of the strategy and the trials")
    tune.add_argument("--storage", default=None, help="SQLite file; rerun to resume")
    tune.add_argument("--study-name", default=None, help="default: <strategy>-seed<seed>")
    tune.add_argument(
        "--subsample",
        type=int,
        default=None,
        metavar="N",
        help="train on N rows of the training split (validation and test N//3) for a quick run",
    )
    tune.add_argument("--max-epochs", type=int, default=100, help="epochs a trial at most")
    tune.add_argument("--patience", type=int, default=10, help="early-stopping patience")
    tune.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy option (repeatable); VALUE is read as JSON when it parses",
    )
    tune.add_argument("--no-progress", action="store_true", help="no live progress display")
    return parser


def _strategies(verbose: bool) -> int:
    from .strategy import available_strategies, strategy_class

    names = available_strategies()
    width = max(map(len, names))
    for name in names:
        cls = strategy_class(name)
        print(f"{name:<{width}}  {cls.description}")
        if verbose:
            options = cls.options_doc() or "(no options)"
            print("\n".join("    " + line for line in options.splitlines()) + "\n")
    return 0


def _tune(args: argparse.Namespace) -> int:
    from .budget import Budget
    from .models import book_space, build_mlp
    from .objective import KerasObjective
    from .runner import tune
    from .strategy import strategy_class
    from .tasks import california_housing

    strategy_class(args.strategy)  # an unknown name fails before the data is loaded
    if args.budget_epochs is None and args.budget_trials is None and args.budget_seconds is None:
        args.budget_epochs = 300
    budget = Budget(
        epochs=args.budget_epochs, trials=args.budget_trials, seconds=args.budget_seconds
    )
    task = california_housing()
    if args.subsample is not None:
        task = task.subsample(args.subsample)
    objective = KerasObjective(build_mlp, task, max_epochs=args.max_epochs, patience=args.patience)
    print(
        f"tuning {task.name} ({task.sizes['train']} training rows) with {args.strategy!r}, "
        f"budget {budget}, seed {args.seed}" + (f", store {args.storage}" if args.storage else ""),
        file=sys.stderr,
    )
    try:
        study = tune(
            objective,
            book_space(),
            strategy=args.strategy,
            budget=budget,
            seed=args.seed,
            strategy_options=dict(args.option),
            storage=args.storage,
            study_name=args.study_name,
            progress=not args.no_progress,
        )
    except KeyboardInterrupt:
        resume = " rerun the same command to resume." if args.storage else ""
        print(f"\ninterrupted; finished trials are kept.{resume}", file=sys.stderr)
        return 130
    print(study.summary())
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "strategies":
            return _strategies(args.verbose)
        return _tune(args)
    except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"tunebench: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
