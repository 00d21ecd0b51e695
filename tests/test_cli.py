import subprocess
import sys

from tunebench import available_strategies, load_study
from tunebench.cli import main


def test_strategies_lists_every_name_with_a_description(capsys):
    assert main(["strategies"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == available_strategies()
    assert all(len(line.split()) > 2 for line in lines)


def test_strategies_verbose_shows_options(capsys):
    assert main(["strategies", "--verbose"]) == 0
    assert "resolution" in capsys.readouterr().out


def test_tune_runs_the_book_task_and_prints_the_best_trial(tmp_path, capsys):
    storage = tmp_path / "runs.db"
    code = main(
        [
            "tune",
            "--strategy",
            "grid",
            "--budget-epochs",
            "6",
            "--seed",
            "0",
            "--storage",
            str(storage),
            "--subsample",
            "200",
            "--max-epochs",
            "3",
            "--no-progress",
            "--option",
            "resolution=2",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "best trial #" in out and "n_neurons=" in out
    study = load_study(storage)
    assert study.strategy == "grid" and study.options == {"resolution": 2}
    assert study.epochs_spent == 6


def test_errors_are_one_clear_line(capsys):
    assert main(["tune", "--strategy", "hyperbnd", "--budget-trials", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunebench: error: unknown strategy 'hyperbnd'")


def test_help_is_fast_and_imports_no_backend():
    code = (
        "import sys, tunebench.cli\n"
        "try:\n    tunebench.cli.main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('tensorflow', 'keras', 'hyperopt', 'skopt', 'optuna', 'deap',"
        " 'ray', 'keras_tuner', 'sklearn') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "HEAVY []" in out
