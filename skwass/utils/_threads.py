"""Thread budgets of the Numba kernels and of BLAS, so that workers don't oversubscribe.

Under joblib's default ``loky`` backend every worker process already starts with
``NUMBA_NUM_THREADS`` and the BLAS variables set to its share of the cores
(``cpu_count // n_jobs``), so nothing is needed there. Dask workers are different:
their nanny sets ``OMP_NUM_THREADS=1`` (and the MKL/OpenBLAS variables) for the
native libraries but not ``NUMBA_NUM_THREADS``, and a threaded worker runs
several tasks in one process. :func:`thread_limits` closes that gap.
"""

import functools
import os
import sys
from contextlib import contextmanager

import numba

_CONTROLLER = None


def _blas_controller():
    """One cached ``ThreadpoolController`` (building one scans the loaded libraries)."""
    global _CONTROLLER
    if _CONTROLLER is None:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER = ThreadpoolController()
    return _CONTROLLER


def _in_dask_worker():
    """Whether the calling thread runs a ``dask.distributed`` task."""
    if "distributed" not in sys.modules:
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def effective_n_threads(n_jobs=None):
    """Number of threads the Numba kernels may use in the calling thread.

    Parameters
    ----------
    n_jobs : int or None, default=None
        ``None``: inside a ``dask.distributed`` task, the per-task budget that
        dask gives the native libraries (``OMP_NUM_THREADS``, 1 unless the
        workers were configured otherwise), since the parallelism is across
        tasks; elsewhere the current Numba setting (``numba.get_num_threads()``,
        which honours ``NUMBA_NUM_THREADS``, as set by joblib in its ``loky``
        workers). A positive int is a number of threads; ``-1`` means all the
        cores, ``-2`` all but one, and so on, as in scikit-learn.

    Returns
    -------
    n_threads : int
        Between 1 and ``numba.config.NUMBA_NUM_THREADS``.

    Examples
    --------
    >>> from skwass.utils import effective_n_threads
    >>> effective_n_threads(1)
    1
    """
    limit = numba.config.NUMBA_NUM_THREADS
    if n_jobs is None:
        if _in_dask_worker():
            try:
                n_threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
            except ValueError:
                n_threads = 1
        else:
            n_threads = numba.get_num_threads()
    elif n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive int or -1.")
    elif n_jobs < 0:
        n_threads = (os.cpu_count() or 1) + 1 + n_jobs
    else:
        n_threads = n_jobs
    return int(min(max(n_threads, 1), limit))


@contextmanager
def thread_limits(n_jobs=None):
    """Limit the Numba and BLAS threads of the calling thread, then restore them.

    ``numba.set_num_threads`` is thread-local, so concurrent tasks of a threaded
    worker each get their own budget. The BLAS pools (through threadpoolctl)
    are process-wide: they are only ever lowered, never raised, and restored
    on exit.

    Parameters
    ----------
    n_jobs : int or None, default=None
        See :func:`effective_n_threads`.

    Yields
    ------
    n_threads : int
        The Numba thread count in force inside the block.

    Examples
    --------
    >>> import numba
    >>> from skwass.utils import thread_limits
    >>> before = numba.get_num_threads()
    >>> with thread_limits(1) as n_threads:
    ...     numba.get_num_threads()
    1
    >>> numba.get_num_threads() == before
    True
    """
    n_threads = effective_n_threads(n_jobs)
    previous = numba.get_num_threads()
    numba.set_num_threads(n_threads)
    try:
        blas = _blas_controller().select(user_api="blas")
        current = [lib.get("num_threads", 1) for lib in blas.info()]
        if current and n_threads < max(current):
            with blas.limit(limits=n_threads):
                yield n_threads
        else:
            yield n_threads
    finally:
        numba.set_num_threads(previous)


def _with_thread_limits(method):
    """Run an estimator method inside :func:`thread_limits` with the estimator's ``n_jobs``."""

    @functools.wraps(method)
    def wrapped(estimator, *args, **kwargs):
        with thread_limits(estimator.n_jobs):
            return method(estimator, *args, **kwargs)

    return wrapped


def let_idle_openmp_threads_sleep(environ=None):
    """Ask OpenMP threads to spin only briefly when idle, unless the user chose.

    Sets ``OMP_WAIT_POLICY=PASSIVE`` and ``GOMP_SPINCOUNT=3000`` when neither
    is set. The OpenMP runtime (Numba's ``omp`` threading layer) reads them
    once, at the first parallel kernel, so this must run before any; it
    changes the whole process, which is why importing skwass does not call
    it: the ``skwass`` command and the test suite do, and a user's program may
    set the variables itself. ``benchmarks/bench_threads.py`` measures the
    effect of each setting.

    Parameters
    ----------
    environ : mapping or None, default=None
        The environment to change; ``None`` is ``os.environ``.
    """
    environ = os.environ if environ is None else environ
    if "OMP_WAIT_POLICY" not in environ and "GOMP_SPINCOUNT" not in environ:
        environ["OMP_WAIT_POLICY"] = "PASSIVE"
        environ["GOMP_SPINCOUNT"] = "3000"
