"""``python -m skwass``: run the headline demo (see :mod:`skwass._demo`)."""

from skwass._demo import main

if __name__ == "__main__":
    raise SystemExit(main())
