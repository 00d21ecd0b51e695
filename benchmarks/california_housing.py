"""The book task, searched by random search under a 300-epoch budget (what `make bench` runs).

This is the foundation's short study: the full benchmark (every strategy x paired seeds, with
the comparison report) replaces it once the benchmark issue lands. Rerunning resumes from
bench-report/runs.db; pass other `tunebench tune` flags to change it, e.g.

    python benchmarks/california_housing.py --strategy grid --budget-epochs 600
"""

from __future__ import annotations

import sys
from pathlib import Path

from tunebench.cli import main

DEFAULTS = ["--strategy", "random", "--budget-epochs", "300", "--seed", "0"]

if __name__ == "__main__":
    out = Path("bench-report")
    out.mkdir(exist_ok=True)
    args = sys.argv[1:]
    storage = [] if "--storage" in args else ["--storage", str(out / "runs.db")]
    sys.exit(main(["tune", *DEFAULTS, *storage, *args]))
