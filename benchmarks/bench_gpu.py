"""skwass on the GPU (CuPy) vs POT's CuPy backend vs skwass on the CPU (Numba).

    python benchmarks/bench_gpu.py                    # n in {2000, 10000, 50000}, d in {2, 64}
    python benchmarks/bench_gpu.py --sizes 2000 --dims 2 --eps 0.1   # smoke run
    python benchmarks/bench_gpu.py --help

Every solver gets the same squared Euclidean problem (two Gaussian clouds,
uniform weights), ``eps`` in {0.1, 0.01} x the mean cost (known in closed form,
so no matrix is needed to set it) and the same tolerance 1e-6 on the L1
marginal error ``|P 1 - a|_1 + |P^T 1 - b|_1``, which is recomputed here from
each returned plan (POT's ``stopThr`` measures something else). At n = 50,000
skwass runs online (costs recomputed from the points, nothing n x m is
allocated) and its error is the one the result reports, computed by the
plan-statistics kernel from the returned potentials; POT and the CPU need
the dense matrix and are skipped there by default (``--pot-max-n``,
``--cpu-max-n``).

Times are wall-clock seconds of the solve alone (cost matrices are built
beforehand and shared; the GPU is synchronized before the clock stops), after
one warm-up solve that compiles the kernels. The ratio columns are
POT time / skwass GPU time and skwass CPU time / skwass GPU time.
Exits with a message when CuPy or a GPU is missing.
"""

import argparse
import sys
import time
import warnings

import numpy as np

TOL = 1e-6


def _cupy_or_exit():
    try:
        import cupy

        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        sys.exit(f"bench_gpu.py needs CuPy and a CUDA GPU ({type(exc).__name__}: {exc}). "
                 "Install the gpu extra: pip install 'skwass[gpu]'.")
    return cupy


def make_problem(rng, n, d):
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, d))
    Y[:, 0] += 1.0
    # Mean squared distance over all pairs, exactly, without the matrix.
    mean_cost = (X * X).sum(1).mean() + (Y * Y).sum(1).mean() - 2.0 * X.mean(0) @ Y.mean(0)
    return X, Y, float(mean_cost)


def l1_error(P, a, b, xp):
    if not bool(xp.isfinite(P).all()):
        return np.inf
    return float(xp.abs(P.sum(1) - a).sum() + xp.abs(P.sum(0) - b).sum())


def timed(fn, sync):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            out, exc = fn(), None
        except Exception as e:  # noqa: BLE001 - reported in the table
            out, exc = None, e
        sync()
        elapsed = time.perf_counter() - start
    return out, exc, elapsed, len(caught)


def run_skwass(cupy, X, Y, C, eps, max_iter, on_gpu):
    from skwass.ot import sinkhorn, sinkhorn_points

    xp = cupy if on_gpu else np
    sync = cupy.cuda.Device().synchronize if on_gpu else (lambda: None)
    if C is None:
        res, exc, elapsed, n_warn = timed(
            lambda: sinkhorn_points(X, Y, eps=eps, mode="online", tol=TOL, max_iter=max_iter),
            sync)
        err = np.inf if exc else res.marginal_error
    else:
        res, exc, elapsed, n_warn = timed(
            lambda: sinkhorn(None, None, C, eps, tol=TOL, max_iter=max_iter), sync)
        n = C.shape[0]
        err = np.inf if exc else l1_error(res.plan(), xp.full(n, 1.0 / n), xp.full(n, 1.0 / n),
                                          xp)
    if exc:
        return dict(time=elapsed, iters="-", err=np.inf, status=f"error: {type(exc).__name__}")
    return dict(time=elapsed, iters=res.n_iter, err=err,
                status="ok" if err <= TOL else f"failed ({n_warn} warn)")


