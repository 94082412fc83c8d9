"""Take a build lease on an S3 store and hold it until killed (run by test_lease.py)."""

from __future__ import annotations

import sys
import time


def main(url: str, endpoint: str, key: str, ttl: float, lock_dir: str) -> None:
    from tests.cache.conftest import s3_options
    from trt_netser.cache import EngineCache

    cache = EngineCache(url, storage_options=s3_options(endpoint), lock_dir=lock_dir)
    lease = cache.lease(key, ttl=ttl, poll=0.1)
    print(f"held {lease.gen}", flush=True)
    while True:  # a 30-minute build; renewed in the background until SIGKILL
        time.sleep(0.1)


if __name__ == "__main__":
    url, endpoint, key, ttl, lock_dir = sys.argv[1:]
    main(url, endpoint, key, float(ttl), lock_dir)
