"""Keep TensorFlow's start-up chatter off the terminal of ``tunebench`` commands.

TensorFlow's C++ side logs its start-up notices (absl's "log messages before
InitializeLog", ``cpu_feature_guard``, oneDNN's "custom operations are on") at INFO level,
and its Python side warns about ``tf.function`` retracing. ``quiet_tensorflow()`` must run
before TensorFlow is imported: it sets ``TF_CPP_MIN_LOG_LEVEL=2`` (INFO and WARNING hidden,
errors shown) and raises the ``tensorflow`` Python logger to ERROR. A user's own
``TF_CPP_MIN_LOG_LEVEL`` wins, and then the Python logger is left alone too. oneDNN itself
stays as TensorFlow configured it (``TF_ENABLE_ONEDNN_OPTS`` is not touched): only its notice
is hidden, never the numerics changed.

>>> import os
>>> quiet_tensorflow(environ={"TF_CPP_MIN_LOG_LEVEL": "0"})
False
>>> env = {}
>>> quiet_tensorflow(environ=env), env
(True, {'TF_CPP_MIN_LOG_LEVEL': '2'})
"""

from __future__ import annotations

import logging
import os
from collections.abc import MutableMapping

__all__ = ["quiet_tensorflow"]


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
    return True
