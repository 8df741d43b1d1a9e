"""parzen_log_likelihood against scipy's multivariate normal density."""

import numpy as np
import pytest
from scipy.special import logsumexp
from scipy.stats import multivariate_normal

from skwass.metrics import parzen_log_likelihood


def test_matches_a_mixture_of_scipy_normals():
    rng = np.random.RandomState(0)
    X, S = rng.normal(size=(7, 3)), rng.normal(size=(11, 3))
    for h in (0.3, 1.0, 2.5):
        logs = np.array([[multivariate_normal(s, h * h * np.eye(3)).logpdf(x) for s in S]
                         for x in X])
        expected = np.mean(logsumexp(logs, axis=1) - np.log(len(S)))
        assert parzen_log_likelihood(X, S, h, batch_size=3) == pytest.approx(expected)
    both = parzen_log_likelihood(X, S, [0.3, 1.0])
    assert both.shape == (2,)
    assert both[1] == pytest.approx(parzen_log_likelihood(X, S, 1.0))


def test_bad_input():
    with pytest.raises(ValueError, match="3 features but samples have 2"):
        parzen_log_likelihood(np.zeros((2, 3)), np.zeros((2, 2)), 1.0)
    with pytest.raises(ValueError, match="bandwidth must be positive"):
        parzen_log_likelihood(np.zeros((2, 2)), np.zeros((2, 2)), [1.0, 0.0])
