"""Grid search of WassersteinRBM on a local dask cluster: speed-up of 2 workers over 1.

    python benchmarks/bench_gridsearch.py            # 6 candidates x 3 folds, ~2-3 min on 2 cores
    python benchmarks/bench_gridsearch.py --quick    # 4 candidates x 2 folds, shorter fits

The same ``GridSearchCV`` over ``eps`` and ``lam`` (binarized 8 x 8 digits,
fixed ``random_state``) runs from this process:

1. sequentially (joblib's default backend, ``n_jobs=None``), with the Numba
   and BLAS thread pools at their defaults, then inside ``thread_limits(1)``;
2. on a ``LocalCluster`` of 1 worker process with 1 thread, as one task
   running the sequential search there (joblib's dask backend runs a search in
   the calling process when the cluster has a single thread);
3. ``with joblib.parallel_backend("dask")`` on a ``LocalCluster`` of 2 worker
   processes with 1 thread each, one task per batch of fits.

The workers listen on loopback. Each cluster is warmed up first (imports and
loading the Numba kernels from the cache), so the times are those of the fits.
Inside a dask task the estimators use one Numba thread and one BLAS thread
(``skwass.utils.thread_limits``), so 2 workers use 2 cores. The printed ratio
is time(1 worker) / time(2 workers), over ``--repeat`` interleaved pairs of
runs (the median is printed too: on a shared machine single runs vary a lot);
the CPU seconds the workers spent show whether they got the cores they asked
for. The candidates' mean test scores are checked to equal the sequential ones.

Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536`` (it returns
freed memory to the system); glibc then maps and unmaps every large temporary,
and the page faults make these fits slower. ``--unset-malloc-trim`` starts the
workers without it.
"""

import argparse
import os
import resource
import time
import warnings

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, KFold

from skwass.neural_network import WassersteinRBM
from skwass.utils import thread_limits


def _warm_up():
    """Import and load the kernels in a worker (not timed)."""
    import warnings

    import numpy as np
    from sklearn.exceptions import ConvergenceWarning

    from skwass.neural_network import WassersteinRBM

    X = (np.random.default_rng(0).random((40, 64)) < 0.3).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        WassersteinRBM(n_components=4, n_pretrain_iter=1, n_iter=1).fit(X).score(X)
    return os.getpid()


def _search(X, grid, epochs, n_splits, n_jobs):
    rbm = WassersteinRBM(n_components=32, learning_rate=0.05, n_pretrain_iter=epochs,
                         n_iter=epochs, random_state=0)
    search = GridSearchCV(rbm, grid, cv=KFold(n_splits, shuffle=True, random_state=0),
                          refit=False, n_jobs=n_jobs)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X)
    return time.perf_counter() - start, search.cv_results_["mean_test_score"]


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _on_cluster(n_workers, X, grid, epochs, n_splits, unset_malloc_trim):
    """Wall time, scores and CPU seconds the workers spent in the search."""
    import dask
    from distributed import Client, LocalCluster

    environ = dict(dask.config.get("distributed.nanny.pre-spawn-environ"))
    if unset_malloc_trim:
        environ.pop("MALLOC_TRIM_THRESHOLD_", None)
    config = dask.config.set({"distributed.nanny.pre-spawn-environ": environ})
    with config, LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                              host="127.0.0.1", dashboard_address=None) as cluster, \
            Client(cluster) as client:
        pids = client.run(_warm_up)
        assert len(set(pids.values())) == n_workers
        before = sum(client.run(_cpu_seconds).values())
        if n_workers == 1:
            # joblib runs a search on a 1-thread cluster in this process (its dask
            # backend reports one job), so the whole search is one task on the worker.
            start = time.perf_counter()
            _, scores = client.submit(_search, X, grid, epochs, n_splits, None,
                                      pure=False).result()
            elapsed = time.perf_counter() - start
        else:
            with joblib.parallel_backend("dask"):
                elapsed, scores = _search(X, grid, epochs, n_splits, n_jobs=-1)
        return elapsed, scores, sum(client.run(_cpu_seconds).values()) - before


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer candidates and epochs")
    parser.add_argument("--repeat", type=int, default=2,
                        help="cluster runs of each size, interleaved 1, 2, 1, 2, ...")
    parser.add_argument("--skip-default-threads", action="store_true",
                        help="skip the sequential run with the default thread pools "
                             "(slow on a busy machine)")
    parser.add_argument("--unset-malloc-trim", action="store_true",
                        help="start the workers without dask's MALLOC_TRIM_THRESHOLD_=65536")
    args = parser.parse_args()
    if args.quick:
        grid = {"eps": [0.05, 0.2], "lam": [0.1, 1.0]}
        epochs, n_splits = 10, 2
    else:
        grid = {"eps": [0.05, 0.1, 0.2], "lam": [0.1, 1.0]}
        epochs, n_splits = 30, 3
    X = (load_digits().data >= 8).astype(np.float64)
    n_fits = n_splits * int(np.prod([len(v) for v in grid.values()]))
    print(f"GridSearchCV(WassersteinRBM(n_components=32, {epochs}+{epochs} epochs)) on "
          f"{X.shape[0]} x {X.shape[1]} binarized digits: {n_fits} fits; "
          f"os.cpu_count() = {os.cpu_count()}, load average "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    _warm_up()
    print(f"{'run':44s} {'time (s)':>9s} {'worker CPU (s)':>15s} {'speed-up':>9s}")
    if not args.skip_default_threads:
        t_seq, s_seq = _search(X, grid, epochs, n_splits, n_jobs=None)
        print(f"{'sequential (in process, default backend)':44s} {t_seq:9.2f}")
    with thread_limits(1):
        t_one_thread, s_one_thread = _search(X, grid, epochs, n_splits, n_jobs=None)
    print(f"{'sequential, in thread_limits(1)':44s} {t_one_thread:9.2f}")
    if args.skip_default_threads:
        s_seq = s_one_thread
    same, ratios = np.array_equal(s_one_thread, s_seq), []
    for rep in range(args.repeat):
        times = {}
        for n_workers in (1, 2):
            elapsed, scores, cpu = _on_cluster(n_workers, X, grid, epochs, n_splits,
                                               args.unset_malloc_trim)
            times[n_workers] = elapsed
            same &= np.array_equal(scores, s_seq)
            label = f"dask LocalCluster, {n_workers} worker{'s' * (n_workers > 1)} x 1 thread"
            ratio = times[1] / elapsed
            print(f"{label + f' (#{rep + 1})':44s} {elapsed:9.2f} {cpu:15.2f} {ratio:9.2f}")
        ratios.append(times[1] / times[2])
    print(f"speed-up of 2 workers over 1: median {np.median(ratios):.2f} "
          f"(runs: {', '.join(f'{r:.2f}' for r in ratios)}); load average now "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"mean test scores identical to the sequential run in every run: {same}")

if __name__ == "__main__":
    main()
