"""tunebench against the tools a user would pick instead, on the book problem, one machine.

Every row searches the book's MLP on California housing (the book's splits, ``build_mlp``,
``n_hidden`` 0-3, ``n_neurons`` 1-99, log-uniform ``learning_rate`` in [3e-4, 3e-2]), with
the book's per-trial rules (at most 100 epochs, early stopping with patience 10 and the best
weights restored, batch 32) and the same budget of training epochs, in each tool's own loop
written the way its documentation writes it:

- ``keras-tuner-hyperband`` / ``keras-tuner-random``: ``keras_tuner.Hyperband`` (max_epochs
  100, factor 3) / ``RandomSearch`` over ``build_model(hp)``, ``tuner.search`` (``model.fit``);
- ``optuna-tpe``: ``study.optimize`` with ``TPESampler``, the objective calling ``model.fit``;
  ``optuna-tpe-median-pruner``: the same with ``MedianPruner`` fed by ``trial.report`` /
  ``trial.should_prune`` from a Keras callback, as Optuna's Keras examples do;
- ``sklearn-randomized-search``: the book's flow, ``RandomizedSearchCV`` (cv=3) over a scikeras
  ``KerasRegressor``, then the best parameters retrained on the whole training split;
- ``ray-tune-hyperopt-asha``: Ray Tune's ``Tuner`` with ``HyperOptSearch`` and the ASHA
  scheduler, two trials at a time, each calling ``model.fit`` and reporting every epoch;
- ``tunebench-*``: ``tunebench.tune`` with a strategy by name, on its fast training path,
  inline or with 2 worker processes, unpruned, pruning by itself (``bohb``) or under
  ``pruner="asha"``.

How each row's budget is enforced (every row counts the epochs it actually ran):

- the Keras-fit rows count epochs in one callback (``EpochMeter``). Once the budget is spent
  the running ``fit`` stops at the end of its epoch, and a trial that would start raises
  ``BudgetSpent`` (Keras Tuner: a ``FatalError``, which ends ``tuner.search``; Optuna: the
  objective calls ``study.stop()``);
- scikit-learn: the search gets the budget less ``REFIT_SHARE`` of it (``n_iter`` large enough to
  spend it: every fit runs at least patience + 1 epochs); the retraining of the best
  parameters gets what is left, cut at the budget;
- Ray Tune: a ``Stopper`` counts the reported epochs of all trials and stops them all at the
  budget; epochs already running in the other trial are counted too (at most 1 over);
- tunebench: ``Budget(epochs=...)``, which clips the last trial to what is left.

Measured per run, each run in its own fresh Python process (imports and data loading are
not timed; starting Ray or a worker pool is): wall seconds and epochs until the incumbent's
validation MSE first reaches (a) the book's 0.320 and (b) within 2 % of the best validation
MSE any run found; the final incumbent's validation and test MSE; the epochs trained; the peak
resident memory of the process, and for a row that starts processes (worker pools, Ray's raylet,
GCS and workers) the peak of their summed resident memory, sampled every 0.5 s with psutil.
The incumbent changes when a trial ends (for every row), never in the middle of a trial; the
scikit-learn row has one incumbent, at its end.

    python benchmarks/peers.py            # 5 seeds x 50 epochs: 55 minutes on 2 cores
    python benchmarks/peers.py --quick    # 1 seed x 45 epochs: about 8 minutes
    python benchmarks/peers.py --rows optuna-tpe,tunebench-tpe --seeds 3 --budget 300

Runs are appended to ``OUT/runs.jsonl`` as they finish (rerun to resume; a run with other
settings is never mixed in), and the comparison is written to ``OUT/report.md``. A tool that
is not installed is skipped with a one-line notice.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: The book's per-trial rules, the same for every row.
MAX_EPOCHS = 100
PATIENCE = 10
BATCH_SIZE = 32
#: The book's RandomizedSearchCV: cross-validation MSE 0.320 (target a).
BOOK_VALIDATION_MSE = 0.320
#: Target b: within this fraction of the best validation MSE any run found.
NEAR_BEST = 0.02
#: The share of the budget the scikit-learn row keeps for retraining its best parameters.
REFIT_SHARE = 0.25

DEFAULT_OUT = Path(__file__).parent / "results" / "peers"


class BudgetSpent(Exception):
    """The run's epoch budget is spent: no trial may start."""


