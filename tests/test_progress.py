"""The live progress lines: plain words, labelled times, and they fit an 80-column terminal."""

import os
import re
import subprocess
import sys

import pytest

from tunebench.progress import bench_lines, study_line

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_one_trial_is_singular_and_the_elapsed_time_is_labelled():
    line = study_line(
        "random-seed0", trials=1, done=7, total=20, unit="epochs", best=0.5, elapsed=65
    )
    assert "1 trial ·" in line and "1 trials" not in line
    assert line.endswith("elapsed 1:05")
    assert "7/20 epochs" in line and "best 0.5000" in line


@pytest.mark.parametrize("width", [80, 79, 60, 40])
@pytest.mark.parametrize("current", ["cmaes seed 0", "a-third-party-strategy-name seed 12"])
def test_bench_lines_fit_the_width_and_keep_the_time_left(width, current):
    top, run = bench_lines(
        runs_done=12,
        runs=24,
        current=current,
        trials=217,
        epochs=1000,
        epochs_per_run=1000,
        best=0.26191,
        elapsed=3725,
        left=1490,
        width=width,
    )
    assert len(top) <= width and len(run) <= width
    assert top.endswith("elapsed 1:02:05 · left about 24:50")
    if width >= 60:
        assert top.startswith("runs 12/24")
        assert "1000/1000 epochs" in run and "best 0.2619" in run


@pytest.mark.parametrize("width", [80, 50, 30])
def test_study_line_fits_the_width_and_keeps_the_elapsed_time(width):
    line = study_line(
        "optuna-tpe-seed123456-with-a-long-study-name",
        trials=1234,
        done=99999,
        total=100000,
        unit="epochs",
        best=0.123456,
        elapsed=4000,
        width=width,
    )
    assert len(line) <= width
    assert line.endswith("elapsed 1:06:40")


def test_the_live_study_display_fits_80_columns(tmp_path):
    """The rendered display of a real ``tune`` run (rich, forced to an 80-column terminal)."""
    code = (
        "from tunebench import Budget, Float, Space, tune\n"
        "tune(lambda x: x * x, Space(x=Float(0, 1)), 'random', Budget(trials=1), seed=0,\n"
        "     study_name='a-rather-long-study-name-that-would-push-the-line-past-eighty',\n"
        "     progress=True)\n"
    )
    env = {**os.environ, "COLUMNS": "80", "FORCE_COLOR": "1", "TTY_COMPATIBLE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    lines = [ANSI.sub("", line) for line in done.stderr.replace("\r", "\n").splitlines()]
    shown = [line for line in lines if "elapsed" in line]
    assert shown, done.stderr
    assert all(len(line) <= 80 for line in shown), shown
    assert "1/1 trials" in shown[-1]
