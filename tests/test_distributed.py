"""Grid searches on a dask.distributed cluster equal the sequential ones."""

import warnings

import joblib
import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skwass.mixture import EllipseMKE
from skwass.neural_network import WassersteinRBM

distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    # Threaded workers start in well under a second; each task thread gets its own
    # Numba budget (numba.set_num_threads is thread-local, see skwass.utils).
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, protocol="tcp", host="127.0.0.1",
        dashboard_address=None,
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


def _binary(rng, n=60):
    return (rng.random((n, 6)) < [0.9, 0.8, 0.9, 0.1, 0.2, 0.1]).astype(float)


def _executed(client):
    return sum(client.run(lambda dask_worker: dask_worker.state.executed_count).values())


def test_dask_task_gets_one_numba_thread(client, monkeypatch):
    from skwass.utils import effective_n_threads

    # Dask gives each task the OMP_NUM_THREADS budget (1 unless configured).
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert client.submit(effective_n_threads, pure=False).result() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    expected = min(2, __import__("numba").config.NUMBA_NUM_THREADS)
    assert client.submit(effective_n_threads, pure=False).result() == expected


def _searches(X, estimator, grid):
    """The same search run sequentially, then on the cluster."""
    search = GridSearchCV(estimator, grid, cv=KFold(3, shuffle=True, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sequential = search.fit(X).cv_results_
        with joblib.parallel_backend("dask"):
            clustered = GridSearchCV(**search.get_params(deep=False)).set_params(
                n_jobs=-1).fit(X).cv_results_
    return sequential, clustered


def test_rbm_grid_search_on_dask_equals_sequential(client, rng):
    X = _binary(rng)
    rbm = WassersteinRBM(n_components=4, n_pretrain_iter=5, n_iter=5, learning_rate=0.1,
                         random_state=0)
    before = _executed(client)
    sequential, clustered = _searches(X, rbm, {"eps": [0.1, 0.3], "lam": [0.1, 1.0]})
    # The fits really ran on the cluster (joblib batches them into fewer tasks).
    assert _executed(client) > before
    assert clustered["params"] == sequential["params"]
    np.testing.assert_allclose(clustered["mean_test_score"], sequential["mean_test_score"],
                               rtol=1e-10, atol=0)
    np.testing.assert_allclose(clustered["split0_test_score"],
                               sequential["split0_test_score"], rtol=1e-10, atol=0)


def test_ellipse_grid_search_on_dask_equals_sequential(client, rng):
    X = np.vstack([rng.normal(size=(30, 2)) * 0.3, rng.normal(size=(30, 2)) * 0.3 + 3])
    est = EllipseMKE(n_components=2, loss="sinkhorn", max_iter=15, batch_size=30,
                     random_state=0)
    sequential, clustered = _searches(X, est, {"eps": [0.1, 0.5, 1.0]})
    assert clustered["params"] == sequential["params"]
    np.testing.assert_allclose(clustered["mean_test_score"], sequential["mean_test_score"],
                               rtol=1e-10, atol=0)
