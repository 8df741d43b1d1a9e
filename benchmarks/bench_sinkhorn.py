"""skwass Sinkhorn vs every POT Sinkhorn method, measured side by side in one process.

    python benchmarks/bench_sinkhorn.py --quick          # smoke run, n=500, < 2 min
    python benchmarks/bench_sinkhorn.py                  # full grid + online + compile time
    python benchmarks/bench_sinkhorn.py --sizes 1000 2000 --skip-online
    python benchmarks/bench_sinkhorn.py --multiscale     # large clouds: multiscale vs peers

``--multiscale`` solves uniform clouds in the unit cube, cost ``|x - y|^2 / 2``
and eps = 0.0025 (GeomLoss's default blur 0.05), to an L1 marginal error of
1e-3, each run in a fresh process (peak RSS sampled every 50 ms): skwass
multiscale at growing n (d = 3; ``--stretch`` adds 10^6 points in d = 2),
skwass online, and GeomLoss on the CPU (tensorized, and ``online`` when
pykeops works) where each finishes. ``--geomloss-python`` names a Python that
has torch and geomloss (they are not skwass dependencies). GeomLoss stops after
its eps-annealing schedule rather than at a tolerance, so its row of the table
gives the L1 error its potentials reach, recomputed here pair by pair.

Every solver gets the same float64 cost matrix ``C`` (sqeuclidean) and the same
tolerance 1e-6. POT's ``stopThr`` measures a different quantity in each method
(L2 norm of one marginal, squared norms of both, checked every 10 or 20
iterations), so the final L1 marginal error ``|P1 - a|_1 + |P^T 1 - b|_1`` is
recomputed here from every returned plan, skwass included. A method "reached
the tolerance" (status ``ok``) when that error is <= 1e-6 and the plan is finite.

POT gets an iteration budget of ``--pot-max-iter`` (``sinkhorn_epsilon_scaling``
counts outer loops of up to 100 inner iterations, so it gets budget / 100 of
them), further capped so that one run takes about ``--pot-time-cap`` seconds
(estimated from a short probe run); the note column says when that happened.
A POT method is "skipped (slow)" at larger n when it needed the whole time cap
(or more than 120 s) at a smaller n for the same d and eps. When a POT method
stops on its own criterion with an L1 error just above 1e-6 (< 1e-4), it is rerun
once with stopThr = 1e-7 and that run is reported (see the note column).
Runs shorter than 1 s are timed three times, for skwass and POT alike, and the
fastest is reported (a single short run varied 2-4x with memory placement and
thread wake-ups).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import warnings

import numpy as np

TOL = 1e-6
POT_METHODS = ["sinkhorn", "sinkhorn_log", "sinkhorn_stabilized", "sinkhorn_epsilon_scaling"]
SLOW_SECONDS = 120.0
SHORT_RUN = 1.0  # seconds; shorter runs are timed three times, the fastest kept

COLUMNS = [("n", 5), ("d", 3), ("eps/mean", 8), ("method", 28), ("time [s]", 9),
           ("iters", 9), ("L1 error", 9), ("status", 15), ("POT/skwass", 11), ("note", 0)]


def fmt_row(*values):
    cells = []
    for (name, width), value in zip(COLUMNS, values, strict=True):
        text = str(value)
        cells.append(text.ljust(width) if name in ("method", "status", "note")
                     else text.rjust(width))
    return " ".join(cells).rstrip()


def l1_error(P, a, b):
    P = np.asarray(P)
    if not np.all(np.isfinite(P)):
        return np.inf
    return float(np.abs(P.sum(1) - a).sum() + np.abs(P.sum(0) - b).sum())


def fmt_err(err):
    return f"{err:9.2e}" if np.isfinite(err) else "nan/inf"


def two_matvec_time(C, reps=21):
    """Fastest of ``reps`` timings of ``C @ v`` and ``C.T @ u`` (NumPy's BLAS)."""
    u, v = np.ones(C.shape[0]), np.ones(C.shape[1])
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        C @ v
        C.T @ u
        times.append(time.perf_counter() - start)
    return float(np.min(times))


def marginal_iteration_time(C, eps, short=20, long=220, reps=5):
    """skwass seconds per extra Sinkhorn iteration, per-solve fixed costs cancelled.

    Solves the same problem with ``short`` and ``long`` iterations (no
    eps-scaling, a tolerance it cannot reach) and divides the difference of
    the fastest of ``reps`` timings each by the difference of the iterations
    actually done (a solve that reaches an exact fixed point stops early).
    """
    from skwass.ot import sinkhorn

    def timed(n_iter):
        times = []
        for _ in range(reps):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                start = time.perf_counter()
                res = sinkhorn(None, None, C, eps, tol=1e-300, max_iter=n_iter,
                               eps_scaling=None)
                times.append(time.perf_counter() - start)
        return float(np.min(times)), res.n_iter

    (t_short, n_short), (t_long, n_long) = timed(short), timed(long)
    return (t_long - t_short) / max(n_long - n_short, 1)


def make_problem(rng, n, d):
    X = rng.standard_normal((n, d))
    Y = rng.standard_normal((n, d))
    Y[:, 0] += 1.0
    return X, Y


# --------------------------------------------------------------------------- skwass
def run_skwass(a, b, C, eps, max_iter):
    from skwass.ot import sinkhorn

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            res = sinkhorn(a, b, C, eps, tol=TOL, max_iter=max_iter)
        except Exception as exc:  # noqa: BLE001 - reported as a failure
            return dict(time=time.perf_counter() - start, iters="-", err=np.inf,
                        status=f"error: {type(exc).__name__}", note=str(exc)[:60])
        elapsed = time.perf_counter() - start
        for _ in range(2 if elapsed < SHORT_RUN else 0):
            start = time.perf_counter()
            sinkhorn(a, b, C, eps, tol=TOL, max_iter=max_iter)
            elapsed = min(elapsed, time.perf_counter() - start)
    err = l1_error(res.plan(), a, b)
    ok = err <= TOL
    note = []
    if abs(err - res.marginal_error) > 1e-9:
        note.append(f"reported marginal_error {res.marginal_error:.2e}")
    if caught:
        note.append(f"{len(caught)} warning(s)")
    return dict(time=elapsed, iters=res.n_iter, err=err, status="ok" if ok else "failed",
                note="; ".join(note), n_iter=res.n_iter)


# --------------------------------------------------------------------------- POT
def _pot_call(ot, method, a, b, C, eps, num_iter, stop=TOL):
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        start = time.perf_counter()
        try:
            P, log = ot.sinkhorn(a, b, C, eps, method=method, stopThr=stop,
                                 numItermax=num_iter, log=True)
            exc = None
        except Exception as e:  # noqa: BLE001 - reported as a failure
            P, log, exc = None, {}, e
        elapsed = time.perf_counter() - start
    return P, log, exc, elapsed, [str(w.message) for w in caught]


def pot_iterations(method, log):
    if method == "sinkhorn_epsilon_scaling":
        if "niter" in log:  # outer loops, each up to 100 stabilized iterations
            return f"<={100 * (log['niter'] + 1)}"
    for key in ("niter", "n_iter"):
        if key in log:
            return str(int(log[key]) + 1)
    return f"~{10 * len(log.get('err', []))}"


def run_pot(ot, method, a, b, C, eps, max_iter, time_cap, retry_tighter=True):
    # Probe the cost of one iteration so that a run takes at most ~time_cap.
    probe_method = "sinkhorn_stabilized" if method == "sinkhorn_epsilon_scaling" else method
    # sinkhorn_stabilized checks its error (a full plan) every 20 iterations: probe 21.
    probe_iters = 5 if probe_method == "sinkhorn_log" else 21
    *_, probe_time, _ = _pot_call(ot, probe_method, a, b, C, eps, probe_iters)
    per_iter = max(probe_time / probe_iters, 1e-7)
    if method == "sinkhorn_epsilon_scaling":
        fair = max(1, max_iter // 100)
        allowed = min(fair, max(1, int(time_cap / (100 * per_iter))))
        unit = "outer loops"
    else:
        fair = max_iter
        allowed = min(fair, max(10, int(time_cap / per_iter)))
        unit = "it"
    stop = TOL
    P, log, exc, elapsed, msgs = _pot_call(ot, method, a, b, C, eps, allowed)
    note = []
    stopped_early = exc is None and log.get("niter", log.get("n_iter", allowed)) + 1 < allowed
    if stopped_early and retry_tighter and TOL < l1_error(P, a, b) < 1e-4:
        # POT stopped on its own (looser) criterion just short of the L1 tolerance:
        # rerun once with stopThr / 10 and report that run.
        first = l1_error(P, a, b)
        stop = TOL / 10
        P, log, exc, elapsed, msgs = _pot_call(ot, method, a, b, C, eps, allowed, stop=stop)
        note.append(f"rerun with stopThr={TOL / 10:g} (stopThr={TOL:g} gave {first:.1e})")
    for _ in range(2 if exc is None and elapsed < SHORT_RUN else 0):
        elapsed = min(elapsed, _pot_call(ot, method, a, b, C, eps, allowed, stop=stop)[3])
    if allowed < fair:
        note.append(f"budget capped to {allowed} {unit} (~{time_cap:g} s)")
    if exc is not None:
        return dict(time=elapsed, iters="-", err=np.inf,
                    status=f"error: {type(exc).__name__}",
                    note="; ".join(note + [str(exc)[:50]]), hit_cap=allowed < fair)
    err = l1_error(P, a, b)
    ok = err <= TOL
    if msgs:
        kinds = sorted({"numerical errors" if "umerical" in m else
                        "not converged" if "converge" in m else m[:30] for m in msgs})
        note.append("POT warned: " + ", ".join(kinds))
    hit_cap = (not ok and elapsed >= 0.8 * time_cap) or elapsed > SLOW_SECONDS
    return dict(time=elapsed, iters=pot_iterations(method, log), err=err,
                status="ok" if ok else "failed", note="; ".join(note), hit_cap=hit_cap)


# --------------------------------------------------------------------------- dense table
def dense_table(args):
    import ot

    from skwass.ot import cost_matrix, sinkhorn

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sinkhorn(None, None, np.random.default_rng(0).random((20, 20)), 0.05)  # JIT
    print(f"(skwass JIT warm-up in this process: {time.perf_counter() - t0:.1f} s, "
          f"not included below)")
    print(f"POT {ot.__version__}; iteration budget {args.pot_max_iter}, "
          f"time cap ~{args.pot_time_cap:g} s per POT run; skwass max_iter "
          f"{args.skwass_max_iter}; tol = {TOL:g} on the L1 marginal error\n")

    header = fmt_row(*(name for name, _ in COLUMNS))
    print(header)
    print("-" * max(len(header), 130))
    rng = np.random.default_rng(args.seed)
    slow = set()  # (method, d, eps_rel) that hit the cap at a smaller n
    summary = []
    for n in args.sizes:
        for d in args.dims:
            X, Y = make_problem(rng, n, d)
            C = cost_matrix(X, Y, metric="sqeuclidean")
            a = b = np.full(n, 1.0 / n)
            mean_cost = float(C.mean())
            per_iter = []
            for rel in args.eps:
                eps = rel * mean_cost
                ours = run_skwass(a, b, C, eps, args.skwass_max_iter)
                per_iter.append(ours["time"] / max(ours.get("n_iter", 1), 1))
                pot_rows = []
                for method in args.pot_methods:
                    key = (method, d, rel)
                    if key in slow:
                        pot_rows.append((method, None))
                        continue
                    r = run_pot(ot, method, a, b, C, eps, args.pot_max_iter,
                                args.pot_time_cap, not args.no_pot_retry)
                    if r["hit_cap"]:
                        slow.add(key)
                    pot_rows.append((method, r))
                converged = [r["time"] for _, r in pot_rows if r and r["status"] == "ok"]
                if ours["status"] != "ok":
                    ratio = "skw failed"
                elif converged:
                    ratio = f"{min(converged) / ours['time']:.2f}x"
                else:
                    ratio = "POT failed"
                summary.append((n, d, rel, ours["status"], ratio))
                print(fmt_row(n, d, f"{rel:g}", "skwass sinkhorn", f"{ours['time']:.3f}",
                              ours["iters"], fmt_err(ours["err"]), ours["status"], ratio,
                              ours["note"]))
                for method, r in pot_rows:
                    if r is None:
                        print(fmt_row(n, d, f"{rel:g}", f"POT {method}", "-", "-", "-",
                                      "skipped (slow)", "", "hit the time cap at smaller n"))
                    else:
                        print(fmt_row(n, d, f"{rel:g}", f"POT {method}", f"{r['time']:.3f}",
                                      r["iters"], fmt_err(r["err"]), r["status"], "",
                                      r["note"]))
                sys.stdout.flush()
            mv = two_matvec_time(C)
            ratios = ", ".join(
                f"{rel:g}: {t / mv:.2f}" for rel, t in zip(args.eps, per_iter, strict=True)
            )
            print(f"   n={n} d={d}: skwass time per iteration / two BLAS matvecs "
                  f"({mv * 1e3:.2f} ms) = {ratios}  (includes fixed per-solve overhead)")
            marginal = ", ".join(
                f"{rel:g}: {marginal_iteration_time(C, rel * mean_cost) / mv:.2f}"
                for rel in args.eps
            )
            print(f"   n={n} d={d}: marginal time per iteration (fixed costs cancelled) / two "
                  f"BLAS matvecs = {marginal}  (target <= 1.5)")
            print()
            sys.stdout.flush()
    return summary


# --------------------------------------------------------------------------- online
def online_child(n, max_iter, divergence=False):
    """Runs in a fresh process: RSS before/peak around one online solve (or divergence)."""
    import psutil

    from skwass.ot import cost_matrix, sinkhorn_divergence, sinkhorn_points

    rng = np.random.default_rng(0)
    X, Y = make_problem(rng, n, 3)
    eps = 0.01 * float(cost_matrix(X[:2000], Y[:2000]).mean())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sinkhorn_points(X[:50], Y[:50], eps=eps, mode="online", tol=1e-3)  # JIT
        sinkhorn_divergence(X[:50], Y[:50], eps=eps, mode="online", return_grad=True, tol=1e-3)
    if divergence:
        return online_divergence_child(X, Y, eps, max_iter, psutil.Process())
    proc = psutil.Process()
    base = proc.memory_info().rss
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res, elapsed, extra = _peak_rss(proc, lambda: sinkhorn_points(
            X, Y, eps=eps, mode="online", tol=TOL, max_iter=max_iter))
    status = "ok" if res.marginal_error <= TOL else "failed"
    print(f"online  n=m={n}  d=3  eps=0.01 x mean cost ({eps:.4g})")
    print(f"   time {elapsed:.2f} s, {res.n_iter} iterations "
          f"({elapsed / max(res.n_iter, 1) * 1e3:.1f} ms/iter), L1 error "
          f"{res.marginal_error:.2e} [{status}]{'  (warned)' if caught else ''}")
    print(f"   peak extra RSS during the solve: {extra / 2**20:.1f} MiB "
          f"(RSS before {base / 2**20:.0f} MiB); a dense float64 {n}x{n} cost matrix "
          f"would be {n * n * 8 / 1e9:.2f} GB")
    sys.stdout.flush()


def _peak_rss(proc, fn):
    """``(fn(), seconds, peak RSS - RSS before)`` with RSS sampled every 50 ms."""
    base = proc.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], proc.memory_info().rss)
            time.sleep(0.05)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    out = fn()
    elapsed = time.perf_counter() - start
    done.set()
    thread.join()
    return out, elapsed, max(peak[0], proc.memory_info().rss) - base


