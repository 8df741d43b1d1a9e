"""How the OpenMP wait policy changes the speed of skwass's parallel kernels.

Numba's ``omp`` threading layer reads ``OMP_WAIT_POLICY`` and ``GOMP_SPINCOUNT``
once, when the OpenMP runtime loads, so skwass cannot set them for its kernels
alone; importing skwass leaves them to the user. This script measures, side by
side in one run, the dense solver (two parallel regions per iteration) and a
Sinkhorn divergence with gradient in child processes started with each
setting, interleaved in rounds, and prints the median time per solve with its
ratio to the runtime's default (both variables unset).

    python benchmarks/bench_threads.py            # n = 1000, 5 rounds
    python benchmarks/bench_threads.py --n 500 --rounds 3
"""

import argparse
import json
import os
import subprocess
import sys

import numpy as np

SETTINGS = {
    "default (unset)": {},
    "PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
    "PASSIVE + GOMP_SPINCOUNT=3000": {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "3000"},
    "ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"},
}

CHILD = """
import json, sys
import numpy as np
import numba
from _timing import median_time
from skwass.ot import cost_matrix, sinkhorn, sinkhorn_divergence
n, repeats = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + 0.5
C = cost_matrix(X, Y)
eps = 0.01 * C.mean()
small = slice(0, n // 4)
sinkhorn(None, None, C, eps)  # compile
sinkhorn_divergence(X[small], Y[small], eps=eps, return_grad=True)
out = {
    "layer": numba.threading_layer(),
    "solve": median_time(lambda: sinkhorn(None, None, C, eps), repeats),
    "iterations": sinkhorn(None, None, C, eps).n_iter,
    "divergence": median_time(lambda: sinkhorn_divergence(X[small], Y[small], eps=eps,
                                                          return_grad=True), repeats),
}
print(json.dumps(out))
"""


def run_child(settings, n, repeats):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(settings)
    here = os.path.dirname(os.path.abspath(__file__))  # for _timing
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(here), here, env.get("PYTHONPATH", "")])
    done = subprocess.run([sys.executable, "-c", CHILD, str(n), str(repeats)], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="points per cloud (dense solve)")
    parser.add_argument("--rounds", type=int, default=5, help="child processes per setting")
    parser.add_argument("--repeats", type=int, default=5, help="timed solves per child")
    args = parser.parse_args()
    results = {name: [] for name in SETTINGS}
    for _ in range(args.rounds):
        for name, settings in SETTINGS.items():
            results[name].append(run_child(settings, args.n, args.repeats))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    first = next(iter(results.values()))[0]
    print(f"n = {args.n}, d = 3, eps = 0.01 x mean cost, {first['iterations']} iterations, "
          f"threading layer {first['layer']}, {os.cpu_count()} cores, load average {load:.1f}")
    print(f"divergence with gradient on n/4 = {args.n // 4} points")
    print(f"{'setting':32s} {'solve [ms]':>11s} {'ratio':>6s} {'divergence [ms]':>16s} "
          f"{'ratio':>6s}")
    base = {key: np.median([r[key] for r in results["default (unset)"]])
            for key in ("solve", "divergence")}
    for name, runs in results.items():
        solve = np.median([r["solve"] for r in runs])
        divergence = np.median([r["divergence"] for r in runs])
        print(f"{name:32s} {1e3 * solve:11.1f} {solve / base['solve']:6.2f} "
              f"{1e3 * divergence:16.1f} {divergence / base['divergence']:6.2f}")


if __name__ == "__main__":
    main()
