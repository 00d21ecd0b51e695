"""Does pruning pay on the book's problem? Issue 14's expectation, tested: at 300 epochs, at
least one pruned configuration reaches a lower median validation MSE than every unpruned
strategy. Random search, tpe and gp unpruned against asha, bohb and tpe under ASHA, 3 paired
seeds, the book's California housing at full size (trials of at most 100 epochs, patience
10), inline; report in ``benchmarks/results/pruning/`` (rerun to resume).

    python benchmarks/pruning.py    # about 20 minutes on 2 cores (5 when they are free)
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from tunebench import run_benchmark

if __name__ == "__main__":
    run_benchmark(
        ["random", "tpe", "gp", "asha", "bohb", "tpe+asha"],
        seeds=3,
        budget_epochs=300,
        problems="california_housing",
        out_dir="benchmarks/results/pruning",
        progress=False,
    )