@dataclass
class RunResult:
    """One (row, seed) run: its incumbent trace and what it cost."""

    row: str
    seed: int
    budget: int
    seconds: float
    epochs: int
    validation: float | None  # the final incumbent's validation MSE
    test: float | None  # ... and its test MSE
    trace: list[tuple[float, int, float]]  # (seconds, epochs, incumbent validation MSE)
    peak_mib: float | None  # this process's peak resident memory
    workers_peak_mib: float | None = None  # its descendant processes' peak, when it had any
    trials: int = 0
    note: str = ""


@dataclass
class Incumbent:
    """The best trial so far of a run, updated when a trial ends."""

    start: float = field(default_factory=time.perf_counter)
    epochs: int = 0
    validation: float = math.inf
    test: float | None = None
    trials: int = 0
    trace: list[tuple[float, int, float]] = field(default_factory=list)

    def trial_ended(
        self, validation: float | None, test: float | None, at: float | None = None
    ) -> None:
        """A trial ended (``at`` seconds into the run; default now) with this validation
        and test MSE (the test MSE is needed only when the validation MSE is a new best)."""
        self.trials += 1
        if validation is not None and math.isfinite(validation) and validation < self.validation:
            self.validation, self.test = float(validation), test
            at = time.perf_counter() - self.start if at is None else at
            self.trace.append((at, self.epochs, self.validation))


# ---- the book's problem, as each tool sees it ---------------------------------------------


def load_task() -> Any:
    from tunebench.tasks import california_housing

    return california_housing()


def test_mse(model: Any, task: Any) -> float:
    import numpy as np

    predictions = np.asarray(model(task.X_test, training=False)).ravel()
    return float(np.mean((predictions - np.asarray(task.y_test).ravel()) ** 2))


def early_stopping() -> Any:
    import keras

    return keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)


#: The run's counters, module-level so that Keras Tuner's deep copies of the callbacks share
#: them (it copies every callback for every trial).
METER: dict[str, Any] = {}


def epoch_meter(
    task: Any,
    budget: int,
    incumbent: Incumbent,
    record: bool = True,
    spent: type[Exception] = BudgetSpent,
) -> Any:
    """A Keras callback that counts every epoch, stops at the budget (a trial that would
    start raises ``spent``) and, when a trial's training ends (after early stopping restored
    its best weights), tells ``incumbent`` (unless ``record`` is false)."""
    import keras

    METER.update(task=task, budget=budget, incumbent=incumbent, record=record, spent=spent)

    class EpochMeter(keras.callbacks.Callback):
        def on_train_begin(self, logs: Any = None) -> None:
            self.best = math.inf
            if METER["incumbent"].epochs >= METER["budget"]:
                raise METER["spent"](f"{METER['budget']} epochs spent")

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            METER["incumbent"].epochs += 1
            value = (logs or {}).get("val_loss")
            if value is not None and value < self.best:
                self.best = float(value)
            if METER["incumbent"].epochs >= METER["budget"]:
                self.model.stop_training = True

        def on_train_end(self, logs: Any = None) -> None:
            if not METER["record"]:  # a fit whose result is not an incumbent candidate
                METER["incumbent"].trials += 1
                return
            better = self.best < METER["incumbent"].validation
            test = test_mse(self.model, METER["task"]) if better else None
            METER["incumbent"].trial_ended(self.best, test)

    return EpochMeter()


def build_model(hp: Any) -> Any:
    """The book's model, its space declared the Keras Tuner way."""
    from tunebench.models import build_mlp

    return build_mlp(
        n_hidden=hp.Int("n_hidden", 0, 3),
        n_neurons=hp.Int("n_neurons", 1, 99),
        learning_rate=hp.Float("learning_rate", 3e-4, 3e-2, sampling="log"),
    )


