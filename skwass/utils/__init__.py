"""Utilities: thread budgets for running skwass under joblib or dask workers."""

from skwass.utils._threads import effective_n_threads, thread_limits

__all__ = ["effective_n_threads", "thread_limits"]
