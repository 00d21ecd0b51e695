"""Keep TensorFlow's start-up chatter off the terminal of ``tunebench`` commands.

TensorFlow's C++ side logs its start-up notices (absl's "log messages before
InitializeLog", ``cpu_feature_guard``, oneDNN's "custom operations are on") at INFO level,
and its Python side warns about ``tf.function`` retracing. ``quiet_tensorflow()`` must run
before TensorFlow is imported: it sets ``TF_CPP_MIN_LOG_LEVEL=2`` (INFO and WARNING hidden,
errors shown) and raises the ``tensorflow`` Python logger to ERROR. A user's own
``TF_CPP_MIN_LOG_LEVEL`` wins, and then the Python logger is left alone too. oneDNN itself
stays as TensorFlow configured it (``TF_ENABLE_ONEDNN_OPTS`` is not touched): only its notice
is hidden, never the numerics changed.

TensorFlow 2.21 logs some of these notices through absl before its own level applies (on
CPUs with AVX512-VNNI or AMX, where oneDNN is on by default), so ``hide_start_up_notices()``
also makes the first import of ``tensorflow`` run with the process's stderr caught, and
writes back every line of it but those notices.

>>> import os
>>> quiet_tensorflow(environ={"TF_CPP_MIN_LOG_LEVEL": "0"})
False
>>> env = {}
>>> quiet_tensorflow(environ=env), env
(True, {'TF_CPP_MIN_LOG_LEVEL': '2'})
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import logging
import os
import sys
import tempfile
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

__all__ = ["hide_start_up_notices", "quiet_tensorflow"]

#: What TensorFlow's start-up notices hold (each line of a multi-line one)
NOTICES = (
    "absl::InitializeLog",
    "cpu_feature_guard",
    "oneDNN custom operations are on",
    "To enable the following instructions",
    "rebuild TensorFlow with the appropriate compiler flags",
)


def quiet_tensorflow(environ: MutableMapping[str, str] | None = None) -> bool:
    """Hide TensorFlow's INFO / WARNING logs unless the user set ``TF_CPP_MIN_LOG_LEVEL``.

    Returns whether it quietened anything (False when the user's setting was kept).
    """
    env = os.environ if environ is None else environ
    if "TF_CPP_MIN_LOG_LEVEL" in env:
        return False
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if environ is None:
        # The Python side: retracing warnings and the like. TensorFlow leaves a level set
        # before its import as it is.
        logging.getLogger("tensorflow").setLevel(logging.ERROR)
        hide_start_up_notices()
    return True


@contextmanager
def _stderr_without_notices() -> Iterator[None]:
    """Inside, whatever the process writes to its stderr (file descriptor 2, C++ included) is
    caught; on leaving, every line of it but TensorFlow's start-up ``NOTICES`` is written."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to catch
        yield
        return
    with tempfile.TemporaryFile() as caught:
        os.dup2(caught.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            caught.seek(0)
            for line in caught.read().decode(errors="replace").splitlines(keepends=True):
                if not any(notice in line for notice in NOTICES):
                    sys.stderr.write(line)
            sys.stderr.flush()


class _Imported(importlib.abc.Loader):
    """The loader of a module imported already: it hands that module over."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def create_module(self, spec: Any) -> Any:
        return self.module

    def exec_module(self, module: Any) -> None:
        """Nothing: the module ran when it was imported."""


class _QuietFirstImport(importlib.abc.MetaPathFinder):
    """Runs the first import of ``tensorflow`` inside ``_stderr_without_notices``."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # this import only: the next finders do the work
        with _stderr_without_notices():
            module = importlib.import_module(name)
        return importlib.util.spec_from_loader(name, _Imported(module))


def hide_start_up_notices() -> None:
    """Make the first import of ``tensorflow`` in this process write no start-up notice
    (nothing when it is imported already, or the hook is in place)."""
    if "tensorflow" in sys.modules or any(
        isinstance(finder, _QuietFirstImport) for finder in sys.meta_path
    ):
        return
    sys.meta_path.insert(0, _QuietFirstImport())