def fit_kwargs(task: Any, *callbacks: Any) -> dict[str, Any]:
    return {
        "epochs": MAX_EPOCHS,
        "batch_size": BATCH_SIZE,
        "validation_data": (task.X_valid, task.y_valid),
        "callbacks": [early_stopping(), *callbacks],
        "verbose": 0,
    }


# ---- the rows -----------------------------------------------------------------------------


def keras_tuner_row(kind: str) -> Callable[[int, int, Any], Incumbent]:
    def run(seed: int, budget: int, task: Any) -> Incumbent:
        import keras_tuner

        class Spent(keras_tuner.errors.FatalError):
            """The budget is spent: the one error that ends ``tuner.search``."""

        incumbent = Incumbent()
        meter = epoch_meter(task, budget, incumbent, spent=Spent)
        with tempfile.TemporaryDirectory() as directory:
            common = {
                "objective": "val_loss",
                "seed": seed,
                "directory": directory,
                "project_name": kind,
                "overwrite": True,
            }
            if kind == "hyperband":
                tuner = keras_tuner.Hyperband(
                    build_model, max_epochs=MAX_EPOCHS, factor=3, **common
                )
            else:
                tuner = keras_tuner.RandomSearch(build_model, max_trials=100_000, **common)
            with contextlib.suppress(Spent):
                tuner.search(task.X_train, task.y_train, **fit_kwargs(task, meter))
        return incumbent

    return run


def optuna_row(pruned: bool) -> Callable[[int, int, Any], Incumbent]:
    def run(seed: int, budget: int, task: Any) -> Incumbent:
        import keras
        import optuna

        from tunebench.models import build_mlp

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        incumbent = Incumbent()
        meter = epoch_meter(task, budget, incumbent)

        class Pruning(keras.callbacks.Callback):
            def __init__(self, trial: optuna.Trial) -> None:
                super().__init__()
                self.trial = trial

            def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
                self.trial.report(float(logs["val_loss"]), epoch)
                if self.trial.should_prune():
                    raise optuna.TrialPruned()

        def objective(trial: optuna.Trial) -> float:
            model = build_mlp(
                n_hidden=trial.suggest_int("n_hidden", 0, 3),
                n_neurons=trial.suggest_int("n_neurons", 1, 99),
                learning_rate=trial.suggest_float("learning_rate", 3e-4, 3e-2, log=True),
            )
            extra = [Pruning(trial)] if pruned else []
            try:
                history = model.fit(task.X_train, task.y_train, **fit_kwargs(task, meter, *extra))
            except BudgetSpent:
                trial.study.stop()
                raise optuna.TrialPruned() from None
            return min(history.history["val_loss"])

        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=optuna.pruners.MedianPruner() if pruned else optuna.pruners.NopPruner(),
        )
        study.optimize(objective, catch=(ValueError,))
        return incumbent

    return run


def sklearn_row(seed: int, budget: int, task: Any) -> Incumbent:
    import numpy as np
    from scikeras.wrappers import KerasRegressor
    from scipy.stats import loguniform
    from sklearn.base import clone
    from sklearn.model_selection import RandomizedSearchCV

    from tunebench.models import build_mlp

    incumbent = Incumbent()
    search_budget = budget - round(budget * REFIT_SHARE)
    meter = epoch_meter(task, search_budget, incumbent, record=False)
    # scikeras takes callbacks as an estimator parameter (it drops a `callbacks=` of fit())
    fit_args = fit_kwargs(task, meter)
    regressor = KerasRegressor(
        build_mlp,
        n_hidden=1,
        n_neurons=30,
        learning_rate=3e-3,
        callbacks=fit_args.pop("callbacks"),
        verbose=0,
        random_state=seed,
    )
    param_distribs = {
        "n_hidden": [0, 1, 2, 3],
        "n_neurons": np.arange(1, 100).tolist(),
        "learning_rate": loguniform(3e-4, 3e-2),
    }
    # every fit runs at least PATIENCE + 1 epochs: this many candidates spend the budget
    n_iter = search_budget // (3 * (PATIENCE + 1)) + 2
    search = RandomizedSearchCV(
        regressor,
        param_distribs,
        n_iter=n_iter,
        cv=3,
        random_state=seed,
        refit=False,
        error_score=np.nan,
    )
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the fits refused once the budget is spent
        search.fit(task.X_train, task.y_train, **fit_args)
    # the book's refit=True, written out so that it gets the rest of the budget
    METER.update(budget=budget, record=True)
    best = clone(regressor).set_params(**search.best_params_)
    best.fit(task.X_train, task.y_train, **fit_args)
    return incumbent


