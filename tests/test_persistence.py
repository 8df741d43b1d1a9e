"""Fitted estimators round-trip through pickle and joblib with identical scores."""

import pickle
import types
import warnings

import joblib
import numpy as np
import pytest
from numba.core.dispatcher import Dispatcher
from sklearn.exceptions import ConvergenceWarning

from skwass.covariance import GaussianShrinkageModel
from skwass.mixture import EllipseMKE
from skwass.mke import MinimumKantorovichEstimator
from skwass.neural_network import WassersteinRBM


def _binary(rng, n=60):
    return (rng.random((n, 6)) < [0.9, 0.8, 0.9, 0.1, 0.2, 0.1]).astype(float)


def _fitted(name, rng):
    if name == "rbm":
        X = _binary(rng)
        est = WassersteinRBM(n_components=4, n_pretrain_iter=5, n_iter=5, random_state=0)
    elif name == "rbm-exact":
        X = _binary(rng)
        est = WassersteinRBM(n_components=4, n_pretrain_iter=5, n_iter=5, exact=True,
                             random_state=0)
    elif name == "ellipse":
        X = rng.normal(size=(60, 2))
        est = EllipseMKE(n_components=2, loss="sinkhorn", max_iter=10, batch_size=30,
                         random_state=0)
    elif name == "shrinkage":
        X = rng.normal(size=(40, 3))
        est = GaussianShrinkageModel(eps=0.1, max_iter=10, random_state=0)
    else:
        X = rng.normal(1.0, 1.0, size=(40, 2))
        est = MinimumKantorovichEstimator(max_iter=10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(X), X


def _no_live_code(value):
    """Fitted state holds data only: no functions, jitted dispatchers or handles."""
    if isinstance(value, (types.FunctionType, types.MethodType, Dispatcher)):
        return False
    if isinstance(value, (list, tuple)):
        return all(_no_live_code(v) for v in value)
    if isinstance(value, dict):
        return all(_no_live_code(v) for v in value.values())
    return not hasattr(value, "__dict__") or isinstance(
        value, (np.ndarray, np.random.RandomState, np.random.Generator)
    ) or all(_no_live_code(v) for v in vars(value).values())


@pytest.mark.parametrize("name", ["rbm", "rbm-exact", "ellipse", "shrinkage", "mke"])
def test_pickle_and_joblib_round_trip(name, rng, tmp_path):
    est, X = _fitted(name, rng)
    fitted_state = {k: v for k, v in vars(est).items() if k.endswith("_") or k.startswith("_")}
    assert _no_live_code(fitted_state)
    from_pickle = pickle.loads(pickle.dumps(est))
    joblib.dump(est, tmp_path / "model.joblib")
    from_joblib = joblib.load(tmp_path / "model.joblib")
    expected = est.score(X)
    assert np.isfinite(expected)
    assert from_pickle.score(X) == expected
    assert from_joblib.score(X) == expected


@pytest.mark.parametrize("name", ["rbm", "ellipse"])
def test_restored_model_continues_streaming_identically(name, rng):
    """A model saved between two partial_fit calls resumes the same stream."""
    X = _binary(rng) if name == "rbm" else rng.normal(size=(60, 2))
    if name == "rbm":
        est = WassersteinRBM(n_components=4, n_pretrain_iter=2, random_state=0)
    else:
        est = EllipseMKE(n_components=2, loss="sinkhorn", batch_size=30, random_state=0)
    est.partial_fit(X[:30]).partial_fit(X[30:])
    restored = pickle.loads(pickle.dumps(est))
    for model in (est, restored):
        model.partial_fit(X[:30]).partial_fit(X[30:])
    assert restored.score(X) == est.score(X)
