import importlib.metadata
import os
import socket
import subprocess
import sys

import pytest

from tunebench import Budget, Float, Space, available_strategies, load_study, tune
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


# ---------------------------------------------------------------- the CLI explains itself

CLI = [sys.executable, "-m", "tunebench.cli"]


def _run(*args: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {**os.environ, "COLUMNS": "200", **(env or {})}
    environment.pop("TF_CPP_MIN_LOG_LEVEL", None)  # the test sets it when it means to
    environment.update(env or {})
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, env=environment, timeout=timeout
    )


def test_version_prints_the_package_version():
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"tunebench {importlib.metadata.version('tunebench')}"


COMMANDS = {
    "strategies": "list the registered search strategies",
    "tune": "search the book task's hyperparameters with one strategy",
    "show": "list a store's studies, or one study's trials and their errors",
    "bench": "run every strategy on a problem (the book task) over paired seeds, write the report",
    "problems": "list the registered benchmark problems",
    "report": "write the comparison report of a benchmark store",
    "lr-find": "the learning-rate range test on the book task: suggest a rate, plot it",
}


def test_every_command_has_a_one_line_help_and_shows_its_defaults():
    top = " ".join(_run("--help").stdout.split())
    for name, help in COMMANDS.items():
        assert f"{name} {help}" in top, name
    tune = _run("tune", "--help").stdout
    for default in (
        "(default: random)",  # strategy
        "(default: 300)",  # budget
        "(default: 0)",  # seed
        "(default: 100)",  # max epochs
        "(default: 10)",  # patience
        "{inline,processes,ray}",
    ):
        assert default in tune, default
    lr_find = _run("lr-find", "--help").stdout
    assert "(default: 500)" in lr_find and "(default: lr-find.png)" in lr_find
    report = _run("report", "--help").stdout
    for written in ("report.md", "report.html", "anytime_epochs.png", "trials.csv"):
        assert written in report, written


def test_a_bad_executor_is_refused_before_any_data_is_loaded(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["tune", "--executor", "threads", "--budget-trials", "1"])
    assert stop.value.code == 2
    assert "invalid choice: 'threads'" in capsys.readouterr().err


def test_hyperband_max_epochs_error_names_the_flags(capsys):
    args = ["tune", "--strategy", "hyperband", "--option", "max_epochs=200", "--max-epochs", "50"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunebench: error: --option max_epochs=200")
    assert "--max-epochs 50" in err and "pass --max-epochs 200" in err


def test_a_misspelt_option_is_a_user_error_naming_the_options(capsys):
    assert main(["tune", "--strategy", "grid", "--option", "resolutio=3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tunebench: error: --option") and "resolution" in err


BROKEN = """
import sys
import tunebench
from tunebench.cli import main


class Broken(tunebench.Strategy):
    description = "a strategy with a bug"

    def _propose(self):
        return {}["missing"]  # a genuine bug: KeyError inside the search

    def tell(self, suggestion, result):
        pass


tunebench.register("broken", Broken)
sys.exit(main(["tune", "--strategy", "broken", "--budget-trials", "1", "--subsample", "60",
               "--no-progress", *sys.argv[1:]]))
"""


def test_an_internal_bug_is_not_disguised_as_a_user_error(tmp_path):
    script = tmp_path / "broken.py"
    script.write_text(BROKEN)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr
    assert "tunebench: internal error: KeyError: 'missing'" in done.stderr
    assert "--debug" in done.stderr and "Traceback" not in done.stderr
    debug = subprocess.run(
        [sys.executable, str(script), "--debug"], capture_output=True, text=True, timeout=300
    )
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert 'return {}["missing"]' in debug.stderr


def test_show_lists_studies_then_one_study_with_its_errors(tmp_path, capsys):
    storage = tmp_path / "runs.db"

    def objective(x):
        if x > 0.5:
            raise ValueError(f"x={x:.2f} is too large for this objective")
        return (x - 0.2) ** 2

    for seed in (0, 1):
        tune(objective, Space(x=Float(0, 1)), "random", Budget(trials=6), seed=seed,
             storage=storage, progress=False)  # fmt: skip
    assert main(["show", str(storage)]) == 0
    listing = capsys.readouterr().out
    assert "random-seed0" in listing and "random-seed1" in listing
    assert main(["show", str(storage), "--study", "random-seed1"]) == 0
    out = capsys.readouterr().out
    study = load_study(storage, "random-seed1")
    failed = [t for t in study.trials if t.status == "failed"]
    assert failed, "the seed should give some failing trials"
    assert "failed" in out and "is too large for this objective" in out
    assert f"{len(failed)} trial" in out
    assert main(["show", str(storage), "--study", "nope"]) == 2
    assert "random-seed0, random-seed1" in capsys.readouterr().err


def test_tune_speaks_in_flags_not_python(tmp_path):
    storage = tmp_path / "runs.db"
    done = _run(
        "tune", "--budget-epochs", "4", "--max-epochs", "2", "--subsample", "100",
        "--storage", str(storage), "--no-progress",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--budget-epochs 4" in done.stderr and "Budget(" not in done.stderr
    assert f"tunebench show {storage} --study random-seed0" in done.stdout
    assert "to_dataframe" not in done.stdout
    # TensorFlow's start-up lines stay off the terminal (absl, cpu_feature_guard, oneDNN).
    for noise in ("absl::InitializeLog", "cpu_feature_guard", "oneDNN", "retracing"):
        assert noise not in done.stderr, done.stderr


def test_a_users_tf_log_level_wins(tmp_path):
    done = _run(
        "tune", "--budget-epochs", "2", "--max-epochs", "2", "--subsample", "60", "--no-progress",
        env={"TF_CPP_MIN_LOG_LEVEL": "0"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    if not any(m in done.stderr for m in ("cpu_feature_guard", "oneDNN", "absl")):
        pytest.skip("TensorFlow logs nothing at start-up on this machine, even at level 0")


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--budget-epochs", "0"], "argument --budget-epochs: must be a whole number above 0"),
        (["--patience", "-1"], "argument --patience: must not be negative"),
        (["--patience", "0"], "argument --patience: must be a whole number above 0"),
        (["--budget-seconds", "nan"], "argument --budget-seconds: must be a number above 0"),
    ],
)
def test_bad_numbers_are_refused_by_the_parser(flags, message, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["tune", *flags])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_a_study_another_process_runs_is_one_clear_line(tmp_path, capsys):
    from tunebench.store import Store

    storage = tmp_path / "runs.db"
    with Store(storage) as holder:  # this process holds the lease, as a first terminal would
        holder.acquire_lease("random-seed0")
        code = main(
            ["tune", "--budget-trials", "2", "--subsample", "200", "--storage", str(storage)]
        )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("tunebench: error: the study 'random-seed0'")
    assert f"is being run by {socket.gethostname()}:{os.getpid()}" in last
