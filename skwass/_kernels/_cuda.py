"""CUDA kernels for the CuPy backend: log-sum-exp c-transforms and plan sums.

Private, like the Numba kernels: CuPy arrays and scalars in, arrays out.
CuPy is imported on first use only (this module is imported by
``skwass._backend._cupy``, itself imported only when a CuPy array is seen).

Conventions match :mod:`skwass._kernels._transforms`: potentials in cost units,
``P_ij = exp(log_a_i + log_b_j + (F_i + G_j - C_ij) / eps)``, ``-inf`` log
weights for zero weights. Costs and points are float32 or float64 (``T``);
potentials, weights, exponentials and sums are always float64, as on the CPU.

Every kernel is one pass over the cost matrix (or over all pairs of points):

* ``lse_rows``: one block per row ``i`` (and problem ``k``, ``blockIdx.y``) of
  a row-major ``(B, n, m)`` cost stack; each thread streams a strided slice of
  the row with a one-pass log-sum-exp, then the block merges the ``(max, sum)``
  pairs in shared memory. The column transform is the same kernel on the
  transposed copy ``C^T`` kept by the backend (coalesced reads both ways).
* ``plan_rows``: same layout, sums ``P_ij`` and ``P_ij C_ij`` along a row.
* ``lse_points`` / ``plan_points``: one thread per source point, costs
  computed on the fly; blocks stage tiles of target points in shared memory,
  so an ``n x m`` problem needs ``O((n + m) d)`` memory. ``lse_points`` also
  splits the targets among ``blockIdx.y`` when there are few source points
  (partial ``(max, sum)`` pairs merged afterwards). The column transform
  swaps the two clouds. The dimension and the metric are compile-time
  constants (one compilation per dtype, dimension and metric).
* ``pairwise``: one thread per entry of a dense cost matrix (exact
  pair-by-pair differences, as the CPU kernel).
"""

import functools

import numpy as np

# Largest block of the row kernels (their shared arrays are this long) and of
# the point kernels.
ROW_THREADS = 256
POINT_THREADS = 128
# Target points staged per tile of a point kernel: at most this many bytes of
# dynamic shared memory (under the 48 KiB available without opting in).
_TILE_BYTES = 32 * 1024
_MAX_TILE = 256
METRIC_CODES = {"sqeuclidean": 0, "euclidean": 1, "cityblock": 2}

_COMMON = r"""
#define T_DATA __DTYPE__

__device__ __forceinline__ double neg_inf() {
    return __longlong_as_double(0xfff0000000000000ULL);
}

// One-pass log-sum-exp: (top, acc) represents exp(top) * acc.
__device__ __forceinline__ void lse_push(double& top, double& acc, const double z) {
    if (z == neg_inf()) return;  // zero weight: no contribution
    if (z <= top) {
        acc += exp(z - top);
    } else {
        acc = acc * exp(top - z) + 1.0;
        top = z;
    }
}

__device__ __forceinline__ void lse_merge(double& top, double& acc,
                                          const double top2, const double acc2) {
    if (top2 == neg_inf()) return;
    if (top2 <= top) {
        acc += acc2 * exp(top2 - top);
    } else {
        acc = acc * exp(top - top2) + acc2;
        top = top2;
    }
}
"""

