"""Multiscale Sinkhorn for large point clouds: grid clusters and kernel truncation.

Schmitzer (2019) and Feydy's GeomLoss ``multiscale`` backend solve large
problems by keeping only the pairs of points that carry mass. Here:

1. each cloud is sorted into the cells of one grid whose side follows the
   kernel's length scale (``sqrt(eps)`` for the squared Euclidean cost);
2. the coarse problem between the cells' centroids (weighted by the cells'
   mass) is solved densely, with eps-scaling;
3. its potentials are extended to the points by a c-transform and the points'
   problem is solved by log-domain Sinkhorn over the kept pairs of cells only:
   a pair of cells is kept unless a bound (box distance and the largest
   potential in each cell) shows its share of the plan is negligible;
4. the bound on the mass of the dropped pairs is recomputed with the final
   potentials; if it exceeds the budget, the block list is rebuilt and the
   solve continues on the new list. A solve that has not converged is checked
   the same way after 50 iterations, then 100 more, 200 more... (Rebuilding
   whenever the new list merely differed cost a round per pair of cells
   flickering at the cut: ten rounds of one iteration each at 100,000 points.)
   The bound is counted in ``marginal_error``, so the result never claims more
   accuracy than it has.

Memory is O(n + m + kept pairs of cells); the work per iteration is the number
of point pairs in kept cells, about ``n`` times the points within a few kernel
widths.
"""

import numpy as np

from skwass._backend import numpy_backend as backend

# Fewer points per cell than this on average makes the coarse problem too large.
# The blocks stay long with small cells (runs of kept cells merge into one range
# of points), and smaller cells bound the pairs' mass more tightly: at 25,000
# points in d = 3, eps = 0.005, 8 instead of 32 visits 3.5x fewer pairs per
# c-transform and starts closer (16 iterations instead of 43);
# benchmarks/bench_sinkhorn.py --multiscale prints the times.
_MIN_POINTS_PER_CELL = 8

# The dropped pairs may carry at most this share of tol (they count twice in
# the L1 marginal error: once in the rows, once in the columns).
_TRUNCATION_SHARE = 0.05

# Iterations of the first round of "solve on the block list, check it against
# the new potentials"; each later round may take twice as many. A solve that
# does not converge on its list must not run on it for long: where the kept
# pairs split the clouds into groups whose masses differ, the potentials of
# each group drift apart without bound, and so does the mass of the pairs
# left out between them (Gaussian clouds at tol 1e-8 ran 10,000 iterations on
# one list and ended with an L1 error of 2.6e9). The check then rebuilds the
# list with those pairs.
_FIRST_ROUND_ITERATIONS = 50

# Grids in more dimensions have too many cells around each point to save work.
MAX_DIMENSION = 3


class Clusters:
    """Points sorted into grid cells.

    Attributes: ``order`` (the permutation that sorts the points by cell),
    ``points`` (sorted), ``log_w`` (their log weights), ``start`` (cell ``k``
    is ``points[start[k]:start[k + 1]]``), ``cluster`` (each sorted point's
    cell), ``lo``/``hi`` (the cells' bounding boxes of actual points),
    ``weight`` and ``centroid`` per cell.
    """

    def __init__(self, X, w, origin, cell):
        keys = np.floor((X - origin) / cell).astype(np.int64)
        flat = np.ravel_multi_index(keys.T, keys.max(axis=0) + 1)
        self.order = np.argsort(flat, kind="stable")
        _, first, self.cluster = np.unique(flat[self.order], return_index=True,
                                           return_inverse=True)
        self.start = np.append(first, X.shape[0]).astype(np.int64)
        self.points = np.ascontiguousarray(X[self.order])
        w = w[self.order]
        with np.errstate(divide="ignore"):
            self.log_w = np.log(w)
        self.lo = np.minimum.reduceat(self.points, first)
        self.hi = np.maximum.reduceat(self.points, first)
        self.weight = np.add.reduceat(w, first)
        counts = np.diff(self.start)
        mass = np.where(self.weight > 0, self.weight, 1.0)
        weighted = np.add.reduceat(self.points * w[:, None], first) / mass[:, None]
        plain = np.add.reduceat(self.points, first) / counts[:, None]
        self.centroid = np.where((self.weight > 0)[:, None], weighted, plain)
        # Selection weights never vanish, so that zero-weight points still get
        # the blocks their c-transform values need (an upper bound stays one).
        floor = w[w > 0].min() if np.any(w > 0) else 1.0
        self.log_select = np.log(np.maximum(self.weight, floor * counts))

    def tops(self, potential):
        """The largest potential in each cell."""
        return np.maximum.reduceat(potential, self.start[:-1])

    def unsort(self, values):
        out = np.empty_like(values)
        out[self.order] = values
        return out


