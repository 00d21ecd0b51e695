"""The backends' private APIs tunebench relies on: all present in the installed versions, and
an upgrade that moves one is named loudly (package and version), never a failure per trial.

An upgrade is simulated by removing the private name from the real, imported backend module
for the duration of one test (pytest's ``monkeypatch`` puts it back).
"""

from __future__ import annotations

import random
import warnings
from importlib.metadata import version

import pytest

from tunebench import Budget, Float, Space, private_api, tune
from tunebench.private_api import PrivateAPIChanged, check_private_apis


def test_every_private_api_tunebench_uses_is_there() -> None:
    problems = check_private_apis()
    assert problems == [], "a backend upgrade moved a private API:\n" + "\n".join(problems)


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private_api, "_warned", set())


def test_a_moved_keras_internal_is_named_with_its_version(monkeypatch) -> None:
    from keras.src.utils import naming

    monkeypatch.delattr(naming, "reset_uids")
    (problem,) = check_private_apis()
    assert problem.startswith(f"keras {version('keras')} no longer has keras.src's naming")
    with pytest.warns(RuntimeWarning, match=rf"keras {version('keras')} no longer has"):
        assert private_api.keras_reset_names() is False  # the caller clears the session
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once a process, not once a trial
        assert private_api.keras_reset_names() is False


def test_a_moved_optuna_internal_falls_back_to_study_tell(monkeypatch) -> None:
    from optuna.study import _tell

    monkeypatch.delattr(_tell, "_tell_with_warning")
    (problem,) = check_private_apis()
    assert f"optuna {version('optuna')} no longer has" in problem
    with pytest.warns(RuntimeWarning, match="using study.tell instead"):
        study = tune(
            lambda x: (x - 0.3) ** 2,
            Space(x=Float(0, 1)),
            "optuna-tpe",
            Budget(trials=12),
            seed=0,
            progress=False,
        )
    assert [t.status for t in study.trials] == ["ok"] * 12
    assert study.best_loss < 0.01


def test_a_moved_keras_tuner_internal_stops_hyperband_before_any_trial(monkeypatch) -> None:
    from keras_tuner import oracles

    from tunebench.strategies import keras_tuner_hyperband

    monkeypatch.setattr(keras_tuner_hyperband, "_ORACLE_CLASS", None)  # built afresh
    owner = next(c for c in oracles.HyperbandOracle.__mro__ if "_random_values" in vars(c))
    monkeypatch.delattr(owner, "_random_values")
    assert any(p.startswith("keras-tuner ") for p in check_private_apis())
    with pytest.raises(PrivateAPIChanged, match=r"HyperbandOracle\._random_values"):
        tune(lambda x: x, Space(x=Float(0, 1)), "hyperband", Budget(trials=3), progress=False)


def test_a_moved_scikit_learn_hook_is_named(monkeypatch) -> None:
    from sklearn.model_selection import _search

    monkeypatch.delattr(_search, "_warn_or_raise_about_fit_failures")
    (problem,) = check_private_apis()
    assert problem.startswith(f"scikit-learn {version('scikit-learn')} no longer has")
    with pytest.raises(PrivateAPIChanged, match="_warn_or_raise_about_fit_failures"):
        private_api.sklearn_fit_failure_check()


def test_deap_operators_that_stop_drawing_from_their_module_random_are_refused(
    monkeypatch,
) -> None:
    from deap.tools import mutation

    monkeypatch.setattr(mutation, "random", random.Random(0))  # as if it imported its own
    (problem,) = check_private_apis()
    assert f"deap {version('deap')} no longer has deap.tools.mutation.random" in problem
    with pytest.raises(PrivateAPIChanged, match=r"deap\.tools\.mutation\.random"):
        tune(lambda x: x, Space(x=Float(0, 1)), "evolution", Budget(trials=3), progress=False)


def test_only_the_custom_gradients_traced_in_the_block_are_forgotten(monkeypatch) -> None:
    import tensorflow as tf
    from tensorflow.python.framework import ops

    entries = ops._gradient_registry._registry
    step = tf.function(lambda x: tf.custom_gradient(lambda v: (v, lambda d: 2 * d))(x))
    spec = tf.TensorSpec([], tf.float32)
    before = set(entries)
    kept = step.get_concrete_function(spec)  # traced before the block: stays differentiable
    earlier = entries.keys() - before
    assert len(earlier) == 1
    with private_api.tensorflow_custom_gradients_forgotten():
        tf.RegisterGradient("TunebenchTestNamed")(lambda op, grad: grad)  # by name: stays
        other = tf.function(lambda x: tf.custom_gradient(lambda v: (v, lambda d: d))(x))
        other.get_concrete_function(spec)
        assert len(entries.keys() - before - earlier - {"TunebenchTestNamed"}) == 1
    assert entries.keys() - before == earlier | {"TunebenchTestNamed"}
    entries.pop("TunebenchTestNamed")
    x = tf.constant(3.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = kept(x)
    assert float(tape.gradient(y, x)) == 2.0

    monkeypatch.delattr(ops._gradient_registry, "_registry")
    (problem,) = check_private_apis()
    assert f"tensorflow {tf.__version__} no longer has ops._gradient_registry" in problem
    forgotten = private_api.tensorflow_custom_gradients_forgotten()
    with pytest.warns(RuntimeWarning, match="each traced training step stays in memory"), forgotten:
        pass
