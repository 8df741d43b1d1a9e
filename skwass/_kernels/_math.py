"""A vectorizable ``exp`` for the kernels' n x m loops.

Numba compiles ``np.exp`` to a libm call per element, which LLVM cannot
vectorize without Intel's SVML. :func:`fast_exp` is plain arithmetic that it
can: Cody-Waite reduction ``x = k ln 2 + r`` with ``|r| <= ln 2 / 2``, a
degree-12 Taylor polynomial for ``exp(r)`` and the factor ``2^k`` built from
its bits. Within 4 ulp of ``np.exp`` (3 seen) for results from 2.3e-308 up to the
overflow threshold (``tests/test_kernels_math.py``); ``-inf`` gives 0, ``inf``
and overflow give ``inf``, NaN stays NaN. Results below the smallest normal
double (``x < -708.39``) are flushed to 0 instead of being subnormal: the
kernels only add such terms to sums of order one, or treat a row of them as
underflow either way.
"""

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic

_LOG2E = 1.4426950408889634
# ln 2 split so that k * _LN2_HI is exact for |k| <= 1100.
_LN2_HI = 0.6931471803691238
_LN2_LO = 1.9082149292705877e-10
_MIN_NORMAL_ARG = -708.39
_OVERFLOW_ARG = 709.78
# 2^52 plus the exponent bias: adding an integer e in [-1022, 1023] leaves
# e + 1023 in the low mantissa bits.
_EXPONENT_SHIFTER = 4503599627370496.0 + 1023.0


@intrinsic
def _float64_from_bits(typingctx, bits):
    """Reinterpret an int64 as the float64 with the same bits."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


@intrinsic
def _bits_from_float64(typingctx, value):
    """Reinterpret a float64 as the int64 with the same bits."""
    if value != types.float64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@numba.njit(cache=True, inline="always")
def fast_exp(x):
    """``exp(x)`` for a float64 ``x``, within a few ulp, vectorizable (see module)."""
    k = np.floor(x * _LOG2E + 0.5)
    r = x - k * _LN2_HI - k * _LN2_LO
    p = 1.0 / 479001600.0
    p = p * r + 1.0 / 39916800.0
    p = p * r + 1.0 / 3628800.0
    p = p * r + 1.0 / 362880.0
    p = p * r + 1.0 / 40320.0
    p = p * r + 1.0 / 5040.0
    p = p * r + 1.0 / 720.0
    p = p * r + 1.0 / 120.0
    p = p * r + 1.0 / 24.0
    p = p * r + 1.0 / 6.0
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    # 2^k from its exponent bits; k reaches 1024 just below overflow. The biased
    # exponent is read off the low bits of 2^52 + e rather than converted with
    # int(), which AVX2 has no vector instruction for (the loop would go scalar).
    scale_exp = min(max(k, -1022.0), 1023.0)
    biased = _bits_from_float64(scale_exp + _EXPONENT_SHIFTER)
    y = p * _float64_from_bits(biased << 52)
    if k > scale_exp:
        y *= 2.0
    if x < _MIN_NORMAL_ARG:
        y = 0.0
    if x > _OVERFLOW_ARG:
        y = np.inf
    return y
