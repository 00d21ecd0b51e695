"""`pip install .` (not editable) puts strategies/ at tunebench.strategies, data included."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_a_regular_install_imports_from_any_directory(tmp_path):
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(ROOT)],
        check=True, cwd=tmp_path, capture_output=True,
    )  # fmt: skip
    assert (target / "tunebench" / "strategies" / "grid_search.py").exists()
    assert (target / "tunebench" / "data" / "california_housing.csv.gz").exists()
    code = (
        "import tunebench, tunebench.strategies.random_search as r, tunebench.tasks as t\n"
        "print(tunebench.__file__); print(r.__file__)\n"
        "print(t._california_raw()[0].shape)\n"
        "print(tunebench.available_strategies())\n"
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r})\n" + code],
        cwd=elsewhere, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert out[0].startswith(str(target)) and out[1].startswith(str(target))
    assert out[2] == "(20640, 8)"
