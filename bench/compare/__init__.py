"""trt-netser side by side with the ONNX route and other network-key schemes (issue 6).

``python -m bench.compare`` measures coverage, soundness (false hits, needless misses),
stability and speed of every scheme in :mod:`bench.compare.schemes` on the same offline
networks and prints Markdown; ``docs/comparison.md`` publishes one run.
"""
