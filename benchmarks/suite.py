"""The benchmark `make bench` and `make bench-full` run: every registered strategy on the suite.

Runs ``tunebench bench`` (the same code, ``tunebench.bench``) with its flags:

    python benchmarks/suite.py            # the quick protocol (make bench), into bench-report/
    python benchmarks/suite.py --full     # the publication protocol (make bench-full)
    python benchmarks/suite.py --full --problems california_housing   # a part of it

The quick protocol (``tunebench.bench.QUICK_PROTOCOL``) and the full one (``FULL_PROTOCOL``)
list each problem with its seeds, budget and settings. Both run one run a core at a time
(``--jobs``, each run's trials inline: the same results as one run at a time) unless
``--jobs`` or ``--executor`` says otherwise. ``--full`` writes into
``benchmarks/results/suite/`` unless ``--out`` says otherwise: that is how the committed
report is regenerated; rerun it to resume. Each problem's store and report go to
``OUT/PROBLEM/``, the summary over problems to ``OUT/report.md``; the run ends by printing
the verdicts.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from tunebench.cli import main

RESULTS = Path(__file__).resolve().parent / "results" / "suite"

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--full" in args and "--out" not in args:
        args += ["--out", str(RESULTS)]
    if "--jobs" not in args and "--executor" not in args:
        args += ["--jobs", str(os.cpu_count() or 1)]
    sys.exit(main(["bench", *args]))
