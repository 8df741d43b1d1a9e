"""Thread budgets: skwass.utils.thread_limits and its use by the estimators' fit."""

import os

import numba
import numpy as np
import pytest
from threadpoolctl import threadpool_info

from skwass.mke import MinimumKantorovichEstimator
from skwass.utils import _threads, effective_n_threads, thread_limits


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_effective_n_threads_follows_sklearn_n_jobs():
    limit = numba.config.NUMBA_NUM_THREADS
    assert effective_n_threads(1) == 1
    assert effective_n_threads(10**6) == limit
    assert effective_n_threads(-1) == min(os.cpu_count(), limit)
    assert effective_n_threads(-(10**6)) == 1
    assert effective_n_threads(None) == numba.get_num_threads()
    with pytest.raises(ValueError, match="n_jobs == 0"):
        effective_n_threads(0)


def test_thread_limits_applies_and_restores():
    numba_before, blas_before = numba.get_num_threads(), _blas_threads()
    with thread_limits(1) as n_threads:
        assert n_threads == 1
        assert numba.get_num_threads() == 1
        assert all(n == 1 for n in _blas_threads())
    assert numba.get_num_threads() == numba_before
    assert _blas_threads() == blas_before
    with pytest.raises(RuntimeError, match="boom"), thread_limits(1):
        raise RuntimeError("boom")
    assert numba.get_num_threads() == numba_before
    assert _blas_threads() == blas_before


def test_dask_worker_budget(monkeypatch):
    """In a dask task the budget is the workers' OMP_NUM_THREADS (1 by default)."""
    monkeypatch.setattr(_threads, "_in_dask_worker", lambda: True)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert effective_n_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert effective_n_threads() == min(2, numba.config.NUMBA_NUM_THREADS)
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert effective_n_threads() == 1


def test_fit_runs_under_the_worker_budget(monkeypatch):
    """The estimators' fit applies the budget while it runs, and restores it."""
    seen = []

    def simulator(theta, noise):
        seen.append((numba.get_num_threads(), _blas_threads()))
        return theta[0] + noise

    monkeypatch.setattr(_threads, "_in_dask_worker", lambda: True)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    before = numba.get_num_threads(), _blas_threads()
    X = np.random.default_rng(0).normal(2.0, 1.0, size=(50, 1))
    est = MinimumKantorovichEstimator(simulator, theta0=[0.0], max_iter=5, random_state=0)
    est.fit(X)
    assert seen and all(n == 1 and all(b == 1 for b in blas) for n, blas in seen)
    assert (numba.get_num_threads(), _blas_threads()) == before


def test_fit_follows_n_jobs():
    """``n_jobs`` sets the budget of fit and score, as in scikit-learn; 0 is refused."""
    seen = []

    def simulator(theta, noise):
        seen.append(numba.get_num_threads())
        return theta[0] + noise

    before = numba.get_num_threads()
    X = np.random.default_rng(0).normal(2.0, 1.0, size=(50, 1))
    est = MinimumKantorovichEstimator(simulator, theta0=[0.0], max_iter=3, n_jobs=1,
                                      random_state=0)
    est.fit(X).score(X)
    assert seen and set(seen) == {1}
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="n_jobs == 0"):
        est.set_params(n_jobs=0).fit(X)
    with pytest.raises(ValueError, match="n_jobs"):
        est.set_params(n_jobs=1.5).fit(X)


def test_import_changes_no_environment_variable():
    # skwass used to set OMP_WAIT_POLICY / GOMP_SPINCOUNT for the whole process.
    import subprocess
    import sys

    # scikit-learn sets KMP_DUPLICATE_LIB_OK and KMP_INIT_AT_FORK when imported:
    # the snapshot is taken after skwass's dependencies are in.
    code = ("import os, numba, numpy, scipy, sklearn, ot; before = dict(os.environ); "
            "import skwass, skwass.ot; "
            "changed = {k for k in set(before) | set(os.environ) "
            "if before.get(k) != os.environ.get(k)}; print(sorted(changed))")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_idle_openmp_threads_sleep_unless_the_user_chose():
    from skwass.utils._threads import let_idle_openmp_threads_sleep

    environ = {}
    let_idle_openmp_threads_sleep(environ)
    assert environ == {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "3000"}
    for chosen in ({"OMP_WAIT_POLICY": "ACTIVE"}, {"GOMP_SPINCOUNT": "10"}):
        environ = dict(chosen)
        let_idle_openmp_threads_sleep(environ)
        assert environ == chosen
