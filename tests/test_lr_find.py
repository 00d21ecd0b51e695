"""The learning-rate range test on the book task: the suggestion, the untouched model, the
narrowed space, the plot and the ``tunebench lr-find`` command."""

import math
import random

import numpy as np
import pytest

from tunebench import Float, LRFindResult, lr_find
from tunebench.cli import main
from tunebench.models import book_space, build_mlp


@pytest.fixture(scope="module")
def found(small_housing):
    return lr_find(build_mlp, small_housing, steps=300, seed=0)


def test_the_suggestion_lies_where_the_loss_falls(found):
    rates, losses = np.array(found.rates), np.array(found.losses)
    assert found.exploded and len(rates) < 300  # it stopped once the loss blew up
    np.testing.assert_allclose(rates[1:] / rates[:-1], math.exp(math.log(1e6) / 300))
    assert found.suggested == pytest.approx(found.climb_rate / 10)
    at = int(np.argmin(np.abs(np.log(rates / found.suggested))))
    climb = int(np.argmin(losses))
    assert rates[climb] == found.climb_rate
    # Between the first rate and the climb the loss falls, and the suggestion is on that slope:
    # already well below where it started, and still going down.
    assert 0 < at < climb
    assert losses[at] < 0.9 * losses[0]
    assert losses[climb] < losses[at]
    assert 1e-4 < found.suggested < 1.0  # SGD on the book's MLP; the book searches 3e-4..3e-2


def test_a_model_passed_in_comes_back_untouched(small_housing):
    import keras

    model = build_mlp(n_hidden=2, n_neurons=16)
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(learning_rate=1e-3))
    model.fit(small_housing.X_train, small_housing.y_train, epochs=1, verbose=0)
    weights = [w.copy() for w in model.get_weights()]
    optimizer = [v.numpy() for v in model.optimizer.variables]
    random.seed(5)
    np.random.seed(5)
    expected = (random.random(), np.random.random())
    random.seed(5)
    np.random.seed(5)
    result = lr_find(model, (small_housing.X_train, small_housing.y_train), steps=100)
    assert (random.random(), np.random.random()) == expected  # no global random state used
    assert isinstance(result, LRFindResult) and len(result.rates) == len(result.losses)
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(optimizer, model.optimizer.variables, strict=True):
        np.testing.assert_array_equal(before, after.numpy())
    assert float(model.optimizer.learning_rate) == pytest.approx(1e-3)


def test_narrow_centres_the_learning_rate_on_the_suggestion(found):
    space = found.narrow(book_space())
    assert list(space) == ["n_hidden", "n_neurons", "learning_rate"]
    assert space["n_hidden"] == book_space()["n_hidden"]
    rate = space["learning_rate"]
    assert isinstance(rate, Float) and rate.log
    assert rate.low == pytest.approx(found.suggested / 10)
    assert rate.high == pytest.approx(min(found.suggested * 10, found.rates[-1]))
    assert math.sqrt(rate.low * rate.high) == pytest.approx(found.suggested, rel=0.5)
    with pytest.raises(ValueError, match=r"no parameter 'lr'.*'learning_rate'"):
        found.narrow(book_space(), name="lr")


def test_plot_is_log_x_and_written(found, tmp_path):
    figure = found.plot(tmp_path / "lr.png")
    assert figure.axes[0].get_xscale() == "log"
    assert (tmp_path / "lr.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_arguments_are_named(small_housing):
    with pytest.raises(ValueError, match=r"0 < min_lr < max_lr, got min_lr=1.0, max_lr=0.1"):
        lr_find(build_mlp, small_housing, min_lr=1.0, max_lr=0.1)
    with pytest.raises(ValueError, match="batch_size=1000 is larger than the 300 training rows"):
        lr_find(build_mlp, small_housing, batch_size=1000)
    with pytest.raises(TypeError, match="Task or an"):
        lr_find(build_mlp, small_housing.X_train)


def test_the_command_prints_the_suggestion_and_writes_the_plot(tmp_path, capsys):
    plot = tmp_path / "range.png"
    code = main(["lr-find", "--subsample", "300", "--steps", "150", "--plot", str(plot)])
    assert code == 0
    out = capsys.readouterr().out
    assert "suggested learning rate: " in out and "narrowed search range: " in out
    assert plot.stat().st_size > 1000
