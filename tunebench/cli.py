"""The ``tunebench`` command.

    tunebench strategies [--verbose]
    tunebench tune --strategy random --budget-epochs 300 --seed 0 --storage runs.db
    tunebench bench [--strategies random,tpe] [--seeds 3] [--budget-epochs 300] [--full]
    tunebench report bench-report/runs.db -o bench-report
    tunebench lr-find [--subsample N] [--steps 500] [--plot lr-find.png]

``tune`` searches the book task (California housing, the book's MLP and space) unless told
otherwise; rerunning the same command after an interruption resumes the study. ``bench`` runs
every strategy on it over paired seeds (``tunebench.bench``) and writes the comparison report;
``report`` rewrites the report from a store. ``lr-find`` runs the learning-rate range test
(``tunebench.lr_find``) on the book's model and task, prints the suggested rate and plots it.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
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
    tune.add_argument("--executor", default="inline", help="inline (default), processes or ray")
    tune.add_argument("--workers", type=int, default=None, help="trials at once (processes / ray)")
    tune.add_argument("--address", default=None, help="Ray cluster address (executor ray)")
    tune.add_argument("--no-progress", action="store_true", help="no live progress display")

    bench = commands.add_parser(
        "bench",
        help="run every strategy on the book task over paired seeds and write the report",
        description="The benchmark (tunebench.bench): every strategy x every seed under one "
        "epoch budget, all in one store; rerun the same command to resume. The default is the "
        "quick benchmark `make bench` runs; --full is the publication protocol.",
    )
    bench.add_argument(
        "--strategies",
        default=None,
        metavar="A,B,C",
        help="comma-separated names (default: every registered strategy)",
    )
    bench.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="N|A,B,C",
        help="N seeds (0 to N-1) or a comma-separated list (default: 3, --full: 5)",
    )
    bench.add_argument(
        "--budget-epochs",
        type=int,
        default=None,
        help="epoch budget of every run (default: 300, --full: 1000)",
    )
    bench.add_argument(
        "--full",
        action="store_true",
        help="the publication protocol: 5 seeds, 1,000 epochs a run, the full data",
    )
    bench.add_argument(
        "--subsample",
        type=int,
        default=None,
        metavar="N",
        help="train on N rows (validation and test N//3) for a quick trial of the benchmark",
    )
    bench.add_argument("--max-epochs", type=int, default=None, help="epochs a trial at most (100)")
    bench.add_argument("--patience", type=int, default=None, help="early-stopping patience (10)")
    bench.add_argument(
        "--out",
        default=None,
        help="report folder (default: bench-report, --full: bench-report-full)",
    )
    bench.add_argument("--storage", default=None, help="the store (default: OUT/runs.db)")
    bench.add_argument("--executor", default="inline", help="inline, processes or ray")
    bench.add_argument("--workers", type=int, default=None, help="trials at once")
    bench.add_argument("--address", default=None, help="Ray cluster address (executor ray)")
    bench.add_argument("--no-progress", action="store_true", help="no live progress display")

    report = commands.add_parser("report", help="write the comparison report of a benchmark store")
    report.add_argument("store", help="the SQLite store of a benchmark")
    report.add_argument(
        "-o", "--out", default=None, help="report folder (default: the store's folder)"
    )

    lr_find = commands.add_parser(
        "lr-find", help="the learning-rate range test on the book task: suggest a rate, plot it"
    )
    lr_find.add_argument(
        "--subsample",
        type=int,
        default=None,
        metavar="N",
        help="use N rows of the training split for a quick run",
    )
    lr_find.add_argument("--steps", type=int, default=500, help="training steps at most")
    lr_find.add_argument("--min-lr", type=float, default=1e-5, help="the first learning rate")
    lr_find.add_argument("--max-lr", type=float, default=10.0, help="the rate of the last step")
    lr_find.add_argument("--batch-size", type=int, default=32, help="rows a step")
    lr_find.add_argument("--n-hidden", type=int, default=1, help="hidden layers of the book's MLP")
    lr_find.add_argument("--n-neurons", type=int, default=30, help="units a hidden layer")
    lr_find.add_argument("--seed", type=int, default=0, help="seed of the weights and shuffling")
    lr_find.add_argument(
        "--plot", default="lr-find.png", metavar="PATH", help="where to write the loss-vs-rate plot"
    )
    return parser


def _seeds(text: str) -> int | list[int]:
    """``"3"`` means seeds 0, 1, 2; ``"0,4,7"`` (or ``"5,"``) those seeds."""
    try:
        if "," not in text:
            return int(text)
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds are a number N or a comma-separated list of integers, got {text!r}"
        ) from None


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
            executor=args.executor,
            workers=args.workers,
            address=args.address,
        )
    except KeyboardInterrupt:
        resume = " rerun the same command to resume." if args.storage else ""
        print(f"\ninterrupted; finished trials are kept.{resume}", file=sys.stderr)
        return 130
    print(study.summary())
    return 0


def _bench(args: argparse.Namespace) -> int:
    from . import bench

    if args.full:
        fixed = {
            "--seeds": args.seeds,
            "--budget-epochs": args.budget_epochs,
            "--subsample": args.subsample,
            "--max-epochs": args.max_epochs,
            "--patience": args.patience,
        }
        clash = [flag for flag, value in fixed.items() if value is not None]
        if clash:
            raise ValueError(
                f"--full is the fixed publication protocol (5 seeds, 1,000 epochs, full data); "
                f"drop {', '.join(clash)} or drop --full"
            )
    default_seeds = bench.FULL_SEEDS if args.full else bench.DEFAULT_SEEDS
    default_budget = bench.FULL_BUDGET_EPOCHS if args.full else bench.DEFAULT_BUDGET_EPOCHS
    out = args.out or ("bench-report-full" if args.full else "bench-report")
    storage = args.storage or str(Path(out) / "runs.db")
    try:
        bench.run_benchmark(
            args.strategies,
            default_seeds if args.seeds is None else args.seeds,
            default_budget if args.budget_epochs is None else args.budget_epochs,
            storage=storage,
            out_dir=out,
            subsample=args.subsample,
            max_epochs=100 if args.max_epochs is None else args.max_epochs,
            patience=10 if args.patience is None else args.patience,
            executor=args.executor,
            workers=args.workers,
            address=args.address,
            progress=False if args.no_progress else None,  # None: live on a terminal
        )
    except KeyboardInterrupt:
        print(
            "\ninterrupted; finished runs and trials are kept. Rerun the same command to resume.",
            file=sys.stderr,
        )
        return 130
    return 0


def _report(args: argparse.Namespace) -> int:
    from .report import write_report

    out = args.out or str(Path(args.store).parent)
    print(write_report(args.store, out))
    return 0


def _lr_find(args: argparse.Namespace) -> int:
    from .lr_finder import lr_find
    from .models import book_space, build_mlp
    from .tasks import california_housing

    task = california_housing()
    if args.subsample is not None:
        task = task.subsample(args.subsample)

    def build_model(input_shape: tuple[int, ...]) -> Any:
        return build_mlp(args.n_hidden, args.n_neurons, input_shape=input_shape)

    print(
        f"learning-rate range test on {task.name} ({task.sizes['train']} training rows): "
        f"{args.min_lr:g} to {args.max_lr:g} over at most {args.steps} steps",
        file=sys.stderr,
    )
    found = lr_find(
        build_model,
        task,
        min_lr=args.min_lr,
        max_lr=args.max_lr,
        steps=args.steps,
        batch_size=args.batch_size,
        seed=args.seed,
    )
    found.plot(args.plot)
    narrowed = found.narrow(book_space())["learning_rate"]
    print(f"suggested learning rate: {found.suggested:.3g}")
    print(f"the loss starts climbing at: {found.climb_rate:.3g}")
    if not found.exploded:
        print("the loss never exploded: raise --max-lr to see where it climbs")
    print(f"narrowed search range: {narrowed.low:.3g} to {narrowed.high:.3g} (log-uniform)")
    print(f"plot: {args.plot}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _build_parser()
    args = parser.parse_args(argv)
    commands = {"tune": _tune, "bench": _bench, "report": _report, "lr-find": _lr_find}
    try:
        if args.command == "strategies":
            return _strategies(args.verbose)
        return commands[args.command](args)
    except (ValueError, TypeError, KeyError, FileNotFoundError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"tunebench: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
