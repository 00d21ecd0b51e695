"""The ``tunebench`` command.

    tunebench strategies [--verbose]
    tunebench tune --strategy random --budget-epochs 300 --seed 0 --storage runs.db
    tunebench show runs.db [--study NAME]
    tunebench bench [--problems california_housing,my_module:problem] [--strategies random,tpe]
                    [--seeds 3] [--budget-epochs 300] [--full]
    tunebench problems
    tunebench report bench-report/runs.db -o bench-report
    tunebench lr-find [--subsample N] [--steps 500] [--plot lr-find.png]

``tune`` searches the book task (California housing, the book's MLP and space) unless told
otherwise; rerunning the same command after an interruption resumes the study. ``show`` lists
a store's studies, or one study's trials with their errors. ``bench`` runs every strategy on
each problem (the book task unless told otherwise) over paired seeds (``tunebench.bench``)
and writes the comparison report; ``problems`` lists the registered problems;
``report`` rewrites the report from a store. ``lr-find`` runs the learning-rate range test
(``tunebench.lr_find``) on the book's model and task, prints the suggested rate and plots it.

A mistake in the command (a bad value, a missing file) is one line, ``tunebench: error: ...``,
exit status 2. Anything else is a bug: one line saying so, exit status 1; ``--debug`` shows
its traceback. TensorFlow's start-up log lines are hidden unless ``TF_CPP_MIN_LOG_LEVEL`` is set.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .executors import EXECUTORS, WorkerStartError
from .private_api import PrivateAPIChanged
from .progress import loss_text
from .runner import MaxEpochsError, ResumeMismatchError, fidelity_options
from .store import StudyBusyError

__all__ = ["main"]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Every default shown, except the empty ones (None, off, nothing)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        empty = action.default is None or action.default is False or action.default == []
        if empty or action.default is argparse.SUPPRESS or "default" in text:
            return text
        return super()._get_help_string(action)


class _RawHelpFormatter(argparse.RawDescriptionHelpFormatter, _HelpFormatter):
    """... and a description kept as written (for lists of files)."""


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tunebench")
    except PackageNotFoundError:  # run from a source tree without installing
        from . import __version__

        return __version__


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
        formatter_class=_HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"tunebench {_version()}")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str | None = None) -> argparse.ArgumentParser:
        description = description or help
        formatter = _RawHelpFormatter if "\n" in description else _HelpFormatter
        sub = commands.add_parser(
            name, help=help, description=description, formatter_class=formatter
        )
        # Also accepted after the command; SUPPRESS keeps the top-level value otherwise.
        sub.add_argument(
            "--debug",
            action="store_true",
            default=argparse.SUPPRESS,
            help="show the full traceback of an error",
        )
        return sub

    listing = command("strategies", "list the registered search strategies")
    listing.add_argument(
        "-v", "--verbose", action="store_true", help="also show each strategy's options"
    )

    tune = command(
        "tune",
        "search the book task's hyperparameters with one strategy",
        "Search the book task (California housing, the book's MLP and space) with one "
        "strategy under one budget (300 epochs when no --budget-* is given). With --storage, "
        "every trial is kept, rerunning the same command resumes the study, and rerunning it "
        "with a larger budget extends a finished one (a smaller one is refused).",
    )
    tune.add_argument(
        "--strategy", default="random", help="a name from `tunebench strategies`", metavar="NAME"
    )
    tune.add_argument(
        "--budget-epochs",
        type=_positive_int,
        default=None,
        help="training epochs to spend (default: 300)",
        metavar="N",
    )
    tune.add_argument(
        "--budget-trials", type=_positive_int, default=None, help="trials to run", metavar="N"
    )
    tune.add_argument(
        "--budget-seconds",
        type=_positive_float,
        default=None,
        help="wall-clock seconds",
        metavar="S",
    )
    tune.add_argument(
        "--seed", type=int, default=0, help="seed of the strategy and the trials", metavar="N"
    )
    tune.add_argument(
        "--storage",
        default=None,
        metavar="FILE",
        help="SQLite file keeping every trial; rerun to resume",
    )
    tune.add_argument(
        "--study-name",
        default=None,
        metavar="NAME",
        help="the study's name in the store (default: STRATEGY-seedSEED)",
    )
    tune.add_argument(
        "--log-dir",
        default=None,
        metavar="DIR",
        help="write TensorBoard logs under DIR/STUDY (HParams: every trial's parameters, "
        "losses and status; per-epoch curves); view with `tensorboard --logdir DIR`",
    )
    tune.add_argument(
        "--subsample",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on N rows of the training split (validation and test N//3) for a quick run",
    )
    tune.add_argument(
        "--max-epochs", type=_positive_int, default=100, help="epochs a trial at most", metavar="N"
    )
    tune.add_argument(
        "--patience", type=_positive_int, default=10, help="early-stopping patience", metavar="N"
    )
    tune.add_argument(
        "--option",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy option (repeatable); VALUE is read as JSON when it parses",
    )
    tune.add_argument(
        "--pruner",
        default="none",
        metavar="NAME",
        help="stop trials whose validation loss after an epoch is bad: none (default), "
        "median, asha, hyperband (Optuna's pruners)",
    )
    tune.add_argument(
        "--pruner-option",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a pruner option (repeatable), e.g. reduction_factor=3",
    )
    _executor_flags(tune)

    show = command(
        "show",
        "list a store's studies, or one study's trials and their errors",
        "Without --study: one line per study of the store (strategy, seed, trials, epochs, "
        "best loss, why it stopped). With --study NAME (or when the store holds one study): "
        "that study's trials (id, status, loss, epochs, parameters, first line of the error).",
    )
    show.add_argument("store", metavar="STORE", help="a SQLite store written by tune or bench")
    show.add_argument("--study", default=None, metavar="NAME", help="the study to list")

    command("problems", "list the registered benchmark problems")

    bench = command(
        "bench",
        "run every strategy on a problem (the book task) over paired seeds, write the report",
        "The benchmark (tunebench.bench): every strategy x every seed under one "
        "epoch budget, a store per problem; rerun the same command to resume. With no "
        "--problems, --seeds, --budget-epochs, --subsample, --max-epochs or --patience it runs "
        "the quick protocol `make bench` runs (tunebench.bench.QUICK_PROTOCOL: the book task "
        "sliced to 20-epoch trials, and the synthetic fidelity problems); --full runs the "
        "publication protocol, the whole suite (FULL_PROTOCOL; --full --problems A,B runs "
        "part of it). Otherwise it runs the named problems (default: the book task) with "
        "those flags. A run made differently (other --budget-epochs, --subsample, ...) needs "
        "its own --out.",
    )
    bench.add_argument(
        "--problems",
        default=None,
        metavar="A,B",
        help="comma-separated problems: names from `tunebench problems` or your own as "
        "package.module:attribute (a tunebench.problems.Problem; the current folder is "
        "importable). Several problems get a store and report each, in OUT/PROBLEM/ "
        "(default: california_housing, the book task)",
    )
    bench.add_argument(
        "--strategies",
        default=None,
        metavar="A,B,C",
        help="comma-separated names, NAME+PRUNER for one under a pruner (default: every "
        "registered strategy; --full adds tpe+asha)",
    )
    bench.add_argument(
        "--seeds",
        type=_seeds,
        default=None,
        metavar="N|A,B,C",
        help="N seeds (0 to N-1) or a comma-separated list (default: 3)",
    )
    bench.add_argument(
        "--budget-epochs",
        type=_positive_int,
        default=None,
        help="epoch budget of every run (default: each problem's own; the book's: 1000)",
        metavar="N",
    )
    bench.add_argument(
        "--full",
        action="store_true",
        help="the publication protocol: every problem of the suite with its own budget, 10 "
        "paired seeds on each real problem (more on the synthetic ones), full data",
    )
    bench.add_argument(
        "--subsample",
        type=_positive_int,
        default=None,
        metavar="N",
        help="train on N rows (validation and test N//3) for a quick trial of the benchmark; "
        "like --max-epochs and --patience, it goes to each problem whose objective factory "
        "takes it (the book's takes all three) and is refused when none does",
    )
    bench.add_argument(
        "--max-epochs",
        type=_positive_int,
        default=None,
        help="epochs a trial at most (default: the problem's; the book's: 100)",
        metavar="N",
    )
    bench.add_argument(
        "--patience",
        type=_positive_int,
        default=None,
        help="early-stopping patience (default: the problem's; the book's: 10)",
        metavar="N",
    )
    bench.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="report folder (default: bench-report, --full: bench-report-full)",
    )
    bench.add_argument(
        "--storage",
        default=None,
        metavar="FILE",
        help="the store (default: OUT/runs.db; with several problems OUT/PROBLEM/runs.db each)",
    )
    bench.add_argument(
        "--pruner",
        default="none",
        metavar="NAME",
        help="run every strategy under this pruner (median, asha, hyperband), reported as "
        "STRATEGY+PRUNER; or name such pairs in --strategies (e.g. tpe,tpe+asha)",
    )
    bench.add_argument(
        "--pruner-option",
        type=_option,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an option of the pruner of every strategy run under one (repeatable), e.g. "
        "reduction_factor=3; kept with the runs (other options need their own --out)",
    )
    bench.add_argument(
        "--jobs",
        type=_positive_int,
        default=1,
        metavar="N",
        help="runs at a time, each in a worker process with its trials inline: the same "
        "results as one at a time, about N times sooner on N cores (default 1; not with "
        "--executor processes or ray)",
    )
    _executor_flags(bench)

    report = command(
        "report",
        "write the comparison report of a benchmark store",
        "Write the comparison report of every study in a benchmark store. Files written "
        "into DIR:\n"
        "  report.md            the report (Markdown)\n"
        "  report.html          the same, self-contained (figures embedded)\n"
        "  anytime_epochs.png   best validation loss against epochs spent\n"
        "  anytime_seconds.png  ... against wall-clock seconds\n"
        "  final_mse.png        each run's final validation and test loss\n"
        "  trials.csv           every trial of every run",
    )
    report.add_argument("store", metavar="STORE", help="the SQLite store of a benchmark")
    report.add_argument(
        "-o",
        "--out",
        default=None,
        metavar="DIR",
        help="report folder (default: the store's folder)",
    )

    lr_find = command(
        "lr-find", "the learning-rate range test on the book task: suggest a rate, plot it"
    )
    lr_find.add_argument(
        "--subsample",
        type=_positive_int,
        default=None,
        metavar="N",
        help="use N rows of the training split for a quick run",
    )
    lr_find.add_argument(
        "--steps", type=_positive_int, default=500, help="training steps at most", metavar="N"
    )
    lr_find.add_argument(
        "--min-lr", type=float, default=1e-5, help="the first learning rate", metavar="RATE"
    )
    lr_find.add_argument(
        "--max-lr", type=float, default=10.0, help="the rate of the last step", metavar="RATE"
    )
    lr_find.add_argument(
        "--batch-size", type=_positive_int, default=32, help="rows a step", metavar="N"
    )
    lr_find.add_argument(
        "--n-hidden",
        type=_natural_int,
        default=1,
        help="hidden layers of the book's MLP",
        metavar="N",
    )
    lr_find.add_argument(
        "--n-neurons", type=_positive_int, default=30, help="units a hidden layer", metavar="N"
    )
    lr_find.add_argument(
        "--seed", type=int, default=0, help="seed of the weights and shuffling", metavar="N"
    )
    lr_find.add_argument(
        "--plot", default="lr-find.png", metavar="PATH", help="where to write the loss-vs-rate plot"
    )
    return parser


def _executor_flags(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--executor", default="inline", choices=EXECUTORS, help="where trials run")
    sub.add_argument(
        "--workers",
        type=_positive_int,
        default=None,
        help="trials at once (default: one per CPU)",
        metavar="N",
    )
    sub.add_argument(
        "--address", default=None, help="Ray cluster address (--executor ray)", metavar="ADDRESS"
    )
    sub.add_argument("--no-progress", action="store_true", help="no live progress display")


def _positive_int(text: str) -> int:
    """A whole number above 0, or argparse's one-line error."""
    value = _natural_int(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"must be a whole number above 0, got {text!r}")
    return value


