"""``python -m trt_netser.cli``: the same as the ``trt-netser`` console script."""

from trt_netser.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    main(prog_name="trt-netser")