_ROW_KERNELS = r"""
// F[k, i] = -eps_k * log sum_j exp(log_w[k, j] + (G[k, j] - C[k, i, j]) / eps_k)
// grid (n, B), block (power of two <= 256)
extern "C" __global__ void lse_rows(
    const T_DATA* __restrict__ C, const double* __restrict__ G,
    const double* __restrict__ log_w, const double* __restrict__ eps,
    double* __restrict__ out, const int n, const int m)
{
    __shared__ double s_top[256];
    __shared__ double s_acc[256];
    const int i = blockIdx.x;
    const int k = blockIdx.y;
    const int tid = threadIdx.x;
    const double e = eps[k];
    const double inv = 1.0 / e;
    const T_DATA* row = C + ((long long)k * n + i) * (long long)m;
    const double* Gk = G + (long long)k * m;
    const double* wk = log_w + (long long)k * m;
    double top = neg_inf();
    double acc = 0.0;
    for (int j = tid; j < m; j += blockDim.x) {
        lse_push(top, acc, wk[j] + (Gk[j] - (double)row[j]) * inv);
    }
    s_top[tid] = top;
    s_acc[tid] = acc;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            double t = s_top[tid];
            double a = s_acc[tid];
            lse_merge(t, a, s_top[tid + s], s_acc[tid + s]);
            s_top[tid] = t;
            s_acc[tid] = a;
        }
        __syncthreads();
    }
    if (tid == 0) {
        out[(long long)k * n + i] = -e * (s_top[0] + log(s_acc[0]));
    }
}

// mass[k, i] = sum_j P_kij and cost[k, i] = sum_j P_kij C_kij, with
// P_kij = exp(log_u[k, i] + log_w[k, j] + (F[k, i] + G[k, j] - C[k, i, j]) / eps_k)
extern "C" __global__ void plan_rows(
    const T_DATA* __restrict__ C, const double* __restrict__ F,
    const double* __restrict__ log_u, const double* __restrict__ G,
    const double* __restrict__ log_w, const double* __restrict__ eps,
    double* __restrict__ mass, double* __restrict__ cost, const int n, const int m)
{
    __shared__ double s_p[256];
    __shared__ double s_pc[256];
    const int i = blockIdx.x;
    const int k = blockIdx.y;
    const int tid = threadIdx.x;
    const double inv = 1.0 / eps[k];
    const long long ki = (long long)k * n + i;
    const double base = log_u[ki] + F[ki] * inv;
    const T_DATA* row = C + ki * (long long)m;
    const double* Gk = G + (long long)k * m;
    const double* wk = log_w + (long long)k * m;
    double p_sum = 0.0;
    double pc_sum = 0.0;
    for (int j = tid; j < m; j += blockDim.x) {
        const double c = (double)row[j];
        const double p = exp(base + wk[j] + (Gk[j] - c) * inv);
        p_sum += p;
        pc_sum += p * c;
    }
    s_p[tid] = p_sum;
    s_pc[tid] = pc_sum;
    __syncthreads();
    for (int s = blockDim.x / 2; s > 0; s >>= 1) {
        if (tid < s) {
            s_p[tid] += s_p[tid + s];
            s_pc[tid] += s_pc[tid + s];
        }
        __syncthreads();
    }
    if (tid == 0) {
        mass[ki] = s_p[0];
        cost[ki] = s_pc[0];
    }
}
"""

_POINT_KERNELS = r"""
#define DIM __DIM__
#define METRIC __METRIC__

// c(x, y) for the built-in metrics, differences in T_DATA, sums in double
// (as the Numba pair_cost): 0 sqeuclidean, 1 euclidean, 2 cityblock.
__device__ __forceinline__ double pair_cost(const T_DATA* x, const T_DATA* y) {
    double acc = 0.0;
#if DIM <= 32
#pragma unroll
#endif
    for (int q = 0; q < DIM; ++q) {
        const T_DATA diff = x[q] - y[q];
#if METRIC == 2
        acc += fabs((double)diff);
#else
        acc += (double)diff * (double)diff;
#endif
    }
#if METRIC == 1
    return sqrt(acc);
#else
    return acc;
#endif
}

// Stage target points j0 .. j0 + count - 1 and their shifts in shared memory.
__device__ __forceinline__ void load_tile(
    const T_DATA* __restrict__ Y, const double* __restrict__ G,
    const double* __restrict__ log_w, const double inv, const int j0, const int count,
    double* s_shift, T_DATA* s_y)
{
    for (int t = threadIdx.x; t < count * DIM; t += blockDim.x) {
        s_y[t] = Y[(long long)j0 * DIM + t];
    }
    for (int t = threadIdx.x; t < count; t += blockDim.x) {
        s_shift[t] = log_w[j0 + t] + G[j0 + t] * inv;
    }
}

// Partial log-sum-exp of z_ij = log_w[j] + (G[j] - c(X[i], Y[j])) / eps over the
// targets j of split s = blockIdx.y, j in [s * chunk, min(m, (s + 1) * chunk)):
// sum_j exp(z_ij) = exp(top[s, i]) * acc[s, i] (merged over splits by the caller).
// grid (ceil(n / blockDim.x), splits); dynamic shared memory tile * (8 + DIM * sizeof(T))
extern "C" __global__ void lse_points(
    const T_DATA* __restrict__ X, const T_DATA* __restrict__ Y,
    const double* __restrict__ G, const double* __restrict__ log_w, const double eps,
    double* __restrict__ top_out, double* __restrict__ acc_out,
    const int n, const int m, const int tile, const int chunk)
{
    extern __shared__ double smem[];
    double* s_shift = smem;
    T_DATA* s_y = (T_DATA*)(smem + tile);
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = i < n;
    const double inv = 1.0 / eps;
    const int j_start = blockIdx.y * chunk;
    const int j_stop = min(m, j_start + chunk);
    T_DATA x[DIM];
    for (int q = 0; q < DIM; ++q) x[q] = active ? X[(long long)i * DIM + q] : (T_DATA)0;
    double top = neg_inf();
    double acc = 0.0;
    for (int j0 = j_start; j0 < j_stop; j0 += tile) {
        const int count = min(tile, j_stop - j0);
        __syncthreads();  // every thread is done with the previous tile
        load_tile(Y, G, log_w, inv, j0, count, s_shift, s_y);
        __syncthreads();
        if (active) {
            for (int jj = 0; jj < count; ++jj) {
                lse_push(top, acc, s_shift[jj] - pair_cost(x, s_y + jj * DIM) * inv);
            }
        }
    }
    if (active) {
        top_out[(long long)blockIdx.y * n + i] = top;
        acc_out[(long long)blockIdx.y * n + i] = acc;
    }
}

// mass[i] = sum_j P_ij, cost[i] = sum_j P_ij c(X[i], Y[j]),
// P_ij = exp(log_u[i] + log_w[j] + (F[i] + G[j] - c_ij) / eps)
extern "C" __global__ void plan_points(
    const T_DATA* __restrict__ X, const T_DATA* __restrict__ Y,
    const double* __restrict__ F, const double* __restrict__ log_u,
    const double* __restrict__ G, const double* __restrict__ log_w, const double eps,
    double* __restrict__ mass, double* __restrict__ cost,
    const int n, const int m, const int tile)
{
    extern __shared__ double smem[];
    double* s_shift = smem;
    T_DATA* s_y = (T_DATA*)(smem + tile);
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    const bool active = i < n;
    const double inv = 1.0 / eps;
    T_DATA x[DIM];
    for (int q = 0; q < DIM; ++q) x[q] = active ? X[(long long)i * DIM + q] : (T_DATA)0;
    const double base = active ? log_u[i] + F[i] * inv : 0.0;
    double p_sum = 0.0;
    double pc_sum = 0.0;
    for (int j0 = 0; j0 < m; j0 += tile) {
        const int count = min(tile, m - j0);
        __syncthreads();
        load_tile(Y, G, log_w, inv, j0, count, s_shift, s_y);
        __syncthreads();
        if (active) {
            for (int jj = 0; jj < count; ++jj) {
                const double c = pair_cost(x, s_y + jj * DIM);
                const double p = exp(base + s_shift[jj] - c * inv);
                p_sum += p;
                pc_sum += p * c;
            }
        }
    }
    if (active) {
        mass[i] = p_sum;
        cost[i] = pc_sum;
    }
}

// C[i, j] = c(X[i], Y[j]); one thread per entry, grid ceil(n m / blockDim.x)
extern "C" __global__ void pairwise(
    const T_DATA* __restrict__ X, const T_DATA* __restrict__ Y, T_DATA* __restrict__ C,
    const int n, const int m)
{
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (long long)n * (long long)m) return;
    const long long i = idx / (long long)m;
    const long long j = idx - i * (long long)m;
    C[idx] = (T_DATA)pair_cost(X + i * DIM, Y + j * DIM);
}
"""