def _natural_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text!r}")
    return value


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


def _budget_flags(args: argparse.Namespace) -> str:
    """The budget as the flags that asked for it, e.g. ``--budget-epochs 300``."""
    flags = [
        f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}"
        for flag, value in (
            ("--budget-epochs", args.budget_epochs),
            ("--budget-trials", args.budget_trials),
            ("--budget-seconds", args.budget_seconds),
        )
        if value is not None
    ]
    return " ".join(flags)


def _strategy_options(args: argparse.Namespace) -> dict[str, Any]:
    """The --option values, checked against the strategy before any data is loaded."""
    from .models import book_space
    from .strategy import get_strategy, strategy_class

    strategy_class(args.strategy)  # an unknown name fails here
    options = dict(args.option)
    try:
        check = fidelity_options(args.strategy, options, args.max_epochs)
    except MaxEpochsError as exc:
        raise ValueError(
            f"--option max_epochs={exc.wanted} asks {args.strategy} for trials longer than "
            f"--max-epochs {exc.limit}, the most a trial may train: lower the option, "
            f"or pass --max-epochs {exc.wanted}"
        ) from None
    try:
        get_strategy(args.strategy, book_space(), seed=args.seed, **check)
    except TypeError as exc:  # an unknown or ill-typed --option: the user's to fix
        raise ValueError(f"--option: {exc}") from exc
    return options


