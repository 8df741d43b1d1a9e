"""``python -m skwass`` and the ``skwass`` command: the headline demo (see :mod:`skwass._demo`)."""

from skwass.utils._threads import let_idle_openmp_threads_sleep


def main(argv=None):
    """Run the demo, with idle OpenMP threads that sleep soon (a program of its own)."""
    let_idle_openmp_threads_sleep()
    from skwass._demo import main as demo

    return demo(argv)


if __name__ == "__main__":
    raise SystemExit(main())
