"""The README as written must work as written: every fenced ``python`` block runs as a script
and every ``tunebench`` line of every ``sh`` block runs as a command, each in a fresh folder,
shrunk to tiny budgets by the substitutions below so that the whole file runs in minutes.

A block that cannot run in a test is skipped by a marker on the line before it, with a reason:
``<!-- readme-test: skip (reason) -->``. A Python block that continues the one before it (its
names) says ``<!-- readme-test: after the previous block -->`` and runs after it in one script.
Any other marker, a skip without a reason, or a shell line that is not a ``tunebench`` command
fails the test, so the README cannot drift silently.
"""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# What is shrunk, and why. Each is (pattern, replacement, reason); replacements keep every
# example's point (and the differences between examples: budgets scale, they do not collapse).
PYTHON_SUBSTITUTIONS: list[tuple[str, str, str]] = [
    (r"Budget\(epochs=(\d+)\)", "Budget(epochs=6)", "a few trials, not a full search"),
    (
        r"KerasObjective\(build_mlp, california_housing\(\)\)",
        "KerasObjective(build_mlp, california_housing().subsample(300), max_epochs=3)",
        "the protocol the shell lines are shrunk to (300 rows, 3 epochs a trial), so that the "
        "CLI's `--storage runs.db` continues the study the Python example stored, as it does "
        "for a reader",
    ),
    (
        r"california_housing\(\)(?!\.subsample)",
        "california_housing().subsample(300)",
        "300 training rows",
    ),
    (r"n_iter=10, cv=3", "n_iter=2, cv=2", "2 candidates x 2 folds, not 10 x 3 (17 minutes)"),
    (r"epochs=100,", "epochs=3,", "3 epochs a fit, not 100"),
    (r"steps=500", "steps=30", "a 30-step range test"),
]
SHELL_SUBSTITUTIONS: list[tuple[str, object, str]] = [
    (
        r"--budget-epochs (\d+)",
        lambda m: f"--budget-epochs {max(6, int(m[1]) // 50)}",
        "budgets 50 times smaller (300 -> 6, as a Python example's, so that a shell line resumes "
        "the study a Python example stored; 500 -> 10): still different where the README's are",
    ),
    (r"--seeds (\d+)(?=\s|$)", "--seeds 2", "two seeds instead of N"),
    (r"--subsample \d+", "--subsample 300", "300 training rows"),
    (r"--max-epochs \d+", "--max-epochs 3", "3 epochs a trial at most"),
]
# Flags added to a command that does not give them, and why.
SHELL_ADDITIONS: dict[str, list[tuple[str, str, str]]] = {
    "tune": [
        ("--budget-epochs", "--budget-epochs 6", "tune's default budget is 300 epochs"),
        ("--subsample", "--subsample 300", "300 training rows"),
        ("--max-epochs", "--max-epochs 3", "3 epochs a trial at most"),
    ],
    "bench": [
        ("--strategies", "--strategies random,tpe", "two strategies, not all eight"),
        ("--seeds", "--seeds 2", "two seeds, not three"),
        ("--budget-epochs", "--budget-epochs 3", "bench's default budget is 300 epochs"),
        ("--subsample", "--subsample 300", "300 training rows"),
        ("--max-epochs", "--max-epochs 3", "3 epochs a trial at most"),
    ],
    "lr-find": [
        ("--subsample", "--subsample 300", "300 training rows"),
        ("--steps", "--steps 30", "a 30-step range test"),
    ],
}

MARKER = re.compile(r"<!--\s*readme-test:\s*(.*?)\s*-->")
FENCE = re.compile(r"^(\s*)```(\w*)\s*$")


@dataclass
class Block:
    line: int  # where the block starts in README.md (1-based)
    language: str
    code: str
    marker: str | None  # the readme-test marker on the line before, if any


def readme_blocks(text: str) -> list[Block]:
    """Every fenced block with a language, and the marker before it.

    >>> blocks = readme_blocks("<!-- readme-test: skip (no) -->\\n```sh\\nls\\n```\\n")
    >>> [(b.line, b.language, b.code, b.marker) for b in blocks]
    [(2, 'sh', 'ls\\n', 'skip (no)')]
    """
    lines = text.splitlines()
    blocks, i = [], 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if not opening:
            i += 1
            continue
        indent, language = opening.groups()
        end = i + 1
        while not re.match(rf"^{re.escape(indent)}```\s*$", lines[end]):
            end += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[i + 1 : end]
        ]
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        marker = MARKER.search(previous)
        if language:
            blocks.append(Block(i + 1, language, "\n".join(body) + "\n", marker and marker[1]))
        i = end + 1
    return blocks