class _Reports:
    """What ``pruner_for`` needs of the book's objective before its data are loaded."""

    reports_intermediate = True

    def __init__(self, max_epochs: int) -> None:
        self.max_epochs = max_epochs


def _check_pruner_flags(
    args: argparse.Namespace, options: dict[str, Any], pruner_options: dict[str, Any]
) -> None:
    """--pruner and --pruner-option, checked before any data is loaded."""
    from .runner import pruner_for

    try:
        pruner_for(args.strategy, options, args.pruner, pruner_options, _Reports(args.max_epochs))
    except TypeError as exc:
        raise ValueError(f"--pruner-option: {exc}") from exc


def _tune(args: argparse.Namespace) -> int:
    from .budget import Budget
    from .models import book_space, build_mlp
    from .objective import KerasObjective
    from .runner import tune
    from .tasks import california_housing

    options = _strategy_options(args)
    pruner_options = dict(args.pruner_option)
    _check_pruner_flags(args, options, pruner_options)
    if args.budget_epochs is None and args.budget_trials is None and args.budget_seconds is None:
        args.budget_epochs = 300
    budget = Budget(
        epochs=args.budget_epochs, trials=args.budget_trials, seconds=args.budget_seconds
    )
    task = california_housing()
    if args.subsample is not None:
        task = task.subsample(args.subsample)
    objective = KerasObjective(build_mlp, task, max_epochs=args.max_epochs, patience=args.patience)
    name = args.study_name or f"{args.strategy}-seed{args.seed}"
    print(
        f"tuning the book task ({task.sizes['train']} training rows) with --strategy "
        f"{args.strategy} {_budget_flags(args)} --seed {args.seed}"
        + (f", keeping every trial in {args.storage}" if args.storage else ""),
        file=sys.stderr,
    )
    try:
        study = tune(
            objective,
            book_space(),
            strategy=args.strategy,
            budget=budget,
            seed=args.seed,
            strategy_options=options,
            storage=args.storage,
            study_name=name,
            progress=not args.no_progress,
            executor=args.executor,
            workers=args.workers,
            address=args.address,
            log_dir=args.log_dir,
            pruner=args.pruner,
            pruner_options=pruner_options,
        )
    except KeyboardInterrupt:
        resume = " Rerun the same command to resume." if args.storage else ""
        print(f"\ninterrupted; finished trials are kept.{resume}", file=sys.stderr)
        return 130
    if args.storage:
        hint = f"`tunebench show {args.storage} --study {name}` lists their errors"
    else:
        hint = "their errors:"
    print(study.summary(errors_hint=hint))
    if not args.storage:
        errors = dict.fromkeys(_first_line(t.error) for t in study.trials if t.error)
        for error in list(errors)[:3]:
            print(f"  {error}")
    elif study.trials:
        print(f"every trial: tunebench show {args.storage} --study {name}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from .store import Store

    if not Path(args.store).is_file():
        raise FileNotFoundError(f"no store at {args.store!r}")
    with Store(args.store) as store:
        names = store.study_names()
        if args.study is not None and args.study not in names:
            raise ValueError(
                f"no study named {args.study!r} in {args.store}; its studies: "
                f"{', '.join(names) or 'none'}"
            )
        name = args.study if args.study is not None else (names[0] if len(names) == 1 else None)
        studies = [store.load_study(n) for n in ([name] if name else names)]
    console = Console(highlight=False)
    if name is None:
        table = Table(
            "study",
            "strategy",
            "seed",
            "trials",
            "epochs",
            "best loss",
            "stopped",
            box=None,
            title=f"{args.store}: {len(studies)} studies",
            title_justify="left",
        )
        for study in studies:
            table.add_row(
                study.name,
                study.strategy,
                str(study.seed),
                str(len(study.finished_trials)),
                str(study.epochs_spent),
                loss_text(study.best_loss),
                study.stop_reason or "-",
            )
        console.print(table)
        if studies:
            console.print(f"one study's trials: tunebench show {args.store} --study NAME")
        return 0
    study = studies[0]
    print(study.summary(errors_hint="the error column below says why"), flush=True)
    params = (
        list(study.space)
        if study.space is not None
        else sorted({k for t in study.trials for k in t.params})
    )
    errors = [_first_line(trial.error) for trial in study.trials]
    table = Table("id", "status", "loss", "epochs", *params, box=None)
    if any(errors):
        table.add_column("error", overflow="ellipsis", no_wrap=True)
    for trial, error in zip(study.trials, errors, strict=True):
        cells = [str(trial.id), trial.status, loss_text(trial.loss), str(trial.epochs_run)]
        cells += [_value_text(trial.params.get(p)) for p in params]
        table.add_row(*cells, *([error] if any(errors) else []))
    console.print(table)
    return 0


def _first_line(error: str | None) -> str:
    lines = (error or "").strip().splitlines()
    return lines[0] if lines else ""


def _value_text(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


def _bench(args: argparse.Namespace) -> int:
    from . import bench
    from .options import InvalidOptionError

    run_flags = {
        "--seeds": args.seeds,
        "--budget-epochs": args.budget_epochs,
        "--subsample": args.subsample,
        "--max-epochs": args.max_epochs,
        "--patience": args.patience,
        "--storage": args.storage,
    }
    given = [flag for flag, value in run_flags.items() if value is not None]
    common = {
        "executor": args.executor,
        "workers": args.workers,
        "address": args.address,
        "jobs": args.jobs,
        "progress": False if args.no_progress else None,  # None: live on a terminal
        "pruner": args.pruner,
        "pruner_options": dict(args.pruner_option),
    }
    try:
        if args.full or (args.problems is None and not given):
            # A protocol: each problem with its own seeds, budget and settings.
            if given:
                raise ValueError(
                    f"--full is the fixed publication protocol (`tunebench bench --help`); "
                    f"drop {', '.join(given)} or drop --full"
                )
            plans = bench.FULL_PROTOCOL if args.full else bench.QUICK_PROTOCOL
            if args.problems is not None:
                plans = _protocol_slice(plans, args.problems)
            strategies = args.strategies
            if args.full and strategies is None and args.pruner in (None, "none"):
                strategies = bench.full_protocol_strategies()
            bench.run_protocol(
                plans,
                strategies,
                out_dir=args.out or ("bench-report-full" if args.full else "bench-report"),
                **common,
            )
        else:
            bench.run_benchmark(
                args.strategies,
                bench.DEFAULT_SEEDS if args.seeds is None else args.seeds,
                args.budget_epochs,  # None: each problem's own
                storage=args.storage,  # None: OUT/runs.db (a problem's folder's, for several)
                out_dir=args.out or "bench-report",
                subsample=args.subsample,
                problems=args.problems,
                max_epochs=args.max_epochs,
                patience=args.patience,
                **common,
            )
    except InvalidOptionError as exc:  # only the pruner options are options here
        raise ValueError(f"--pruner-option: {exc}") from exc
    except KeyboardInterrupt:
        print(
            "\ninterrupted; finished runs and trials are kept. Rerun the same command to resume.",
            file=sys.stderr,
        )
        return 130
    return 0


def _protocol_slice(plans: Any, problems: str) -> list[Any]:
    """The plans of a protocol for the named problems only (``--full --problems A,B``)."""
    wanted = list(dict.fromkeys(name.strip() for name in problems.split(",") if name.strip()))
    by_name = {p.name: p for p in plans}
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise ValueError(
            f"--full --problems: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not in the full protocol, whose problems "
            f"are {', '.join(by_name)}; run {'it' if len(missing) == 1 else 'them'} without "
            "--full (with --seeds and --budget-epochs)"
        )
    return [by_name[name] for name in wanted]


def _problems() -> int:
    from .problems import available_problems, get_problem

    for name in available_problems():
        problem = get_problem(name)
        print(f"{name:20s} {len(problem.space)} parameters, loss {problem.loss_name}")
    print("your own: tunebench bench --problems package.module:attribute (a Problem)")
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


# A mistake in the command line or its files, or a situation the user must resolve (a study
# another process runs, workers that cannot start, a backend upgrade that moved a private API):
# one line, exit status 2. ``UnknownStrategyError`` is a ValueError. Every other exception is a
# bug (of tunebench or of a library it calls).
USER_ERRORS = (
    ValueError,
    FileNotFoundError,
    NotADirectoryError,
    sqlite3.DatabaseError,
    StudyBusyError,
    WorkerStartError,
    ResumeMismatchError,
    PrivateAPIChanged,
)


def _notices_as_lines() -> None:
    """Show a ``StudyNotice`` (a study extended, a warm start's skipped trials) as one
    ``tunebench: ...`` line on stderr, not as a Python warning with its source line."""
    from .warm_start import StudyNotice

    shown = warnings.showwarning

    def show(message: Any, category: type, *args: Any, **kwargs: Any) -> None:
        if issubclass(category, StudyNotice):
            print(f"tunebench: {message}", file=sys.stderr)
        else:
            shown(message, category, *args, **kwargs)

    warnings.showwarning = show


def main(argv: Sequence[str] | None = None) -> int:
    from ._quiet import quiet_tensorflow

    quiet_tensorflow()  # before anything imports TensorFlow
    parser = _build_parser()
    args = parser.parse_args(argv)
    with warnings.catch_warnings():  # the notices' display is put back on return
        _notices_as_lines()
        return _run_command(args)


def _run_command(args: argparse.Namespace) -> int:
    commands = {
        "tune": _tune,
        "show": _show,
        "bench": _bench,
        "report": _report,
        "lr-find": _lr_find,
    }
    try:
        if args.command == "strategies":
            return _strategies(args.verbose)
        if args.command == "problems":
            return _problems()
        return commands[args.command](args)
    except USER_ERRORS as exc:
        if args.debug:
            raise
        print(f"tunebench: error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"tunebench: internal error: {type(exc).__name__}: {exc}\n"
            "This is a bug; run again with --debug for the traceback (and report it).",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