def run_pot(cupy, C, eps, method, max_iter):
    import ot

    n = C.shape[0]
    a = cupy.full(n, 1.0 / n)
    sync = cupy.cuda.Device().synchronize
    out, exc, elapsed, _ = timed(
        lambda: ot.sinkhorn(a, a, C, eps, method=method, stopThr=TOL, numItermax=max_iter,
                            log=True), sync)
    if exc:
        return dict(time=elapsed, iters="-", err=np.inf, status=f"error: {type(exc).__name__}")
    P, log = out
    err = l1_error(P, a, a, cupy)
    return dict(time=elapsed, iters=log.get("niter", "?"), err=err,
                status="ok" if err <= TOL else "tol not reached")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000, 50000])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 64])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.01],
                        help="eps as fractions of the mean cost")
    parser.add_argument("--online-from", type=int, default=20000,
                        help="skwass GPU solves online from this n on (default 20000)")
    parser.add_argument("--pot-max-n", type=int, default=10000)
    parser.add_argument("--cpu-max-n", type=int, default=10000)
    parser.add_argument("--max-iter", type=int, default=100_000)
    parser.add_argument("--pot-max-iter", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    cupy = _cupy_or_exit()
    import ot

    from skwass.ot import cost_matrix, sinkhorn, sinkhorn_points

    print(f"GPU: {cupy.cuda.runtime.getDeviceProperties(0)['name'].decode()}, "
          f"CuPy {cupy.__version__}, POT {ot.__version__}, tolerance {TOL:g} (L1)")
    # Warm-up: compile every kernel (float64, the benchmark's dimensions).
    rng = np.random.default_rng(args.seed)
    for d in args.dims:
        Xw, Yw, _ = make_problem(rng, 64, d)
        Xg, Yg = cupy.asarray(Xw), cupy.asarray(Yw)
        sinkhorn(None, None, cost_matrix(Xg, Yg), 1.0)
        sinkhorn_points(Xg, Yg, eps=1.0, mode="online")
        ot.sinkhorn(cupy.full(64, 1 / 64), cupy.full(64, 1 / 64), cost_matrix(Xg, Yg), 1.0)
    sinkhorn(None, None, cost_matrix(Xw, Yw), 1.0)

    header = (f"{'n':>6} {'d':>3} {'eps/mean':>8} {'solver':<26} {'time [s]':>9} "
              f"{'iters':>7} {'L1 error':>9} {'status':<16} {'ratio':>7}")
    print(header)
    print("-" * len(header))
    summary = []
    for n in args.sizes:
        for d in args.dims:
            X, Y, mean_cost = make_problem(rng, n, d)
            Xg, Yg = cupy.asarray(X), cupy.asarray(Y)
            online = n >= args.online_from
            C_gpu = None if online and n > args.pot_max_n else cost_matrix(Xg, Yg)
            C_cpu = cost_matrix(X, Y) if n <= args.cpu_max_n else None
            for eps_rel in args.eps:
                eps = eps_rel * mean_cost
                rows = [("skwass GPU" + (" (online)" if online else ""),
                         run_skwass(cupy, Xg, Yg, None if online else C_gpu, eps,
                                    args.max_iter, True))]
                base = rows[0][1]["time"]
                if C_gpu is not None and n <= args.pot_max_n:
                    for method in ("sinkhorn", "sinkhorn_log"):
                        rows.append((f"POT GPU {method}",
                                     run_pot(cupy, C_gpu, eps, method, args.pot_max_iter)))
                if C_cpu is not None:
                    rows.append(("skwass CPU (Numba)",
                                 run_skwass(cupy, X, Y, C_cpu, eps, args.max_iter, False)))
                for name, r in rows:
                    ratio = "" if name.startswith("skwass GPU") else f"{r['time'] / base:7.1f}"
                    err = f"{r['err']:9.2e}" if np.isfinite(r["err"]) else "  nan/inf"
                    print(f"{n:>6} {d:>3} {eps_rel:>8g} {name:<26} {r['time']:>9.3f} "
                          f"{r['iters']!s:>7} {err} {r['status']:<16} {ratio:>7}")
                    if ratio:
                        summary.append((n, d, eps_rel, name, r["time"] / base, r["status"]))
            del C_gpu, C_cpu
            cupy.get_default_memory_pool().free_all_blocks()
    print("\nratio = other solver's time / skwass GPU time (> 1: skwass GPU is faster)")
    for name in ("POT GPU sinkhorn", "POT GPU sinkhorn_log", "skwass CPU (Numba)"):
        ratios = [r for (_, _, _, s, r, status) in summary if s == name and status == "ok"]
        if ratios:
            print(f"  vs {name:<22} geometric mean {np.exp(np.mean(np.log(ratios))):6.1f}x "
                  f"over {len(ratios)} cases where it reached the tolerance")


if __name__ == "__main__":
    main()