def grid_cell(eps, metric, span, n):
    """Side of the grid cells: the kernel's length scale, or larger when points are few.

    The kernel ``exp(-c / eps)`` falls by ``e`` over ``sqrt(eps)`` for the
    squared Euclidean cost and over ``eps`` for the others.
    """
    length = float(np.sqrt(eps)) if metric == "sqeuclidean" else float(eps)
    volume = float(np.prod(np.maximum(span, 1e-300)))
    sparse = (volume * _MIN_POINTS_PER_CELL / n) ** (1.0 / span.shape[0])
    return max(length, sparse, float(span.max()) * 1e-6)


class BlockProblem:
    """The points' problem restricted to kept pairs of cells."""

    def __init__(self, X, Y, eps, metric, tol):
        self.X, self.Y, self.eps, self.metric = X, Y, eps, metric
        self.log_budget = np.log(_TRUNCATION_SHARE * tol)
        self.blocks = None

    def select(self, f, g):
        """Keep the block list while the pairs it drops can carry at most the budget
        under ``(f, g)``; otherwise rebuild it for ``(f, g)``. Returns whether it was
        rebuilt."""
        X, Y = self.X, self.Y
        bounds = (X.lo, X.hi, X.tops(f), X.log_select, Y.lo, Y.hi, Y.tops(g), Y.log_select,
                  self.eps)
        if self.blocks is not None:
            self.dropped = backend.dropped_bound(*bounds, *self.blocks, self.metric)
            if self.dropped <= np.exp(self.log_budget):
                return False
        ptr, idx, self.dropped = backend.select_blocks(*bounds, self.log_budget, self.metric)
        self.blocks = ptr, idx
        self.row_ranges = backend.point_ranges(ptr, idx, Y.start)
        self.transposed = backend.transpose_blocks(ptr, idx, len(Y.weight))
        self.col_ranges = backend.point_ranges(*self.transposed, X.start)
        return True

    def rows(self, g):
        X, Y = self.X, self.Y
        return backend.ctransform_blocks(X.points, X.cluster, Y.points, self.row_ranges, g,
                                         Y.log_w, self.eps, self.metric)

    def cols(self, f):
        X, Y = self.X, self.Y
        return backend.ctransform_blocks(Y.points, Y.cluster, X.points, self.col_ranges, f,
                                         X.log_w, self.eps, self.metric)

    def statistics(self, f, g):
        """``(<P, C>, row sums, column sums)`` of the kept part of the plan, sorted order."""
        X, Y = self.X, self.Y
        rows, cost = backend.plan_rows_blocks(X.points, X.cluster, Y.points, self.row_ranges,
                                              f, g, X.log_w, Y.log_w, self.eps, self.metric)
        cols, _ = backend.plan_rows_blocks(Y.points, Y.cluster, X.points, self.col_ranges, g,
                                           f, Y.log_w, X.log_w, self.eps, self.metric)
        return cost, rows, cols

    def cost_gradient(self, f, g):
        """``sum_j P_ij grad_x c(x_i, y_j)`` in the caller's point order."""
        X, Y = self.X, self.Y
        f, g = f[X.order], g[Y.order]
        return X.unsort(backend.plan_cost_gradient_blocks(
            X.points, X.cluster, Y.points, self.row_ranges, f, g, X.log_w, Y.log_w, self.eps,
            self.metric))

    def extend(self, F):
        """The c-transform of the cells' potential ``F`` against the cells of ``X``, at
        the points of ``Y``."""
        X, Y = self.X, self.Y
        with np.errstate(divide="ignore"):
            log_A = np.log(X.weight)
        # Each cell of X is one "point" here: its ranges are runs of cells.
        cells = np.arange(len(X.weight) + 1, dtype=np.int64)
        return backend.ctransform_blocks(Y.points, Y.cluster, X.centroid,
                                         backend.point_ranges(*self.transposed, cells), F,
                                         log_A, self.eps, self.metric)

    def iterate(self, f, g, tol, max_iter):
        """Over-relaxed log-domain Sinkhorn on the kept blocks, in place
        (:func:`~skwass._kernels._log_domain.sinkhorn_blocks`); returns the number
        of iterations and the L1 marginal error, and leaves ``f`` the exact
        c-transform of ``g``."""
        X, Y = self.X, self.Y
        return backend.sinkhorn_blocks(X.points, X.cluster, Y.points, Y.cluster,
                                       self.row_ranges, self.col_ranges, X.log_w, Y.log_w,
                                       self.eps, f, g, tol, max_iter, self.metric)

    def iterate_symmetric(self, f, tol, max_iter):
        """Symmetric updates ``f <- (f + T f) / 2`` for ``OT(a, a)`` (``Y`` is ``X``), as
        :func:`~skwass._kernels._log_domain.sinkhorn_symmetric`."""
        X = self.X
        return backend.sinkhorn_symmetric_blocks(X.points, X.cluster, self.row_ranges,
                                                 X.log_w, self.eps, f, tol, max_iter,
                                                 self.metric)