def online_divergence_child(X, Y, eps, max_iter, proc):
    """Online Sinkhorn divergence with gradient: the three solves, never a matrix."""
    from skwass.ot import sinkhorn_divergence

    n = X.shape[0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        (value, grad_X, _), elapsed, extra = _peak_rss(proc, lambda: sinkhorn_divergence(
            X, Y, eps=eps, return_grad=True, mode="online", tol=TOL, max_iter=max_iter))
    print(f"online divergence with gradient  n=m={n}  d=3  eps=0.01 x mean cost ({eps:.4g})")
    print(f"   time {elapsed:.2f} s, value {value:.6g}, |grad_X| max {np.abs(grad_X).max():.3g}"
          f"{'  (warned: ' + str(caught[0].message)[:80] + ')' if caught else ''}")
    print(f"   peak extra RSS: {extra / 2**20:.1f} MiB; dense mode would hold three float64 "
          f"{n}x{n} cost matrices and plans ({6 * n * n * 8 / 1e9:.2f} GB)")
    sys.stdout.flush()


def online_section(args):
    print(f"=== online mode (fresh subprocess, n = {args.online_n}) ===")
    sys.stdout.flush()
    cmd = [sys.executable, os.path.abspath(__file__), "--online-only",
           "--online-n", str(args.online_n), "--online-max-iter", str(args.online_max_iter)]
    runs = [cmd] + ([cmd + ["--online-divergence"]] if args.online_divergence else [])
    for run in runs:
        proc = subprocess.run(run, capture_output=True, text=True)
        print(proc.stdout.rstrip())
        if proc.returncode != 0:
            print(f"   online subprocess failed (rc={proc.returncode}):\n{proc.stderr[-2000:]}")
    print()


# --------------------------------------------------------------------------- multiscale
# skwass's "sqeuclidean" is |x - y|^2: twice GeomLoss's p=2 cost, so its eps and
# potentials are twice GeomLoss's.
MULTISCALE_EPS = 2 * 0.0025
MULTISCALE_TOL = 1e-3

GEOMLOSS_CODE = """
import sys, time, numpy as np, torch
from geomloss import SamplesLoss
x_path, y_path, backend, scaling, threads, out = sys.argv[1:7]
torch.set_num_threads(int(threads))
X, Y = (torch.from_numpy(np.load(path)) for path in (x_path, y_path))
loss = SamplesLoss("sinkhorn", p=2, blur=0.05, scaling=float(scaling), debias=False,
                   potentials=True, backend=backend)
start = time.perf_counter()
F, G = loss(X, Y)
elapsed = time.perf_counter() - start
np.savez(out, F=F.numpy().ravel(), G=G.numpy().ravel(), seconds=elapsed)
"""


def multiscale_problem(n, d, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(size=(n, d)), rng.uniform(size=(n, d))


def multiscale_child(method, n, d, max_iter):
    """Runs in a fresh process: one solve, its time, L1 error and peak extra RSS."""
    import psutil

    from skwass.ot import sinkhorn_points

    X, Y = multiscale_problem(n, d)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sinkhorn_points(X[:300], Y[:300], eps=MULTISCALE_EPS, mode=method, tol=1e-3)  # JIT
    proc = psutil.Process()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res, elapsed, extra = _peak_rss(proc, lambda: sinkhorn_points(
            X, Y, eps=MULTISCALE_EPS, mode=method, tol=MULTISCALE_TOL, max_iter=max_iter))
    print(f"{elapsed:.2f} {res.n_iter} {res.marginal_error:.3e} {extra} {int(bool(caught))}")


def geomloss_run(python, backend, scaling, n, d, threads):
    """GeomLoss in a fresh process of ``python``; returns (seconds, L1 error, peak RSS)."""
    import psutil

    from skwass._backend import numpy_backend

    X, Y = multiscale_problem(n, d)
    with tempfile.TemporaryDirectory() as tmp:
        paths = [os.path.join(tmp, name) for name in ("x.npy", "y.npy", "out.npz")]
        np.save(paths[0], X)
        np.save(paths[1], Y)
        proc = subprocess.Popen([python, "-c", GEOMLOSS_CODE, paths[0], paths[1], backend,
                                 str(scaling), str(threads), paths[2]], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        peak = 0
        child = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                peak = max(peak, child.memory_info().rss)
            except psutil.Error:
                break
            time.sleep(0.05)
        _, err = proc.communicate()
        if proc.returncode != 0:
            return None, err.strip().splitlines()[-1] if err.strip() else "failed", peak
        out = np.load(paths[2])
        log_w = np.full(n, -np.log(n))
        _, rows, cols = numpy_backend.plan_statistics_points(
            X, Y, 2 * out["F"], 2 * out["G"], log_w, log_w, MULTISCALE_EPS, "sqeuclidean")
        error = float(np.abs(rows - 1 / n).sum() + np.abs(cols - 1 / n).sum())
        return float(out["seconds"]), error, peak


def multiscale_section(args):
    print(f"=== multiscale: uniform clouds in [0, 1]^d, cost |x - y|^2 / 2, eps = 0.0025, "
          f"tol {MULTISCALE_TOL:g} (L1 marginal error), fresh process per run ===")
    print(f"{'method':34s} {'n':>8s} {'d':>2s} {'time [s]':>9s} {'iters':>6s} "
          f"{'L1 error':>9s} {'peak RSS':>10s} {'bytes/pt':>9s}")
    sys.stdout.flush()
    runs = [("multiscale", n, 3) for n in args.multiscale_sizes]
    runs += [("online", n, 3) for n in args.online_sizes]
    if args.stretch:
        runs.append(("multiscale", 1_000_000, 2))
    for method, n, d in runs:
        cmd = [sys.executable, os.path.abspath(__file__), "--multiscale-child", method,
               str(n), str(d)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        try:
            elapsed, iters, error, extra, warned = proc.stdout.split()
        except ValueError:
            print(f"skwass {method:27s} {n:8d} {d:2d}  failed: {proc.stderr.strip()[-300:]}")
            continue
        print(f"skwass {method:27s} {n:8d} {d:2d} {float(elapsed):9.2f} {int(iters):6d} "
              f"{float(error):9.2e} {int(extra) / 2**20:7.0f} MiB {int(extra) / n:9.0f}"
              f"{'  (warned)' if int(warned) else ''}")
        sys.stdout.flush()
    if args.geomloss_python is None:
        print("GeomLoss: not run (pass --geomloss-python with a Python that has torch, geomloss)")
        return
    # scaling 0.5 is GeomLoss's default annealing; 0.95 anneals slowly, for accuracy.
    for backend, scaling in (("tensorized", 0.5), ("tensorized", 0.95), ("online", 0.5)):
        for n in args.geomloss_sizes:
            # The cores this process may use (taskset, cgroups), not all the machine's.
            seconds, error, peak = geomloss_run(args.geomloss_python, backend, scaling, n, 3,
                                                len(os.sched_getaffinity(0)))
            label = f"GeomLoss {backend}, scaling {scaling} (CPU)"
            if seconds is None:
                print(f"{label:34s} {n:8d}  3  failed: {error[:100]}")
                break
            print(f"{label:34s} {n:8d}  3 {seconds:9.2f} {'-':>6s} {error:9.2e} "
                  f"{peak / 2**20:7.0f} MiB {'(total)':>9s}")
            sys.stdout.flush()
    print()


# --------------------------------------------------------------------------- compile time
COMPILE_CODE = """
import time, warnings
import numpy as np
t0 = time.perf_counter()
from skwass.ot import sinkhorn
t1 = time.perf_counter()
C = np.random.default_rng(0).random((10, 10))
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    sinkhorn(None, None, C, 0.1)
t2 = time.perf_counter()
print(f"{t1 - t0:.2f} {t2 - t1:.2f}")
"""


def compile_section():
    print("=== first-call compile time (10x10 sinkhorn, fresh subprocesses) ===")
    sys.stdout.flush()
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        cold = subprocess.run([sys.executable, "-c", COMPILE_CODE], env=env,
                              capture_output=True, text=True)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    subprocess.run([sys.executable, "-c", COMPILE_CODE], env=env, capture_output=True)  # fill
    warm = subprocess.run([sys.executable, "-c", COMPILE_CODE], env=env,
                          capture_output=True, text=True)
    for label, proc in (("cold (empty NUMBA_CACHE_DIR)", cold), ("warm (default cache)", warm)):
        try:
            imp, first = proc.stdout.split()
            print(f"   {label:<30} first sinkhorn call {first:>6} s  (import {imp} s)")
        except ValueError:
            print(f"   {label:<30} failed: {proc.stderr[-500:]}")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: n=500 only, small POT time cap, no online/compile parts")
    parser.add_argument("--sizes", type=int, nargs="+", default=None,
                        help="n = m values (default 1000 2000 4000; 500 with --quick)")
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 64])
    parser.add_argument("--eps", type=float, nargs="+", default=[0.1, 0.01, 0.001],
                        help="eps as multiples of the mean cost")
    parser.add_argument("--pot-methods", nargs="+", default=POT_METHODS, choices=POT_METHODS)
    parser.add_argument("--pot-max-iter", type=int, default=20_000)
    parser.add_argument("--pot-time-cap", type=float, default=None,
                        help="approximate seconds per POT run (default 60; 3 with --quick)")
    parser.add_argument("--no-pot-retry", action="store_true",
                        help="do not rerun POT with stopThr/10 when it stops short of the L1 tol")
    parser.add_argument("--skwass-max-iter", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--online-n", type=int, default=20_000)
    parser.add_argument("--online-max-iter", type=int, default=100_000)
    parser.add_argument("--skip-online", action="store_true")
    parser.add_argument("--online-divergence", action="store_true",
                        help="also time sinkhorn_divergence(..., mode='online', return_grad=True)")
    parser.add_argument(
        "--online", action="store_true", help="run the online part even with --quick"
    )
    parser.add_argument("--skip-compile-time", action="store_true")
    parser.add_argument("--compile-time", action="store_true",
                        help="run the compile-time part even with --quick")
    parser.add_argument("--skip-dense", action="store_true")
    parser.add_argument("--online-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--multiscale", action="store_true",
                        help="only the large-cloud table: multiscale against its peers")
    parser.add_argument("--multiscale-sizes", type=int, nargs="*",
                        default=[25_000, 50_000, 100_000])
    parser.add_argument("--online-sizes", type=int, nargs="*", default=[10_000, 20_000])
    parser.add_argument("--geomloss-sizes", type=int, nargs="+", default=[10_000, 20_000])
    parser.add_argument("--geomloss-python", default=None)
    parser.add_argument("--stretch", action="store_true", help="add 10^6 points in d = 2")
    parser.add_argument("--multiscale-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.multiscale_child:
        method, n, d = args.multiscale_child
        multiscale_child(method, int(n), int(d), args.online_max_iter)
        return
    if args.multiscale:
        multiscale_section(args)
        return

    if args.online_only:
        online_child(args.online_n, args.online_max_iter, args.online_divergence)
        return
    if args.sizes is None:
        args.sizes = [500] if args.quick else [1000, 2000, 4000]
    if args.pot_time_cap is None:
        args.pot_time_cap = 3.0 if args.quick else 60.0
    run_online = args.online or not (args.quick or args.skip_online)
    run_compile = args.compile_time or not (args.quick or args.skip_compile_time)

    import platform

    import numba

    print(f"bench_sinkhorn: python {platform.python_version()}, numpy {np.__version__}, "
          f"numba {numba.__version__}, {len(os.sched_getaffinity(0))} usable CPUs, float64\n")
    start = time.perf_counter()
    if not args.skip_dense:
        dense_table(args)
    if run_online:
        online_section(args)
    if run_compile:
        compile_section()
    print(f"total wall time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
