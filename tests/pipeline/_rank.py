"""A tensor-parallel rank in its own process (run as a script by test_ranks.py).

Builds the conv network with this rank's weight shard (seed = rank) through
``build_engine`` on a shared cache, after a start signal, with a slow builder so the
ranks really race; prints one JSON line: outcome, key, and whether its plan equals a
fresh build of its own shard.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


class SlowBuilder:
    """A builder whose builds take ``delay`` seconds longer (a 30-minute build, shortened)."""

    def __init__(self, builder: Any, delay: float, count_file: str) -> None:
        self._builder = builder
        self._delay = delay
        self._count_file = count_file
        self.logger = builder.logger

    def build_serialized_network(self, network: Any, config: Any) -> Any:
        fd = os.open(self._count_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)
        time.sleep(self._delay)
        return self._builder.build_serialized_network(network, config)


def main(root: str, rank: int, count_file: str, go_file: str, s3: str | None) -> None:
    import trt_netser
    import trt_netser.offline as trt
    from tests.pipeline.nets import conv_net, fresh_plan, plan_bytes
    from trt_netser.cache import EngineCache

    if s3:
        from tests.cache.conftest import s3_options

        cache = EngineCache(root, storage_options=s3_options(s3), lock_dir=f"{go_file}.locks{rank}")
    else:
        cache = EngineCache(root)
    net = conv_net(trt, seed=rank)
    builder = SlowBuilder(net.builder, float(os.environ.get("BUILD_DELAY", "0.5")), count_file)
    while not os.path.exists(go_file):
        time.sleep(0.005)
    ttl = float(os.environ.get("LEASE_TTL", "60"))
    result = trt_netser.build_engine(
        builder, net.network, net.config, cache=cache, explain=False, lease_ttl=ttl
    )
    same = plan_bytes(result) == fresh_plan(conv_net(trt, seed=rank))
    print(
        json.dumps(
            {
                "rank": rank,
                "outcome": result.outcome.value,
                "key": result.entry_key,
                "fresh": same,
                "reason": result.reason,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    root, rank, count, go, *rest = sys.argv[1:]
    main(root, int(rank), count, go, rest[0] if rest else None)