def shrink_python(code: str) -> str:
    for pattern, replacement, _ in PYTHON_SUBSTITUTIONS:
        code = re.sub(pattern, replacement, code)
    return code


def shrink_command(line: str) -> list[str]:
    """A README ``tunebench ...`` line as the test runs it.

    >>> print(*shrink_command("tunebench bench --seeds 5 --budget-epochs 500  # a note"))
    bench --seeds 2 --budget-epochs 10 --strategies random,tpe --subsample 300 --max-epochs 3
    """
    words = shlex.split(line, comments=True)
    assert words[0] == "tunebench", line
    command = " ".join(words[1:])
    for pattern, replacement, _ in SHELL_SUBSTITUTIONS:
        command = re.sub(pattern, replacement, command)  # type: ignore[arg-type]
    args = shlex.split(command)
    for flag, addition, _ in SHELL_ADDITIONS.get(args[0] if args else "", []):
        if flag not in args and "--full" not in args:
            args += addition.split()
    return args


def _cases() -> list[pytest.param]:
    cases = []
    blocks = readme_blocks(README.read_text())
    for index, block in enumerate(blocks):
        if block.marker and block.marker.startswith("skip"):
            continue
        following = blocks[index + 1] if index + 1 < len(blocks) else None
        if following is not None and following.marker == "after the previous block":
            continue  # it runs as the first part of the next block's script
        if block.language == "python":
            code = block.code
            if block.marker == "after the previous block":
                code = blocks[index - 1].code + "\n" + code
            cases.append(pytest.param("python", code, id=f"python-line{block.line}"))
        elif block.language == "sh":
            cases.append(pytest.param("sh", block.code, id=f"sh-line{block.line}"))
    return cases


def test_every_block_is_run_or_skipped_with_a_reason():
    blocks = readme_blocks(README.read_text())
    assert len(blocks) >= 8
    for block in blocks:
        assert block.language in ("python", "sh"), f"line {block.line}: ```{block.language}"
        if block.marker is None:
            continue
        assert block.marker == "after the previous block" or re.fullmatch(
            r"skip \(.+\)", block.marker
        ), f"line {block.line}: unknown marker {block.marker!r} (skip (reason)?)"
    for block in blocks:
        if block.language == "sh" and not (block.marker or "").startswith("skip"):
            for line in block.code.splitlines():
                if line.strip() and not line.lstrip().startswith("#"):
                    assert line.startswith("tunebench "), (
                        f"line {block.line}: {line!r} is not a tunebench command; mark the block "
                        "<!-- readme-test: skip (reason) --> if it cannot run in a test"
                    )


def _tunebench() -> list[str]:
    script = Path(sys.executable).with_name("tunebench")
    return [str(script)] if script.exists() else [sys.executable, "-m", "tunebench.cli"]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    """One folder for the whole README, as for a reader: later commands read earlier stores."""
    return tmp_path_factory.mktemp("readme")


@pytest.mark.slow
@pytest.mark.parametrize(("language", "code"), _cases())
def test_readme_example_runs(language, code, workdir):
    if language == "python":
        script = workdir / "example.py"
        script.write_text(shrink_python(code))
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{shrink_python(code)}\n---\n{done.stderr[-4000:]}"
        assert done.stdout.strip(), "the example prints nothing"
        return
    for line in code.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        args = shrink_command(line)
        done = subprocess.run(
            [*_tunebench(), *args],
            cwd=workdir,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"tunebench {' '.join(args)}\n---\n{done.stderr[-4000:]}"


def test_links_point_into_the_repository():
    """Every relative link (and path named in backticks) exists in a clone; none leaves it."""
    text = README.read_text()
    targets = re.findall(r"\]\(([^)#\s]+)\)", text) + re.findall(r"`(\.\./[^`\s]+)`", text)
    for target in targets:
        if re.match(r"[a-z]+://", target):
            continue
        assert not target.startswith("../"), f"{target} is outside the repository"
        assert (README.parent / target).exists(), f"{target} does not exist"
