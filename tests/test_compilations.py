"""Eager calls compile nothing per shape (issue 17).

XLA compilations are counted through ``jax.monitoring``'s backend-compile
event. After one call of a kind of law (which compiles its one program),
calls at new shapes compile nothing; constants and deterministic
initializers never compile. Values are checked against the same
initializer under ``jit`` (which draws in the caller's program), bit for
bit.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jinit

COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"
_compiled = [0]  # This process's compilations so far.


def _count(event: str, duration: float, **kwargs: object) -> None:
    del duration, kwargs
    if event == COMPILE_EVENT:
        _compiled[0] += 1


jax.monitoring.register_event_duration_secs_listener(_count)


class Counter:
    """Counts the compilations inside a ``with`` block."""

    def __enter__(self) -> Counter:
        self.start = _compiled[0]
        return self

    def __exit__(self, *exc: object) -> None:
        self.count = _compiled[0] - self.start


KEY = jax.random.key(17)
RANDOM = {
    "random_normal": jinit.random_normal(stddev=0.02),
    "random_uniform": jinit.random_uniform(-0.5, 0.25),
    "truncated_normal": jinit.truncated_normal(stddev=0.3),
    "he_normal": jinit.he_normal(),
    "glorot_uniform": jinit.glorot_uniform(),
    "lecun_normal": jinit.lecun_normal(),
    "variance_scaling": jinit.variance_scaling(0.5, "fan_avg", "uniform"),
    "ensemble": jinit.ensemble(jinit.he_normal(), 4),
}
DETERMINISTIC = {
    "zeros": jinit.zeros(),
    "ones": jinit.ones(),
    "constant": jinit.constant(-0.75),
    "constant(array)": jinit.constant([1.0, 2.0, 3.0]),
    "identity": jinit.identity(2.0),
    "dirac": jinit.dirac(groups=3),
    "ensemble": jinit.ensemble(jinit.constant(0.5), 3),
}
# Shapes never drawn elsewhere in the suite; the last axis is 3 or a
# multiple of it (for constant(array) and dirac(groups=3)).
SHAPES = [(37, 41, 3), (5, 7, 3), (1031, 3), (3, 11, 3)]


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_laws_compile_nothing_at_new_shapes(name):
    init = RANDOM[name]
    init(KEY, (4, 6, 3))  # The kind's first call compiles its program.
    with Counter() as counted:
        eager = [init(KEY, shape) for shape in SHAPES]
        jax.block_until_ready(eager)
    assert counted.count == 0, f"{name}: {counted.count} compilations"
    for shape, values in zip(SHAPES, eager, strict=True):
        traced = jax.jit(init, static_argnums=1)(KEY, shape)
        assert values.dtype == jnp.float32
        np.testing.assert_array_equal(np.asarray(values), np.asarray(traced))


@pytest.mark.parametrize("name", list(DETERMINISTIC))
def test_deterministic_initializers_never_compile(name):
    init = DETERMINISTIC[name]
    shapes = (
        [(3, 3, 9, 6), (1, 5, 12), (2, 8, 9)]
        if name == "dirac"
        else ([(6, 9), (12, 4), (2, 3)] if name == "identity" else SHAPES)
    )
    with Counter() as counted:
        eager = [init(None, shape) for shape in shapes]
        jax.block_until_ready(eager)
    assert counted.count == 0, f"{name}: {counted.count} compilations"
    for shape, values in zip(shapes, eager, strict=True):
        traced = jax.jit(init, static_argnums=(0, 1))(None, shape)
        np.testing.assert_array_equal(np.asarray(values), np.asarray(traced))


def _embeds_constant(text: str, shape: str) -> bool:
    """Whether a lowered program holds a constant of ``shape`` (``64x32``)."""
    return any(
        "constant" in line and f"tensor<{shape}x" in line
        for line in text.splitlines()
    )


def test_under_jit_the_values_are_computed_in_the_program():
    """Under jit nothing is made on the host, even where every input is
    known while tracing: the values are operations of the traced program,
    not a constant of the array's size embedded in it."""
    seeded = jax.jit(lambda: jinit.he_normal(seed=3)(None, (64, 32)))
    assert not _embeds_constant(seeded.lower().as_text(), "64x32")
    eye = jax.jit(lambda: jinit.identity()(None, (64, 48))).lower().as_text()
    assert not _embeds_constant(eye, "64x48")
    kernel = jax.jit(lambda: jinit.dirac()(None, (3, 3, 8, 8))).lower()
    assert not _embeds_constant(kernel.as_text(), "3x3x8x8")


def test_seeded_eager_call_equals_the_jitted_one():
    init = jinit.glorot_normal(seed=5)
    eager = init(None, (33, 17))
    traced = jax.jit(lambda: init(None, (33, 17)))()
    np.testing.assert_array_equal(np.asarray(eager), np.asarray(traced))
