"""Memory over many trials: resident memory after 50 and after 500 short Keras trials.

Random search, one-epoch trials on a 1,000-row subsample of the book task, in this process
(the inline executor), as Hyperband's many short trials would be. Prints the resident set size
(RSS, from /proc) after 50 and after 500 trials and the growth between them, and how many
distinct architectures the trials built. Two spaces:

- ``--space book``: the book's space (298 architectures), where most trials build a new one;
- ``--space repeat``: 15 architectures (``n_hidden`` 1-3 x ``n_neurons`` 10-50 by 10), so that
  after the first few dozen trials every architecture has been seen.

TensorFlow keeps what it traced for an architecture (about 3 MiB for these MLPs) for the life
of the process, so memory grows with the number of *distinct architectures*, not with the
number of trials.

    python benchmarks/memory.py --space book      # about a minute on 2 cores
    python benchmarks/memory.py --space repeat
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tunebench import Budget, Choice, Float, Int, KerasObjective, Space, Suggestion
from tunebench.models import book_space, build_mlp
from tunebench.tasks import california_housing

SPACES = {
    "book": book_space(),
    "repeat": Space(
        n_hidden=Int(1, 3),
        n_neurons=Choice([10, 20, 30, 40, 50]),
        learning_rate=Float(3e-4, 3e-2, log=True),
    ),
}


def rss_mib() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


class CountingObjective(KerasObjective):
    """Records the RSS after chosen trial counts."""

    def __init__(self, *args, marks: set[int], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.marks, self.calls, self.rss = marks, 0, {}
        self.architectures: set[tuple[int, int]] = set()

    def evaluate(self, suggestion: Suggestion, state=None):
        result = super().evaluate(suggestion, state)
        params = suggestion.params
        self.architectures.add((params["n_hidden"], params["n_neurons"] * (params["n_hidden"] > 0)))
        self.calls += 1
        if self.calls in self.marks:
            self.rss[self.calls] = rss_mib()
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--space", choices=sorted(SPACES), default="book")
    args = parser.parse_args()
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices
    space = SPACES[args.space]
    from tunebench import tune

    first = 50
    marks = {first, (first + args.trials) // 2, args.trials}
    task = california_housing().subsample(1000, seed=0)
    objective = CountingObjective(build_mlp, task, max_epochs=1, patience=10, marks=marks)
    print(f"space {args.space!r}; RSS before any trial: {rss_mib():.0f} MiB", flush=True)
    start = time.perf_counter()
    tune(
        objective,
        space,
        strategy="random",
        budget=Budget(trials=args.trials),
        seed=0,
        progress=None,
    )
    seconds = time.perf_counter() - start
    rss = objective.rss
    growth = (rss[args.trials] - rss[first]) / (args.trials - first) * 100
    for count in sorted(rss):
        print(f"RSS after {count:>4} trials: {rss[count]:7.0f} MiB")
    print(
        f"growth from trial {first} to {args.trials}: {rss[args.trials] - rss[first]:+.0f} MiB "
        f"({growth:+.1f} MiB per 100 trials); {len(objective.architectures)} distinct "
        f"architectures; {seconds / args.trials * 1000:.0f} ms a trial"
    )


if __name__ == "__main__":
    main()
