"""The TensorRT-LLM integration with a duck-typed legacy build flow (no TensorRT-LLM here).

The fakes follow TensorRT-LLM's shapes: ``Builder.trt_builder``, ``create_network()`` ->
``Network`` with ``trt_network``, ``plugin_config`` and ``named_parameters``,
``BuilderConfig.trt_builder_config``, ``Builder.build_engine(network, config)`` -> plan,
layer names carrying source line numbers, weights named after the model's parameters.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import numpy as np

import trt_netser
from trt_netser.integrations import tensorrt_llm as tns
from trt_netser.pipeline import Outcome
from trt_netser.pipeline._names import apply_name_policy


class Parameter:
    def __init__(self, value: np.ndarray) -> None:
        self.raw_value = value


class Network:
    def __init__(self, trt_network: Any) -> None:
        self.trt_network = trt_network
        self.plugin_config = None
        self._named: dict[str, Parameter] = {}

    def set_named_parameters(self, named: dict[str, Parameter]) -> None:
        self._named = dict(named)

    @property
    def named_parameters(self) -> list[tuple[str, Parameter]]:
        return list(self._named.items())


class BuilderConfig:
    def __init__(self, trt_builder_config: Any) -> None:
        self.trt_builder_config = trt_builder_config


class Builder:
    def __init__(self, trt: Any) -> None:
        self.trt_builder = trt.Builder(trt.Logger(trt.Logger.ERROR))
        self.builds = 0

    def create_network(self) -> Network:
        return Network(self.trt_builder.create_network(0))

    def create_builder_config(self) -> BuilderConfig:
        return BuilderConfig(self.trt_builder.create_builder_config())

    def build_engine(self, network: Network, builder_config: BuilderConfig) -> Any:
        self.builds += 1
        return self.trt_builder.build_serialized_network(
            network.trt_network, builder_config.trt_builder_config
        )


def model(trt: Any, seed: int, line: int) -> tuple[Builder, Network, BuilderConfig]:
    """A two-projection MLP as TensorRT-LLM generates it (line numbers in the names)."""
    rng = np.random.default_rng(seed)
    params = {
        "transformer.layers.0.mlp.fc.weight": Parameter(
            rng.standard_normal((1, 8, 16)).astype(np.float32)
        ),
        "transformer.layers.0.mlp.proj.weight": Parameter(
            rng.standard_normal((1, 16, 8)).astype(np.float32)
        ),
    }
    builder = Builder(trt)
    network = builder.create_network()
    net = network.trt_network
    with trt_netser.capture(trt):
        x = net.add_input("x", trt.float32, trt.Dims([1, 4, 8]))
        h = x
        for i, name in enumerate(params):
            array = params[name].raw_value
            const = net.add_constant(trt.Dims(list(array.shape)), trt.Weights(array))
            scope = "LLaMAForCausalLM/" + name.rsplit(".", 1)[0].replace(".", "/")
            const.name = f"{scope}/constant_L{line + i}/CONSTANT_0"
            net.set_weights_name(trt.Weights(array), name)
            mm = net.add_matrix_multiply(
                h, trt.MatrixOperation.NONE, const.get_output(0), trt.MatrixOperation.NONE
            )
            mm.name = f"{scope}/matmul_L{line + 40 + i}/MATMUL_0"
            h = mm.get_output(0)
        h.name = "logits"
        net.mark_output(h)
    network.set_named_parameters(params)
    return builder, network, builder.create_builder_config()


def test_moved_lines_keep_the_key_and_refit_by_parameter_names(trt: Any, cache: Any) -> None:
    builder, network, config = model(trt, seed=0, line=630)
    first = tns.build_engine(builder, network, config, cache=cache)
    assert first.outcome is Outcome.MISS_BUILT and builder.builds == 1
    assert "_L630" not in network.trt_network.get_layer(0).name
    builder, network, config = model(trt, seed=1, line=702)  # an upgrade moved the lines
    second = tns.build_engine(builder, network, config, cache=cache)
    assert str(second.key) == str(first.key)
    assert second.outcome is Outcome.HIT_REFIT, second.reason
    assert builder.builds == 0
    # equal to TensorRT-LLM's own build of the new model (names stripped the same way)
    builder, network, config = model(trt, seed=1, line=702)
    apply_name_policy(network.trt_network, "strip-line-numbers")
    config.trt_builder_config.set_flag(trt.BuilderFlag.REFIT)
    fresh = builder.build_engine(network, config)
    assert bytes(memoryview(second.plan)) == bytes(memoryview(fresh))


def test_without_the_policy_line_numbers_change_the_key(trt: Any, cache: Any) -> None:
    a = tns.build_engine(*model(trt, 0, 630), cache=cache, names="keep")
    b = tns.build_engine(*model(trt, 0, 631), cache=cache, names="keep")
    assert str(a.key) != str(b.key) and b.outcome is Outcome.MISS_BUILT


def test_refit_if_cached_for_tensorrt_llm(trt: Any, cache: Any) -> None:
    assert tns.refit_if_cached(*model(trt, 0, 630), cache=cache) is None
    tns.build_engine(*model(trt, 0, 630), cache=cache)
    engine = tns.refit_if_cached(*model(trt, 3, 650), cache=cache)
    assert engine is not None and engine.refittable


def test_named_weights_reads_parameters_without_copies() -> None:
    array = np.zeros(4, dtype=np.float32)
    found = tns.named_weights(None, [("w", Parameter(array))])
    assert found["w"] is array


def test_importable_without_tensorrt_llm() -> None:
    code = (
        "import sys; import trt_netser.integrations.tensorrt_llm as m; "
        "assert 'tensorrt_llm' not in sys.modules; print(m.build_engine.__name__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "build_engine"
