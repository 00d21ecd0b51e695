"""The benchmark `make bench` runs: every registered strategy on the book task, paired seeds.

Runs ``tunebench bench`` (the same code, ``tunebench.bench.run_benchmark``) with its flags:

    python benchmarks/california_housing.py                 # the quick default, ~5 min
    python benchmarks/california_housing.py --full          # the publication protocol
    python benchmarks/california_housing.py --strategies random,tpe --seeds 5

The default is every strategy x 3 seeds x 300 epochs on the full data, into
``bench-report/`` (store ``bench-report/runs.db``; rerun to resume). It ends by printing the
verdict in a few lines (``tunebench.report.verdict_lines``): the strategies tied at the top
(or the one winner beyond the noise), runs that never left a strategy's start-up phase, the
difference from random search and whether it is significant, the best configuration, and
where ``report.md`` and ``report.html`` are. ``--full`` (5 seeds x
1,000 epochs) writes into ``benchmarks/results/california_housing/`` unless ``--out`` says
otherwise: that is how the committed full-protocol report is regenerated.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tunebench.cli import main

RESULTS = Path(__file__).resolve().parent / "results" / "california_housing"

if __name__ == "__main__":
    args = sys.argv[1:]
    if "--full" in args and "--out" not in args:
        args += ["--out", str(RESULTS)]
    sys.exit(main(["bench", *args]))