_CTYPES = {np.dtype(np.float32): "float", np.dtype(np.float64): "double"}


def _cupy():
    import cupy

    return cupy


@functools.cache
def _row_kernels(dtype):
    cupy = _cupy()
    code = (_COMMON + _ROW_KERNELS).replace("__DTYPE__", _CTYPES[np.dtype(dtype)])
    module = cupy.RawModule(code=code)
    return module.get_function("lse_rows"), module.get_function("plan_rows")


@functools.cache
def _point_kernels(dtype, dim, metric):
    cupy = _cupy()
    code = (_COMMON + _POINT_KERNELS).replace("__DTYPE__", _CTYPES[np.dtype(dtype)])
    code = code.replace("__DIM__", str(int(dim))).replace("__METRIC__", str(int(metric)))
    module = cupy.RawModule(code=code)
    return (module.get_function("lse_points"), module.get_function("plan_points"),
            module.get_function("pairwise"))


def _row_threads(m):
    threads = 32
    while threads < m and threads < ROW_THREADS:
        threads *= 2
    return threads


def _tile(dim, itemsize):
    """Target points per shared-memory tile, and the bytes it takes."""
    tile = max(1, min(_MAX_TILE, _TILE_BYTES // (8 + dim * itemsize)))
    if tile * (8 + dim * itemsize) > 48 * 1024:
        raise ValueError(
            f"mode='online' on the GPU supports at most {(48 * 1024 - 8) // itemsize} "
            f"features in {np.dtype(f'f{itemsize}')}, got {dim}; use mode='dense'."
        )
    return tile, tile * (8 + dim * itemsize)


def lse_rows(C, G, log_w, eps):
    """Row c-transforms of a C-contiguous ``(B, n, m)`` stack; returns ``(B, n)``."""
    cupy = _cupy()
    B, n, m = C.shape
    out = cupy.empty((B, n), dtype=np.float64)
    kernel, _ = _row_kernels(C.dtype)
    kernel((n, B), (_row_threads(m),),
           (C, G, log_w, eps, out, np.int32(n), np.int32(m)))
    return out


def plan_rows(C, F, log_u, G, log_w, eps):
    """Row sums of the plan and of ``P * C`` on a ``(B, n, m)`` stack: two ``(B, n)``."""
    cupy = _cupy()
    B, n, m = C.shape
    mass = cupy.empty((B, n), dtype=np.float64)
    cost = cupy.empty((B, n), dtype=np.float64)
    _, kernel = _row_kernels(C.dtype)
    kernel((n, B), (_row_threads(m),),
           (C, F, log_u, G, log_w, eps, mass, cost, np.int32(n), np.int32(m)))
    return mass, cost


@functools.cache
def _multiprocessors():
    cupy = _cupy()
    return int(cupy.cuda.Device().attributes["MultiProcessorCount"])


def _splits(n_blocks, m, tile):
    """Target splits so that about 16 blocks per multiprocessor are in flight."""
    wanted = -(-16 * _multiprocessors() // n_blocks)
    return max(1, min(wanted, -(-m // tile)))


def lse_points(X, Y, G, log_w, eps, metric):
    """Row c-transform between C-contiguous clouds ``X`` (n, d) and ``Y`` (m, d).

    Few source points leave the GPU idle with one thread each, so the targets
    are split among ``blockIdx.y``; the partial log-sum-exps (``(splits, n)``)
    are merged here.
    """
    cupy = _cupy()
    (n, d), m = X.shape, Y.shape[0]
    kernel = _point_kernels(X.dtype, d, METRIC_CODES[metric])[0]
    tile, shared = _tile(d, X.dtype.itemsize)
    n_blocks = (n + POINT_THREADS - 1) // POINT_THREADS
    splits = _splits(n_blocks, m, tile)
    chunk = -(-m // splits)
    top = cupy.empty((splits, n), dtype=np.float64)
    acc = cupy.empty((splits, n), dtype=np.float64)
    kernel((n_blocks, splits), (POINT_THREADS,),
           (X, Y, G, log_w, np.float64(eps), top, acc, np.int32(n), np.int32(m),
            np.int32(tile), np.int32(chunk)),
           shared_mem=shared)
    return -eps * merge_lse(cupy, top, acc)


def merge_lse(xp, top, acc):
    """``log sum_s exp(top[s]) * acc[s]`` over the first axis (partial log-sum-exps).

    A part with only zero weights has ``top = -inf`` and ``acc = 0``: it adds 0.
    """
    if top.shape[0] == 1:
        return top[0] + xp.log(acc[0])
    high = top.max(axis=0)
    return high + xp.log((acc * xp.exp(top - high)).sum(axis=0))


def plan_points(X, Y, F, log_u, G, log_w, eps, metric):
    """Row sums of the plan and of ``P * C`` with costs from points: two ``(n,)``."""
    cupy = _cupy()
    (n, d), m = X.shape, Y.shape[0]
    mass = cupy.empty(n, dtype=np.float64)
    cost = cupy.empty(n, dtype=np.float64)
    kernel = _point_kernels(X.dtype, d, METRIC_CODES[metric])[1]
    tile, shared = _tile(d, X.dtype.itemsize)
    kernel(((n + POINT_THREADS - 1) // POINT_THREADS,), (POINT_THREADS,),
           (X, Y, F, log_u, G, log_w, np.float64(eps), mass, cost,
            np.int32(n), np.int32(m), np.int32(tile)),
           shared_mem=shared)
    return mass, cost


def pairwise(X, Y, metric):
    """Dense ``(n, m)`` cost matrix, pair by pair, in the dtype of ``X``."""
    cupy = _cupy()
    (n, d), m = X.shape, Y.shape[0]
    C = cupy.empty((n, m), dtype=X.dtype)
    kernel = _point_kernels(X.dtype, d, METRIC_CODES[metric])[2]
    threads = 256
    kernel(((n * m + threads - 1) // threads,), (threads,),
           (X, Y, C, np.int32(n), np.int32(m)))
    return C


@functools.cache
def _relax_kernel():
    cupy = _cupy()
    return cupy.ElementwiseKernel(
        "float64 P, float64 TP, float64 log_w, float64 eps, float64 omega",
        "float64 P_new, float64 err",
        """
        // Marginal error of this side before the step; zero weights add 0.
        const double w = exp(log_w);
        err = isinf(log_w) ? 0.0 : fabs(w * exp((P - TP) / eps) - w);
        P_new = (1.0 - omega) * P + omega * TP;
        """,
        "skwass_relax",
    )


def relax(P, TP, log_w, eps, omega):
    """``P <- (1 - omega) P + omega TP`` and the per-entry L1 marginal error.

    ``P``, ``TP``, ``log_w`` are ``(B, n)``; ``eps`` and ``omega`` ``(B, 1)``.
    Returns the new potentials and the per-problem error sums ``(B,)``.
    """
    P_new, err = _relax_kernel()(P, TP, log_w, eps, omega)
    return P_new, err.sum(axis=1)
