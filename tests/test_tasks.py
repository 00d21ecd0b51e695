import numpy as np
import pytest

from tunebench.tasks import _california_raw, synthetic_regression


def test_features_match_scikit_learns_derivation():
    X, y = _california_raw()
    assert X.shape == (20640, 8)
    np.testing.assert_allclose(
        X[0], [8.3252, 41.0, 6.98412698, 1.02380952, 322.0, 2.55555556, 37.88, -122.23], rtol=1e-7
    )
    assert y[0] == pytest.approx(4.526)
    assert y.mean() == pytest.approx(2.0685582, rel=1e-7)
    assert (y.min(), y.max()) == pytest.approx((0.14999, 5.00001))


def test_the_books_splits_and_scaling(housing):
    assert housing.sizes == {"train": 11610, "valid": 3870, "test": 5160}
    assert housing.input_shape == (8,)
    np.testing.assert_allclose(housing.X_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(housing.X_train.std(axis=0), 1, atol=1e-4)
    assert abs(housing.X_valid.mean()) > 1e-4  # scaled with the train statistics only
    # The split is sklearn's train_test_split(random_state=42), twice.
    from sklearn.model_selection import train_test_split

    X, y = _california_raw()
    _, _, _y_full, y_test = train_test_split(X, y, random_state=42)
    np.testing.assert_allclose(housing.y_test, y_test.astype(np.float32))


def test_subsample_is_seeded_and_checked(housing):
    a, b = housing.subsample(200, seed=1), housing.subsample(200, seed=1)
    assert a.sizes == {"train": 200, "valid": 66, "test": 66}
    np.testing.assert_array_equal(a.X_train, b.X_train)
    with pytest.raises(ValueError, match="99999"):
        housing.subsample(99999)


def test_synthetic_task():
    task = synthetic_regression(100, n_features=3, seed=0)
    assert task.sizes == {"train": 60, "valid": 20, "test": 20}
    assert task.input_shape == (3,)
