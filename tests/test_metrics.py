"""Sharpness metrics against brute-force enumeration and a plain-loop reference."""

import numpy as np
import pytest

from skwass.metrics import conditional_variance, isolated_pixel_fraction
from skwass.neural_network import WassersteinRBM

D = 5


def test_conditional_variance_matches_enumeration(rng):
    X = (rng.random((20, D)) < 0.5).astype(float)
    rbm = WassersteinRBM(n_components=3, n_pretrain_iter=0, n_iter=0, random_state=0).fit(X)
    rbm.components_ = 2 * rng.normal(size=(3, D))
    rbm.intercept_visible_ = rng.normal(size=D)
    rbm.intercept_hidden_ = rng.normal(size=3)
    states, proba = rbm.exact_distribution()
    index = {tuple(s): k for k, s in enumerate(states)}
    expected = []
    for x in X:
        for i in range(D):
            on, off = x.copy(), x.copy()
            on[i], off[i] = 1, 0
            p = proba[index[tuple(on)]] / (proba[index[tuple(on)]] + proba[index[tuple(off)]])
            expected.append(p * (1 - p))
    assert conditional_variance(rbm, X) == pytest.approx(np.mean(expected), rel=1e-10)
    rbm.intercept_visible_ = np.full(D, -1e3)  # certain pixels, without overflow warnings
    assert conditional_variance(rbm, X) == 0.0
    with pytest.raises(ValueError, match="binary"):
        conditional_variance(rbm, X * 0.5)
    with pytest.raises(ValueError, match="features"):
        conditional_variance(rbm, X[:, :2])


def _isolated_by_loops(images):
    isolated = on = 0
    for image in images:
        h, w = image.shape
        for r in range(h):
            for c in range(w):
                if image[r, c]:
                    on += 1
                    around = image[max(r - 1, 0):r + 2, max(c - 1, 0):c + 2].sum() - 1
                    isolated += around == 0
    return isolated / on


def test_isolated_pixel_fraction_matches_loops(rng):
    images = (rng.random((7, 4, 6)) < 0.2).astype(float)
    got = isolated_pixel_fraction(images.reshape(7, -1), (4, 6))
    assert got == pytest.approx(_isolated_by_loops(images))
    assert isolated_pixel_fraction(np.zeros((2, 4)), (2, 2)) == 0.0
    with pytest.raises(ValueError, match="image_shape"):
        isolated_pixel_fraction(images.reshape(7, -1), (5, 5))
