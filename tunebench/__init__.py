"""tunebench: one objective, many hyperparameter search strategies, one fair benchmark.

>>> from tunebench import tune, Space, Float, Budget
>>> study = tune(lambda x: (x - 0.3) ** 2, Space(x=Float(0, 1)), strategy="random",
...              budget=Budget(trials=20), seed=0, progress=False)
>>> round(study.best_params["x"], 1), study.stop_reason
(0.3, 'trials')
"""

from .bench import run_benchmark
from .budget import Budget, Ledger
from .executors import WorkerStartError
from .hypermodel import HyperModelObjective
from .lr_finder import LRFindResult, lr_find
from .objective import FunctionObjective, KerasObjective, Objective
from .optuna_objective import OptunaObjective
from .report import write_report
from .runner import ResumeMismatchError, tune
from .space import Choice, Float, Int, Space
from .store import Store, StudyBusyError, StudyMismatchError, load_study
from .strategy import (
    Result,
    Strategy,
    Suggestion,
    available_strategies,
    get_strategy,
    register,
)
from .study import Study, Trial
from .warm_start import StudyNotice

__version__ = "0.1.0"

__all__ = [
    "Budget",
    "Choice",
    "Float",
    "FunctionObjective",
    "HyperModelObjective",
    "Int",
    "KerasObjective",
    "LRFindResult",
    "Ledger",
    "Objective",
    "OptunaObjective",
    "Result",
    "ResumeMismatchError",
    "Space",
    "Store",
    "Strategy",
    "Study",
    "StudyBusyError",
    "StudyMismatchError",
    "StudyNotice",
    "Suggestion",
    "Trial",
    "WorkerStartError",
    "available_strategies",
    "get_strategy",
    "load_study",
    "lr_find",
    "register",
    "run_benchmark",
    "tune",
    "write_report",
]
