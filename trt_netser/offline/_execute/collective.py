"""Distributed collectives (IDistCollectiveLayer) on the one rank an offline run has.

Over a group of one rank every collective is the identity: ALL_REDUCE, REDUCE and
REDUCE_SCATTER reduce one contribution, ALL_GATHER and BROADCAST gather or send the only
one. A layer configured for more ranks (``num_ranks`` or ``groups``) needs the other
ranks' data, which a single offline process does not have: it fails naming the layer.
"""

from __future__ import annotations

import numpy as np

from trt_netser.offline._execute._node import KernelError, Node, need

Array = np.ndarray


def dist_collective(node: Node, xs: list[Array | None]) -> list[Array]:
    """The input, when the collective spans one rank."""
    x = need(xs[0], "input")
    groups = node.private.get("groups") or ()
    ranks = len(groups) if groups else node.num_ranks
    if ranks != 1:
        raise KernelError(
            f"the collective spans {ranks} ranks; an offline run is one rank (run each rank's "
            "network with the data the collective would exchange)"
        )
    return [node.out(np.array(x, copy=True))]
