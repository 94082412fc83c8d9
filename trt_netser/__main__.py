"""``python -m trt_netser``: the ``trt-netser`` command line."""

from trt_netser.cli import main

if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    main(prog_name="trt-netser")
