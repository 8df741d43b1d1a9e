"""skwass Sinkhorn vs POT, measured side by side in one process.

    python benchmarks/bench_sinkhorn.py                  # full grid (slow: POT at n=4000)
    python benchmarks/bench_sinkhorn.py --sizes 1000 2000 --pot-max-iter 20000
    python benchmarks/bench_sinkhorn.py --online-n 20000 --only-online

Every solver gets the same float64 cost matrix and the same tolerance; the final
L1 marginal error ``|P1 - a|_1 + |P^T 1 - b|_1`` is recomputed here from each
returned plan, because POT's methods measure their stopping criterion differently.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
import warnings

import numpy as np

TOL = 1e-6
POT_METHODS = ["sinkhorn", "sinkhorn_log", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling"]


def l1_error(P, a, b):
    if not np.all(np.isfinite(P)):
        return np.inf
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


def run_pot(ot, method, a, b, C, eps, max_iter):
    """Run one POT method, tightening its own stopThr (which is not our L1 error)
    up to 10-fold until the L1 error reaches TOL; report the run that did."""
    for stop in (TOL, TOL / 10):
        elapsed, n_iter, err = _run_pot_once(ot, method, a, b, C, eps, max_iter, stop)
        if err <= TOL:
            break
    return elapsed, n_iter, err


def _run_pot_once(ot, method, a, b, C, eps, max_iter, stop):
    if method == "sinkhorn_epsilon_scaling":
        # POT counts outer loops there, each up to numInnerItermax=100 iterations.
        max_iter = max(1, max_iter // 100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            start = time.perf_counter()
            try:
                P, log = ot.sinkhorn(a, b, C, eps, method=method, stopThr=stop,
                                     numItermax=max_iter, log=True)
            except Exception:  # noqa: BLE001 - a crash counts as a failure
                return time.perf_counter() - start, "-", np.inf
            elapsed = time.perf_counter() - start
    n_iter = log.get("niter", log.get("n_iter", None))
    if n_iter is None:
        n_iter = f"~{10 * len(log.get('err', []))}"
    return elapsed, n_iter, l1_error(P, a, b)


def matvec_time(C):
    u, v = np.ones(C.shape[0]), np.ones(C.shape[1])
    times = []
    for _ in range(20):
        start = time.perf_counter()
        C @ v
        C.T @ u
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def dense_table(sizes, dims, eps_rels, pot_max_iter, pot_methods):
    import ot

    from skwass.ot import cost_matrix, sinkhorn

    sinkhorn(None, None, np.random.default_rng(0).random((20, 20)), 0.01)  # JIT warm-up

    rng = np.random.default_rng(0)
    header = (f"{'n':>5} {'d':>3} {'eps/mean':>8} {'method':<26} {'time[s]':>8} "
              f"{'iters':>7} {'L1 err':>9} {'POT best/skwass':>16}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        for d in dims:
            X = rng.normal(size=(n, d))
            Y = rng.normal(size=(n, d))
            Y[:, 0] += 1.0
            C = cost_matrix(X, Y)
            a = b = np.full(n, 1.0 / n)
            per_iter = []
            for rel in eps_rels:
                eps = rel * C.mean()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    start = time.perf_counter()
                    res = sinkhorn(a, b, C, eps, tol=TOL, max_iter=200_000)
                    ours = time.perf_counter() - start
                our_err = res.marginal_error
                per_iter.append(ours / max(res.n_iter, 1))
                best = np.inf
                rows = []
                for method in pot_methods:
                    elapsed, n_iter, err = run_pot(ot, method, a, b, C, eps, pot_max_iter)
                    ok = err <= TOL
                    if ok:
                        best = min(best, elapsed)
                    status = f"{err:9.1e}" if np.isfinite(err) else "      nan"
                    rows.append(f"{n:>5} {d:>3} {rel:>8g} {'POT ' + method:<26} "
                                f"{elapsed:>8.3f} {str(n_iter):>7} {status}"
                                f"{'' if ok else '  failed'}")
                ratio = "POT failed" if not np.isfinite(best) else f"{best / ours:.1f}x"
                ok = "" if res.converged else "  (not converged)"
                print(f"{n:>5} {d:>3} {rel:>8g} {'skwass sinkhorn':<26} {ours:>8.3f} "
                      f"{res.n_iter:>7} {our_err:9.1e} {ratio:>16}{ok}")
                for row in rows:
                    print(row)
            two_matvecs = matvec_time(C)
            print(f"  n={n} d={d}: skwass time per iteration / two BLAS matvecs = "
                  + ", ".join(f"{t / two_matvecs:.2f}" for t in per_iter)
                  + f"  (eps/mean = {', '.join(map(str, eps_rels))})")
            sys.stdout.flush()


def rss_bytes():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def online_run(n):
    from skwass.ot import cost_matrix, sinkhorn_points

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + [1.0, 0.0, 0.0]
    eps = 0.01 * cost_matrix(X[:2000], Y[:2000]).mean()
    sinkhorn_points(X[:50], Y[:50], eps=eps, mode="online", tol=TOL)  # JIT warm-up
    base = rss_bytes()
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.05)

    thread = threading.Thread(target=sample)
    thread.start()
    start = time.perf_counter()
    res = sinkhorn_points(X, Y, eps=eps, mode="online", tol=TOL, max_iter=100_000)
    elapsed = time.perf_counter() - start
    done.set()
    thread.join()
    print(f"online n=m={n}, d=3, eps=0.01 x mean cost: time {elapsed:.1f} s, "
          f"{res.n_iter} iterations, L1 error {res.marginal_error:.1e}, "
          f"converged={res.converged}, peak extra RSS {(peak[0] - base) / 2**20:.1f} MiB "
          f"(a dense float64 cost matrix would be {n * n * 8 / 1e9:.1f} GB)")


def compile_times():
    code = ("import time, numpy as np; t = time.perf_counter(); from skwass.ot import sinkhorn;"
            "sinkhorn(None, None, np.random.default_rng(0).random((10, 10)), 0.1);"
            "print(f'{time.perf_counter() - t:.1f}')")
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        cold = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              env={**os.environ, "NUMBA_CACHE_DIR": cache}).stdout.strip()
    subprocess.run([sys.executable, "-c", code], capture_output=True)
    warm = subprocess.run([sys.executable, "-c", code], capture_output=True,
                          text=True).stdout.strip()
    print(f"first sinkhorn call incl. import: {cold} s with an empty Numba cache, "
          f"{warm} s with the cache filled")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 2000, 4000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 64])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.01, 0.001])
    parser.add_argument("--pot-max-iter", type=int, default=100_000)
    parser.add_argument("--pot-methods", nargs="+", default=POT_METHODS, choices=POT_METHODS)
    parser.add_argument("--online-n", type=int, default=20_000)
    parser.add_argument("--skip-online", action="store_true")
    parser.add_argument("--only-online", action="store_true")
    args = parser.parse_args()
    if not args.only_online:
        compile_times()
        dense_table(args.sizes, args.dims, args.eps, args.pot_max_iter, args.pot_methods)
    if not args.skip_online:
        online_run(args.online_n)


if __name__ == "__main__":
    main()
