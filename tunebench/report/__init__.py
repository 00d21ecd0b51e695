"""The comparison report of a benchmark store: Markdown, one self-contained HTML, PNG, CSV.

``write_report(store, out_dir)`` reads every study in a store, groups them by the strategy and
seed their records hold, and writes ``report.md``, ``report.html`` (the figures embedded as
``data:`` URIs), the figures as PNG and ``trials.csv`` with every trial. The report holds the
protocol card, anytime curves of regret, average ranks over the budget, the final table,
paired Wilcoxon tests against random search, each run's best configuration, time-to-target, a
budget audit, the runs that never left a strategy's start-up phase and a verdict generated
from the numbers (a difference is a tie unless it is significant); every figure and table
has a caption saying how to read it. ``verdict_lines(store)`` gives the verdict in a few
console lines.

Strategies are ordered, and the leader chosen, by validation MSE only; the test split is
reported, never used to order or choose. A run whose every trial failed has no incumbent: it
is shown as failed, ranks last, is left out of medians and quartiles (which say how many runs
failed) and loses its pair in a paired test.

One job a module: ``runs`` reads the store, ``stats`` computes the statistics, ``figures``
draws (``curves``: the learning curves of strategies that stop trials early), ``protocol``
and ``sections`` make the tables and their prose, ``verdict`` the verdict, ``document``
renders Markdown and HTML, ``write`` puts it together and writes the files (``reference``:
the book's result; ``formats``: how numbers are written). Across problems, ``across``
computes the statistics, ``across_figures`` draws them and ``suite_report``
writes ``write_suite_report(stores, out_dir)``. Importing the
package imports no heavy library: scipy, statsmodels, matplotlib and markdown-it-py are
imported when used.

>>> holm([0.01, 0.04, 0.03])
[0.03, 0.06, 0.06]
>>> median_iqr([1.0, 2.0, 3.0, 4.0])
(2.5, 1.75, 3.25)
"""

from .formats import format_params
from .protocol import environment
from .reference import REFERENCE, TARGET_MSE
from .runs import EXECUTIONS_META, Run, load_runs
from .stats import holm, median_iqr, paired_differences, strategy_order
from .suite_report import write_suite_report
from .verdict import verdict_lines
from .write import write_report, write_trials_csv

__all__ = [
    "EXECUTIONS_META",
    "REFERENCE",
    "TARGET_MSE",
    "Run",
    "environment",
    "format_params",
    "holm",
    "load_runs",
    "median_iqr",
    "paired_differences",
    "strategy_order",
    "verdict_lines",
    "write_report",
    "write_suite_report",
    "write_trials_csv",
]
