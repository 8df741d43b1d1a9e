"""Private jitted kernels: plain arrays and scalars in, arrays out.

Nothing outside :mod:`skwass._backend` should import from here.
"""

import types

import numba


def serial_and_parallel(body, **options):
    """Compile one kernel body twice: ``(parallel, serial)``.

    ``numba.prange`` splits the outer loop over threads in the first and is a
    plain ``range`` in the second (for use inside another parallel loop, or on
    one thread). Numba's cache keys a function by its name and bytecode, not by
    its flags, so the serial copy gets a name of its own.
    """
    serial = types.FunctionType(body.__code__, body.__globals__, body.__name__ + "_serial",
                                body.__defaults__, body.__closure__)
    serial.__qualname__ = body.__qualname__ + "_serial"
    serial.__doc__ = body.__doc__
    return (numba.njit(cache=True, parallel=True, **options)(body),
            numba.njit(cache=True, **options)(serial))
