"""Runs that never left their strategy's start-up phase: a model-based strategy (tpe, gp,
optuna-tpe, cmaes, evolution) suggests its first ``startup_trials`` trials at random, so a run
that finished no more trials than that is random search under another name.

Each run's start-up length comes from its study's stored strategy name and options
(``Strategy.startup_trials_for``), read without making the strategy. A strategy not
installed here is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .runs import Groups, Run

if TYPE_CHECKING:
    from ..strategy import Strategy

__all__ = ["StartupOnly", "run_startup", "startup_only"]


@dataclass(frozen=True)
class StartupOnly:
    """Runs of ``strategy`` that finished no more trials than its start-up phase holds.

    >>> StartupOnly("tpe", "n_startup_jobs", 10, 3, 3).sentence()
    "tpe: 3 of 3 runs finished ≤ 10 trials, its start-up of random suggestions; its results are random search's"
    """  # noqa: E501

    strategy: str
    option: str | None
    startup: int
    stuck: int
    runs: int

    @property
    def all_runs(self) -> bool:
        return self.stuck == self.runs

    def sentence(self) -> str:
        """What the report and the console say of it."""
        return (
            f"{self.strategy}: {self.stuck} of {self.runs} run{'s' if self.runs != 1 else ''} "
            f"finished ≤ {self.startup} trials, its start-up of random suggestions; "
            + (
                "its results are random search's"
                if self.all_runs
                else "its results mix random search's with its model's"
            )
        )


def _strategy_class(name: str) -> type[Strategy] | None:
    """The strategy class registered as ``name``, None when it is not installed here."""
    from ..pruning import split_label
    from ..strategy import strategy_class

    try:
        return strategy_class(split_label(name)[0])  # tpe+asha: tpe's start-up
    except (KeyError, TypeError, ImportError):
        return None


def run_startup(run: Run) -> int:
    """The start-up length of the strategy and options ``run`` was made with (0: none, or a
    strategy not installed here)."""
    cls = _strategy_class(run.strategy)
    return 0 if cls is None else cls.startup_trials_for(run.study.options or {})


def startup_only(groups: Groups, order: list[str]) -> list[StartupOnly]:
    """Each strategy with a run that finished no more trials than its start-up phase, in
    ``order``."""
    found = []
    for name in order:
        runs = list(groups[name].values())
        stuck = [
            length
            for run in runs
            if (length := run_startup(run)) and len(run.study.finished_trials) <= length
        ]
        if stuck:
            cls = _strategy_class(name)
            option = None if cls is None else cls.startup_option
            found.append(StartupOnly(name, option, max(stuck), len(stuck), len(runs)))
    return found
