"""Private jitted kernels: plain arrays and scalars in, arrays out.

Nothing outside :mod:`skwass._backend` should import from here.
"""
