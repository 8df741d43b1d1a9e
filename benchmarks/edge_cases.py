"""Print how skwass.ot answers the numerical edge cases of a fuzz pass (issue 20).

Each line is one reproducer and what came back: a finite value (with the check
that makes it right) or the error class and the start of its message. Then the
condition numbers of the primal-gradient adjoint systems that explain case 1.
Not a test: the assertions live in tests/test_sinkhorn.py, test_divergence.py,
test_costs.py, test_datasets.py and test_impute.py.

    python benchmarks/edge_cases.py
"""

import warnings

import numpy as np

from skwass._backend import get_backend
from skwass.ot import cost_matrix, sinkhorn, sinkhorn_divergence, sinkhorn_loss, sinkhorn_points

rng = np.random.default_rng(1)
X, Y = rng.normal(size=(40, 3)), rng.normal(size=(30, 3)) + 0.5
C = cost_matrix(X, Y)
zero_first = np.r_[0.0, np.full(39, 1 / 39)]


def plan_error(res):
    P = res.plan()
    return np.abs(P.sum(axis=1) - res.a).sum() + np.abs(P.sum(axis=0) - res.b).sum()


def range_problem(R, dtype=np.float64, low=0.0):
    res = sinkhorn(None, None, np.where(C > C.mean(), R, low).astype(dtype), eps=1.0)
    return (f"converged={res.converged} marginal_error={res.marginal_error:.3g} "
            f"error of plan()={plan_error(res):.3g}")


CASES = [
    ("1 primal gradient, eps = 3e-3 x mean",
     lambda: sinkhorn_divergence(X, Y, eps=3e-3 * C.mean(), kind="primal",
                                 return_grad=True)[0]),
    ("1 primal gradient, eps = 1e-3 x mean",
     lambda: sinkhorn_divergence(X, Y, eps=1e-3 * C.mean(), kind="primal",
                                 return_grad=True)[0]),
    ("2 W_L, zero weight", lambda: sinkhorn_loss(X, Y, zero_first, eps=1.0)),
    ("2 primal n_iter=5, zero weight",
     lambda: sinkhorn_divergence(X, Y, zero_first, eps=1.0, kind="primal", n_iter=5)),
    ("2 W_L, zero weight, eps = 1e-3 (log domain)",
     lambda: sinkhorn_loss(X, Y, zero_first, eps=1e-3, return_grad=True)[0]),
    ("3 costs {0, 1e12}, eps = 1", lambda: range_problem(1e12)),
    ("3 costs {0, 1e16}, eps = 1", lambda: range_problem(1e16)),
    ("3 float32 costs {1e-30, 1e30}", lambda: range_problem(1e30, np.float32, 1e-30)),
    ("6 W_L, eps = 1e-20", lambda: sinkhorn_loss(X, Y, eps=1e-20)),
    ("7 W_L, eps = 1e-310", lambda: sinkhorn_loss(X, Y, eps=1e-310)),
    ("8 sinkhorn, eps = 5e-324", lambda: sinkhorn(None, None, C, eps=5e-324).value),
    ("8 sinkhorn_points, eps = 5e-324", lambda: sinkhorn_points(X, Y, eps=5e-324).value),
    ("8 costs 10^U(-300, 300), eps = 1e-300",
     lambda: sinkhorn(None, None, 10.0 ** rng.uniform(-300, 300, (40, 30)), eps=1e-300).value),
    ("9 cost_matrix at 1e155",
     lambda: cost_matrix([[1e155, 0.0]], [[1e155, 0.0], [-1e155, 0.0]])),
    ("9 sinkhorn_points x 1e155, eps = 1e300",
     lambda: sinkhorn_points(X * 1e155, Y * 1e155, eps=1e300).value),
    ("9 float32 points x 1e19 (online)",
     lambda: sinkhorn_points((X * 1e19).astype(np.float32), (Y * 1e19).astype(np.float32),
                             eps=1.0, mode="online").value),
    ("10 sinkhorn, eps = 1e-300", lambda: sinkhorn(None, None, C, eps=1e-300).value),
]


def adjoint_conditions(eps):
    """Condition numbers of the general adjoint system I - R^T Q + 1 b^T for the
    pair and the self term, and of the self term's symmetric system I + Q."""
    out = []
    for P1, P2 in ((X, Y), (X, X)):
        Cm = cost_matrix(P1, P2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = sinkhorn(None, None, Cm, eps, tol=1e-12, max_iter=20_000)
        n, m = Cm.shape
        backend = get_backend(Cm)
        Q = backend.plan_matrix(Cm, res.f, res.g, np.zeros(n), np.log(res.b), eps)
        R = backend.plan_matrix(Cm, res.f, res.g, np.log(res.a), np.zeros(m), eps)
        out.append(np.linalg.cond(np.eye(m) - R.T @ Q + np.outer(np.ones(m), res.b)))
    out.append(np.linalg.cond(np.eye(40) + Q))
    return out


def main():
    print(f"{'case':46s} outcome")
    for name, call in CASES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome = call()
                outcome = f"{outcome:.6g}" if np.ndim(outcome) == 0 and not isinstance(
                    outcome, str) else str(outcome)
            except Exception as error:  # noqa: BLE001 - the point is to print it
                outcome = f"{type(error).__name__}: {str(error)[:90]}"
        note = f" [{caught[0].category.__name__}]" if caught else ""
        print(f"{name:46s} {outcome}{note}")
    print()
    print("condition numbers of the primal adjoint systems (case 1)")
    print(f"{'eps / mean cost':>16s} {'pair I-RtQ':>12s} {'self I-RtQ':>12s} {'self I+Q':>10s}")
    for scale in (1e-1, 1e-2, 3e-3, 1e-3):
        pair, self_general, self_symmetric = adjoint_conditions(scale * C.mean())
        print(f"{scale:16.0e} {pair:12.3g} {self_general:12.3g} {self_symmetric:10.3g}")


if __name__ == "__main__":
    main()