def _rounds(problem, iterate, potentials, tol, max_iter, start=None):
    """Solve on the block list and check it against the new potentials, until the solve
    converges and the pairs the list drops carry at most the budget. The list is
    first checked against ``start`` (default: ``potentials``)."""
    tol = (1.0 - 4 * _TRUNCATION_SHARE) * tol
    n_iter = 0
    cap = _FIRST_ROUND_ITERATIONS
    problem.select(*(potentials if start is None else start))
    while n_iter < max_iter:
        it, err = iterate(tol, min(cap, max_iter - n_iter))
        n_iter += it
        rebuilt = problem.select(*potentials)
        if err <= tol and not rebuilt:
            break
        cap *= 2
    return n_iter


def _problem(X, Y, a, b, eps, metric, tol):
    origin = np.minimum(X.min(axis=0), Y.min(axis=0))
    span = np.maximum(X.max(axis=0), Y.max(axis=0)) - origin
    cell = grid_cell(eps, metric, span, max(X.shape[0], Y.shape[0]))
    cx = Clusters(X, a, origin, cell)
    cy = cx if Y is X else Clusters(Y, b, origin, cell)
    return BlockProblem(cx, cy, eps, metric, tol)


def solve_multiscale(X, Y, a, b, eps, metric, tol, max_iter, coarse_solver, init=None):
    """Potentials of the entropic OT problem between large clouds, by truncated blocks.

    ``coarse_solver(A, B, centroids_x, centroids_y)`` returns the potentials of
    the cells' problem; ``init``, point potentials, replaces it. Returns
    ``(f, g, n_iter, problem)``, ``f`` and ``g`` in the caller's point order.
    ``problem.statistics`` (sorted order) gives the kept part of the plan and
    ``problem.dropped`` bounds the mass of the rest.
    """
    problem = _problem(X, Y, a, b, eps, metric, tol)
    cx, cy = problem.X, problem.Y
    if init is None:
        F, G = coarse_solver(cx.weight, cy.weight, cx.centroid, cy.centroid)
        problem.select(F[cx.cluster], G[cy.cluster])
        g = problem.extend(F)
        f = problem.rows(g)
    else:
        f, g = init[0][cx.order], init[1][cy.order]
    n_iter = _rounds(problem, lambda tol_, cap: problem.iterate(f, g, tol_, cap), (f, g),
                     tol, max_iter)
    return cx.unsort(f), cy.unsort(g), n_iter, problem


def solve_symmetric_multiscale(X, a, eps, metric, tol, max_iter, coarse_solver):
    """:func:`solve_multiscale` for ``OT(a, a)`` with symmetric updates.

    ``coarse_solver(A, centroids)`` returns the cells' symmetric potential.
    Returns ``(f, n_iter, problem)``.
    """
    problem = _problem(X, X, a, a, eps, metric, tol)
    cx = problem.X
    F = coarse_solver(cx.weight, cx.centroid)
    problem.select(F[cx.cluster], F[cx.cluster])
    g = problem.extend(F)
    f = problem.rows(g)
    # The first block list is that of (f, g): f = T g gives every row its whole
    # mass, so no row loses all its blocks. The plan of (f, f) need not: where
    # f is far below g (sparse regions), (f, f) would drop whole rows and
    # their c-transforms would be infinite.
    n_iter = _rounds(problem, lambda tol_, cap: problem.iterate_symmetric(f, tol_, cap),
                     (f, f), tol, max_iter, start=(f, g))
    return cx.unsort(f), n_iter, problem
