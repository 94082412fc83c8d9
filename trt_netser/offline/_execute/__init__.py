"""CPU execution of offline engines: numpy kernels per layer type and the graph executor.

Kernels (one module per family) follow TensorRT 10.16's documented layer semantics; the
table in :mod:`.table` maps each ``LayerType`` to its kernel (policy as data). The executor
(:mod:`.graph`) walks an engine's layer-graph IR; :mod:`.context` is what the offline
``IExecutionContext`` delegates execution to. Offline "device" memory is host memory.
"""
