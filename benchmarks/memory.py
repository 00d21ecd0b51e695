"""Memory over many trials: resident memory after 50 and after 500 short Keras trials.

Random search, one-epoch trials on a 1,000-row subsample of the book task, in this process
(the inline executor), as Hyperband's many short trials would be. Prints the resident set size
(RSS, from /proc) after 50 and after 500 trials and the growth between them, and how many
distinct architectures the trials built. Two spaces:

- ``--space book``: the book's space (298 architectures), where most trials build a new one;
- ``--space repeat``: 15 architectures (``n_hidden`` 1-3 x ``n_neurons`` 10-50 by 10), so that
  after the first few dozen trials every architecture has been seen;
- ``--space layers``: the book's space with a width for each hidden layer (about 10^6
  architectures: nearly every trial builds a new one).

TensorFlow keeps what it traced (about 3 MiB for these MLPs) for the life of the process, so
memory grows with the number of distinct traces. The fast path traces once for every width of
a depth; ``--path before`` makes it trace each architecture (``any_widths=False``), as it did
before, and ``--path both`` (the default) runs each in a fresh process, one after the other,
and prints them side by side. TensorFlow also keeps a kernel for each variable shape it
meets, so trials build their variables in storage of unknown shape;
``--path own-shapes`` builds them in storage of their own shapes, as before, and
``--path shapes`` prints it beside ``now``.

    python benchmarks/memory.py --space book      # about 3 minutes on 2 cores
    python benchmarks/memory.py --space repeat
    python benchmarks/memory.py --space layers --trials 2000 --path shapes
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import subprocess
import sys
import time
from unittest import mock

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tunebench import Budget, Choice, Float, Int, KerasObjective, Space, Suggestion
from tunebench.models import book_space, build_mlp
from tunebench.tasks import california_housing


def build_layers(n_hidden=1, n_neurons_1=30, n_neurons_2=30, n_neurons_3=30,
                 learning_rate=3e-3, input_shape=(8,)):  # fmt: skip
    """The book's MLP with a width for each hidden layer."""
    import keras

    model = keras.Sequential([keras.Input(shape=tuple(input_shape))])
    for units in (n_neurons_1, n_neurons_2, n_neurons_3)[:n_hidden]:
        model.add(keras.layers.Dense(units, activation="relu"))
    model.add(keras.layers.Dense(1))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


SPACES = {
    "book": book_space(),
    "layers": Space(
        n_hidden=Int(0, 3),
        n_neurons_1=Int(1, 99),
        n_neurons_2=Int(1, 99),
        n_neurons_3=Int(1, 99),
        learning_rate=Float(3e-4, 3e-2, log=True),
    ),
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
        depth = params["n_hidden"]
        widths = [params[name] for name in sorted(params) if name.startswith("n_neurons")]
        self.architectures.add((depth, *(widths[:depth] if len(widths) > 1 else widths * depth)))
        self.calls += 1
        if self.calls in self.marks:
            self.rss[self.calls] = rss_mib()
        return result


def own_shapes() -> contextlib.ExitStack:
    """While active, trials build their variables in storage of their own shapes, as before
    ``keras_variables_of_any_shape`` (TensorFlow keeps a kernel for each shape it meets)."""
    import tunebench.objective
    import tunebench.private_api

    stack = contextlib.ExitStack()
    for module in (tunebench.objective, tunebench.private_api):
        stack.enter_context(
            mock.patch.object(
                module, "keras_variables_of_any_shape", lambda made=None: contextlib.nullcontext()
            )
        )
    return stack


#: --path: (any_widths, own_shapes) of each measured path
PATHS = {"now": (True, False), "before": (False, False), "own-shapes": (True, True)}
#: --path both / shapes: the paths side by side
COMPARED = {"both": ("now", "before"), "shapes": ("now", "own-shapes")}


def measure(space_name: str, trials: int, path: str) -> dict:
    """RSS after 50, half-way and all ``trials``, in this process; distinct architectures."""
    any_widths, own = PATHS[path]
    logging.getLogger("tensorflow").setLevel(logging.ERROR)  # retracing notices
    from tunebench import tune

    first = 50
    marks = {first, (first + trials) // 2, trials}
    task = california_housing().subsample(1000, seed=0)
    build = build_layers if space_name == "layers" else build_mlp
    objective = CountingObjective(build, task, max_epochs=1, patience=10, marks=marks)
    objective._trainer.any_widths = any_widths
    before = rss_mib()
    start = time.perf_counter()
    with own_shapes() if own else contextlib.nullcontext():
        tune(
            objective,
            SPACES[space_name],
            strategy="random",
            budget=Budget(trials=trials),
            seed=0,
            progress=None,
        )
    return {
        "rss_before": before,
        "rss": {str(k): v for k, v in objective.rss.items()},
        "architectures": len(objective.architectures),
        "traces": objective._trainer.traces(),
        "ms_a_trial": (time.perf_counter() - start) / trials * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--space", choices=sorted(SPACES), default="book")
    parser.add_argument("--path", choices=[*COMPARED, *PATHS], default="both")
    parser.add_argument("--json", action="store_true", help="print one JSON line (for --path)")
    args = parser.parse_args()
    if args.path not in COMPARED:
        figures = measure(args.space, args.trials, args.path)
        if args.json:
            print(json.dumps(figures))
        else:
            print(json.dumps(figures, indent=1))
        return
    runs = {}
    for path in COMPARED[args.path]:  # each in a fresh process: TensorFlow never gives back
        command = [sys.executable, __file__, "--space", args.space, "--trials",
                   str(args.trials), "--path", path, "--json"]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        runs[path] = json.loads(out.stdout.strip().splitlines()[-1])
    first, last = "50", str(args.trials)
    print(f"space {args.space!r}, {args.trials} one-epoch trials of random search, RSS in MiB")
    names = list(runs)
    print(f"{'':<28} {names[0]:>10} {names[1]:>10}")
    rows = [("before any trial", "rss_before")] + [
        (f"after {count} trials", count) for count in sorted(runs["now"]["rss"], key=int)
    ]
    for label, field in rows:
        values = [r[field] if field == "rss_before" else r["rss"][field] for r in runs.values()]
        print(f"{label:<28} {values[0]:>10.0f} {values[1]:>10.0f}")
    growth = [r["rss"][last] - r["rss"][first] for r in runs.values()]
    print(f"{f'growth, trial {first} to {last}':<28} {growth[0]:>+10.0f} {growth[1]:>+10.0f}")
    for label, field, fmt in (
        ("distinct architectures", "architectures", "d"),
        ("traced epochs", "traces", "d"),
        ("ms a trial", "ms_a_trial", ".0f"),
    ):
        values = [format(r[field], fmt) for r in runs.values()]
        print(f"{label:<28} {values[0]:>10} {values[1]:>10}")


if __name__ == "__main__":
    main()
