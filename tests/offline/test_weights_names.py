"""``set_weights_name`` as TensorRT documents it, checked through built engines' refitters.

Why: TensorRT names "all current uses of the given weights", matched by "type, value
pointer, and count", and "the name must be set after the Weights are used in the
network". The model kept a name tied to the buffer it was given for: replacing a layer's
weights with a new buffer left the name taken (``set_weights_name`` on the new buffer
returned False, ``mark_weights_refittable`` still accepted it), and a buffer used again
later was named without being named. Each test is client code: add a constant, name its
weights, change the layer, build with REFIT and read the refitter's name lists.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import trt_netser.offline as trt
from tests.offline.conftest import ListLogger


def network(logger: ListLogger, array: np.ndarray) -> tuple[Any, Any, Any]:
    """Builder, network and a constant layer holding ``array`` (the network's output)."""
    builder = trt.Builder(logger)
    net = builder.create_network(0)
    layer = net.add_constant(array.shape, trt.Weights(array))
    layer.name = "const"
    net.mark_output(layer.get_output(0))
    return builder, net, layer


def engine(logger: ListLogger, builder: Any, net: Any, *flags: Any) -> Any:
    config = builder.create_builder_config()
    for flag in flags or (trt.BuilderFlag.REFIT,):
        config.set_flag(flag)
    plan = builder.build_serialized_network(net, config)
    assert plan is not None, logger.errors
    return trt.Runtime(logger).deserialize_cuda_engine(plan)


def refitter(logger: ListLogger, builder: Any, net: Any, *flags: Any) -> Any:
    return trt.Refitter(engine(logger, builder, net, *flags), logger)


def test_a_name_follows_the_weights_not_the_layer(logger: ListLogger) -> None:
    old = np.ones((2, 3), np.float32)
    builder, net, layer = network(logger, old)
    assert net.set_weights_name(layer.weights, "w")
    assert refitter(logger, builder, net).get_all_weights() == ["w"]
    new = np.full((2, 3), 2.0, np.float32)  # another buffer: the name stays with the old one
    layer.weights = trt.Weights(new)
    assert refitter(logger, builder, net).get_all_weights() == []
    assert not net.mark_weights_refittable("w") and logger.errors  # "w" names no weights now
    logger.messages.clear()
    assert net.set_weights_name(trt.Weights(new), "w")  # so the name is free again
    assert refitter(logger, builder, net).get_all_weights() == ["w"]
    assert not net.set_weights_name(trt.Weights(old), "w")  # the old buffer is not used
    assert logger.errors and "not used" in logger.errors[-1]


def test_weights_at_the_same_pointer_keep_the_name(logger: ListLogger) -> None:
    """TensorRT-LLM fills registered arrays in place (np.copyto): same pointer, same name."""
    array = np.zeros((4,), np.float32)
    builder, net, layer = network(logger, array)
    assert net.set_weights_name(trt.Weights(array), "w")
    np.copyto(array, np.arange(4, dtype=np.float32))
    layer.weights = trt.Weights(array)  # a new Weights object for the same buffer
    assert refitter(logger, builder, net).get_all_weights() == ["w"]
    assert net.mark_weights_refittable("w")
    r = refitter(logger, builder, net, trt.BuilderFlag.REFIT_INDIVIDUAL)
    assert r.get_all_weights() == ["w"] and logger.errors == []


def test_only_current_uses_are_named(logger: ListLogger) -> None:
    """A use of the same buffer added after set_weights_name is not named: refitting the
    name changes the first constant only, until the name is set again."""
    array = np.ones((3,), np.float32)
    builder, net, first = network(logger, array)
    assert net.set_weights_name(trt.Weights(array), "w")
    later = net.add_constant((3,), trt.Weights(array))
    later.name = "later"
    net.mark_output(later.get_output(0))
    names = (first.get_output(0).name, later.get_output(0).name)

    def refit_w() -> tuple[list[str], dict[str, np.ndarray]]:
        built = engine(logger, builder, net)
        r = trt.Refitter(built, logger)
        assert r.get_all() == (["const", "later"], [trt.WeightsRole.CONSTANT] * 2)
        assert r.set_named_weights("w", trt.Weights(np.zeros(3, np.float32)))
        assert r.refit_cuda_engine()
        return r.get_all_weights(), trt.run(built, {})

    listed, out = refit_w()
    assert listed == ["w"]
    assert out[names[0]].tolist() == [0, 0, 0] and out[names[1]].tolist() == [1, 1, 1]
    assert net.set_weights_name(trt.Weights(array), "w")  # now both uses are current
    listed, out = refit_w()
    assert listed == ["w"]
    assert out[names[0]].tolist() == [0, 0, 0] and out[names[1]].tolist() == [0, 0, 0]


def test_a_pointer_with_another_type_or_count_rejects_the_name(logger: ListLogger) -> None:
    array = np.ones((4,), np.float32)
    builder, net, _ = network(logger, array)
    view = trt.Weights(trt.float32, array.ctypes.data, 2)  # same pointer, 2 of the 4 values
    assert not net.set_weights_name(view, "w")
    assert len(logger.errors) == 1 and "different type or count" in logger.errors[0]
    assert refitter(logger, builder, net).get_all_weights() == []


def test_none_unnames_the_current_uses(logger: ListLogger) -> None:
    array = np.ones((2,), np.float32)
    builder, net, layer = network(logger, array)
    assert net.set_weights_name(layer.weights, "w")
    assert net.set_weights_name(layer.weights, None)
    assert refitter(logger, builder, net).get_all_weights() == []
    other = net.add_constant((2,), trt.Weights(np.zeros(2, np.float32)))
    assert net.set_weights_name(other.weights, "w")  # "w" was released