def ray_trainable(config: dict[str, Any], task: Any) -> None:
    """One Ray Tune trial: the book's model trained with ``model.fit``, reporting each epoch."""
    import keras
    from ray import tune

    from tunebench.models import build_mlp

    class Report(keras.callbacks.Callback):
        best = float("inf")  # (a class body's globals do not reach a Ray worker)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            value = float(logs["val_loss"])
            metrics = {"val_loss": value}
            if value < self.best:  # these weights are the ones early stopping would restore
                self.best = value
                metrics["test_mse"] = test_mse(self.model, task)
            tune.report(metrics)

    model = build_mlp(**config)
    model.fit(task.X_train, task.y_train, **fit_kwargs(task, Report()))


def ray_tune_row(seed: int, budget: int, task: Any) -> Incumbent:
    import ray
    from ray import tune
    from ray.tune.schedulers import ASHAScheduler
    from ray.tune.search.hyperopt import HyperOptSearch
    from ray.tune.stopper import Stopper

    incumbent = Incumbent()
    per_trial: dict[str, tuple[float, float | None]] = {}

    class EpochBudget(Stopper):
        def __call__(self, trial_id: str, result: dict[str, Any]) -> bool:
            incumbent.epochs += 1
            best, test = per_trial.get(trial_id, (math.inf, None))
            if result["val_loss"] < best:
                per_trial[trial_id] = (result["val_loss"], result.get("test_mse", test))
            return False

        def stop_all(self) -> bool:
            return incumbent.epochs >= budget

    ended: set[str] = set()

    class TrialEnded(tune.Callback):
        def on_trial_complete(self, iteration: int, trials: Any, trial: Any, **info: Any) -> None:
            ended.add(trial.trial_id)
            incumbent.trial_ended(*per_trial.get(trial.trial_id, (None, None)))

    ray.init(  # a Ray of its own: address=None would join any cluster running on the machine
        address="local",
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        with tempfile.TemporaryDirectory() as directory:
            tuner = tune.Tuner(
                tune.with_parameters(ray_trainable, task=task),
                param_space={
                    "n_hidden": tune.randint(0, 4),
                    "n_neurons": tune.randint(1, 100),
                    "learning_rate": tune.loguniform(3e-4, 3e-2),
                },
                tune_config=tune.TuneConfig(
                    metric="val_loss",
                    mode="min",
                    search_alg=HyperOptSearch(random_state_seed=seed),
                    scheduler=ASHAScheduler(max_t=MAX_EPOCHS, grace_period=1, reduction_factor=3),
                    num_samples=-1,
                    max_concurrent_trials=2,
                ),
                run_config=tune.RunConfig(
                    stop=EpochBudget(),
                    callbacks=[TrialEnded()],
                    storage_path=directory,
                    failure_config=tune.FailureConfig(fail_fast=True),
                    verbose=0,
                ),
            )
            tuner.fit()
        for trial_id in per_trial.keys() - ended:  # stopped with all others at the budget
            incumbent.trial_ended(*per_trial[trial_id])
    finally:
        ray.shutdown()
    return incumbent


def tunebench_row(
    strategy: str, executor: str = "inline", pruner: str = "none"
) -> Callable[[int, int, Any], Incumbent]:
    def run(seed: int, budget: int, task: Any) -> Incumbent:
        from tunebench import Budget, tune
        from tunebench.suite import california_housing

        incumbent = Incumbent()
        began = time.time()
        study = tune(
            california_housing.make_objective(),
            california_housing.space,
            strategy=strategy,
            budget=Budget(epochs=budget),
            seed=seed,
            executor=executor,
            workers=2 if executor == "processes" else None,
            pruner=pruner,
            progress=False,
        )
        trials = sorted((t for t in study.trials if t.finished), key=lambda t: t.finished)
        for trial in trials:  # replayed in the order they finished, at the time they did
            incumbent.epochs += trial.epochs_run
            incumbent.trial_ended(trial.loss, trial.test_loss, at=trial.finished - began)
        return incumbent

    return run


ROWS: dict[str, tuple[str, Callable[[int, int, Any], Incumbent]]] = {
    # name: (the module it needs, the run)
    "keras-tuner-hyperband": ("keras_tuner", keras_tuner_row("hyperband")),
    "keras-tuner-random": ("keras_tuner", keras_tuner_row("random")),
    "optuna-tpe": ("optuna", optuna_row(pruned=False)),
    "optuna-tpe-median-pruner": ("optuna", optuna_row(pruned=True)),
    "sklearn-randomized-search": ("scikeras", sklearn_row),
    "ray-tune-hyperopt-asha": ("ray.tune", ray_tune_row),
    "tunebench-hyperband": ("tunebench", tunebench_row("hyperband")),
    "tunebench-tpe": ("tunebench", tunebench_row("tpe")),
    "tunebench-optuna-tpe-2-workers": ("tunebench", tunebench_row("optuna-tpe", "processes")),
    "tunebench-bohb": ("tunebench", tunebench_row("bohb")),
    "tunebench-tpe-asha": ("tunebench", tunebench_row("tpe", pruner="asha")),
}


# ---- one run, in its own process ----------------------------------------------------------


def _mib(kib: int) -> float:
    return kib / 1024  # ru_maxrss is in KiB on Linux


class DescendantsMemory:
    """The peak, over samples every ``interval`` seconds, of the summed resident memory of
    this process's descendants: worker pools, and Ray's raylet, GCS and workers (children
    of children). Shared pages count in each process, as ``top`` shows them. ``peak_mib``
    is None when the run started no process.

    >>> with DescendantsMemory() as memory:
    ...     pass
    >>> memory.peak_mib is None
    True
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval = interval
        self.peak_mib: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> DescendantsMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        import psutil

        me = psutil.Process()
        while True:
            total = 0
            for child in me.children(recursive=True):
                with contextlib.suppress(psutil.Error):  # ended between listing and reading
                    total += child.memory_info().rss
            if total:
                self.peak_mib = max(self.peak_mib or 0.0, total / 2**20)
            if self._stop.wait(self.interval):
                return


def run_one(row: str, seed: int, budget: int) -> RunResult:
    """Run ``row`` once in this process and measure it."""
    import keras  # noqa: F401  (imported before the clock starts, for every row)

    task = load_task()
    _, run = ROWS[row]
    with DescendantsMemory() as descendants:
        started = time.perf_counter()
        incumbent = run(seed, budget, task)
        seconds = time.perf_counter() - started
    if row == "sklearn-randomized-search":  # one incumbent: the retrained best, at the end
        incumbent.trace = [(seconds, incumbent.epochs, incumbent.validation)]
    return RunResult(
        row=row,
        seed=seed,
        budget=budget,
        seconds=seconds,
        epochs=incumbent.epochs,
        validation=incumbent.validation if math.isfinite(incumbent.validation) else None,
        test=incumbent.test,
        trace=incumbent.trace,
        peak_mib=_mib(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss),
        workers_peak_mib=descendants.peak_mib,
        trials=incumbent.trials,
    )


# ---- the comparison -----------------------------------------------------------------------


def reach(trace: list[tuple[float, int, float]], target: float) -> tuple[float, int] | None:
    """(seconds, epochs) at which the incumbent first reached ``target``; None if never."""
    for seconds, epochs, value in trace:
        if value <= target:
            return seconds, epochs
    return None


def median(values: list[float]) -> float | None:
    import numpy as np

    return float(np.median(values)) if values else None


def summarise(runs: list[RunResult]) -> tuple[list[dict[str, Any]], float]:
    """One line a row: medians over seeds (a run that never reached a target counts as
    never: the median is then 'never' when half the runs never did)."""
    best = min(r.validation for r in runs if r.validation is not None)
    near = best * (1 + NEAR_BEST)
    lines = []
    for row in ROWS:
        mine = [r for r in runs if r.row == row]
        if not mine:
            continue
        line: dict[str, Any] = {"row": row, "runs": len(mine)}
        for key, target in (("book", BOOK_VALIDATION_MSE), ("near", near)):
            reached = [reach(r.trace, target) for r in mine]
            seconds = sorted(math.inf if x is None else x[0] for x in reached)
            epochs = sorted(math.inf if x is None else x[1] for x in reached)
            line[f"{key}_reached"] = sum(x is not None for x in reached)
            line[f"{key}_seconds"] = median(seconds)
            line[f"{key}_epochs"] = median(epochs)
        line["validation"] = median([r.validation for r in mine if r.validation is not None])
        line["test"] = median([r.test for r in mine if r.test is not None])
        line["epochs"] = median([r.epochs for r in mine])
        line["seconds"] = median([r.seconds for r in mine])
        line["trials"] = median([r.trials for r in mine])
        line["peak_mib"] = median([r.peak_mib for r in mine if r.peak_mib])
        workers = [r.workers_peak_mib for r in mine if r.workers_peak_mib]
        line["workers_peak_mib"] = median(workers) if workers else None
        lines.append(line)
    return lines, best


def _fmt(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    if math.isinf(value):
        return "never"
    return f"{value:,.{digits}f}"


def _ratio(mine: float | None, theirs: float | None) -> str:
    if mine is None or theirs is None or math.isinf(mine) or math.isinf(theirs) or theirs == 0:
        return "–"
    return f"{mine / theirs:.2f}"


def write_report(lines: list[dict[str, Any]], best: float, settings: str, out: Path) -> str:
    from tunebench.report.document import Heading, Para, Table, render_markdown

    header = [
        "row",
        "runs",
        "s to 0.320",
        "epochs to 0.320",
        f"s to {best * (1 + NEAR_BEST):.4f}",
        "epochs to it",
        "validation MSE",
        "test MSE",
        "epochs trained",
        "trials",
        "wall s",
        "peak MiB (its processes)",
    ]
    rows = [
        [
            f"`{x['row']}`",
            str(x["runs"]),
            f"{_fmt(x['book_seconds'])} ({x['book_reached']}/{x['runs']})",
            _fmt(x["book_epochs"]),
            f"{_fmt(x['near_seconds'])} ({x['near_reached']}/{x['runs']})",
            _fmt(x["near_epochs"]),
            _fmt(x["validation"], 4),
            _fmt(x["test"], 4),
            _fmt(x["epochs"]),
            _fmt(x["trials"]),
            _fmt(x["seconds"]),
            _fmt(x["peak_mib"])
            + (f" ({_fmt(x['workers_peak_mib'])})" if x["workers_peak_mib"] else ""),
        ]
        for x in lines
    ]
    ours = [x for x in lines if x["row"].startswith("tunebench")]
    theirs = [x for x in lines if not x["row"].startswith("tunebench")]
    ratio_rows = [
        [
            f"`{a['row']}` / `{b['row']}`",
            _ratio(a["book_seconds"], b["book_seconds"]),
            _ratio(a["near_seconds"], b["near_seconds"]),
            _ratio(a["near_epochs"], b["near_epochs"]),
            _ratio(a["validation"], b["validation"]),
            _ratio(a["seconds"], b["seconds"]),
        ]
        for a in ours
        for b in theirs
    ]
    blocks = [
        Heading("tunebench against Keras Tuner, Optuna, scikit-learn and Ray Tune", 1),
        Para(settings),
        Para(
            f"Medians over seeds. A target: the book's validation MSE 0.320, and within "
            f"{NEAR_BEST:.0%} of the best validation MSE any run found ({best:.4f}); "
            "(k/n) runs reached it, and a median of runs that never did is *never*."
        ),
        Table(header, rows, "Every row under the same epoch budget."),
        Table(
            [
                "tunebench / peer",
                "s to 0.320",
                "s to near-best",
                "epochs to near-best",
                "validation MSE",
                "wall s",
            ],
            ratio_rows,
            "Ratios of the medians (below 1: tunebench needs less, or found lower).",
        ),
    ]
    text = render_markdown(blocks)
    (out / "report.md").write_text(text)
    return text


def available(module: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated (default all)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--budget", type=int, default=50, help="epochs a run (default 50)")
    parser.add_argument("--quick", action="store_true", help="1 seed x 45 epochs")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a child process: ROW,SEED,BUDGET
    args = parser.parse_args(argv)
    if args.one:
        row, seed, budget = args.one.split(",")
        print(json.dumps(asdict(run_one(row, int(seed), int(budget)))))
        return 0
    if args.quick:
        args.seeds, args.budget = 1, 45
    rows = [r.strip() for r in args.rows.split(",") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; choose from {', '.join(ROWS)}")
    refit = round(args.budget * REFIT_SHARE)
    if args.budget - refit < 3 * (PATIENCE + 1) and "sklearn-randomized-search" in rows:
        print(
            f"skipping sklearn-randomized-search: a budget of {args.budget} epochs leaves "
            f"no whole candidate (3 folds of at least {PATIENCE + 1} epochs) after {refit} "
            "for its refit"
        )
        rows.remove("sklearn-randomized-search")
    for row in list(rows):
        if not available(ROWS[row][0]):
            print(f"skipping {row}: {ROWS[row][0]} is not installed (pip install -e '.[dev]')")
            rows.remove(row)
    args.out.mkdir(parents=True, exist_ok=True)
    log = args.out / "runs.jsonl"
    done = (
        [RunResult(**json.loads(line)) for line in log.read_text().splitlines()]
        if log.exists()
        else []
    )
    done = [r for r in done if r.budget == args.budget]
    todo = [
        (row, seed)
        for seed in range(args.seeds)
        for row in rows
        if not any(r.row == row and r.seed == seed for r in done)
    ]
    print(
        f"peers: {len(rows)} rows x {args.seeds} seeds of {args.budget} epochs on the book "
        f"problem; {len(todo)} runs to do, each in a fresh process",
        flush=True,
    )
    for i, (row, seed) in enumerate(todo, 1):
        child = subprocess.run(
            [sys.executable, __file__, "--one", f"{row},{seed},{args.budget}"],
            capture_output=True,
            text=True,
        )
        if child.returncode != 0:
            print(f"[{i}/{len(todo)}] {row} seed {seed} FAILED:\n{child.stderr[-2000:]}")
            continue
        result = RunResult(**json.loads(child.stdout.strip().splitlines()[-1]))
        with log.open("a") as f:
            f.write(json.dumps(asdict(result)) + "\n")
        done.append(result)
        print(
            f"[{i}/{len(todo)}] {row} seed {seed}: validation MSE {_fmt(result.validation, 4)}, "
            f"{result.epochs} epochs, {result.trials} trials, {result.seconds:.0f} s",
            flush=True,
        )
    runs = [r for r in done if r.row in rows and r.seed < args.seeds]
    if not runs:
        return 1
    lines, best = summarise(runs)
    settings = (
        f"The book problem (California housing, 11,610 training rows), {args.budget} epochs a "
        f"run, seeds 0-{args.seeds - 1}, at most {MAX_EPOCHS} epochs a trial, patience "
        f"{PATIENCE}, batch {BATCH_SIZE}; `python benchmarks/peers.py "
        f"--seeds {args.seeds} --budget {args.budget}` on {os.cpu_count()} cores."
    )
    print(write_report(lines, best, settings, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
