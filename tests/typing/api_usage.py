# pyright: reportUnnecessaryTypeIgnoreComment=error
"""How type checkers see jinit's public API: checked by pyright
(tests/test_typing.py), never run (tests/conftest.py leaves it out).

Correct uses are checked with ``assert_type``. Each misuse carries a
``# pyright: ignore[rule]`` comment, and an ignore comment that suppresses
nothing is an error in this file: if a misuse stops being a type error (an
untyped factory, a parameter that lost its annotation), pyright fails.
"""

from typing import Any, assert_type

import jax
import numpy as np

import jinit
from jinit.typing import About, Affine, Call, Distribution, Fill, Mode

KEY = jax.random.key(0)


def correct_uses() -> None:
    init = jinit.variance_scaling(
        2.0,
        "fan_in",
        "truncated_normal",
        seed=0,
        in_axis=(0, 1),
        out_axis=-1,
        other_axes="ignored",
    )
    assert_type(init, jinit.ConfiguredInitializer)
    assert_type(init(KEY, (3, 4)), jax.Array)
    assert_type(init(None, (3, 4), "bfloat16", out_sharding=None), jax.Array)
    assert_type(
        jinit.he_normal(seed=0, dtype=np.float32), jinit.ConfiguredInitializer
    )
    assert_type(jinit.glorot_uniform(batch_axis=0), jinit.ConfiguredInitializer)
    assert_type(jinit.zeros(dtype="int8"), jinit.ConfiguredInitializer)
    assert_type(jinit.constant([1.0, 2.0]), jinit.ConfiguredInitializer)
    assert_type(
        jinit.orthogonal(gain=jinit.calculate_gain("tanh")),
        jinit.ConfiguredInitializer,
    )
    assert_type(jinit.calculate_gain("leaky_relu", 0.2), float)
    assert_type(
        jinit.deepnorm(
            "encoder",
            encoder_layers=6,
            decoder_layers=6,
            distribution="uniform",
        ),
        jinit.ConfiguredInitializer,
    )
    assert_type(
        jinit.deepnorm_scales("decoder", decoder_layers=8), jinit.ResidualScales
    )
    assert_type(jinit.fixup(16, 2, mode="fan_in"), jinit.ConfiguredInitializer)
    assert_type(
        jinit.ensemble(jinit.he_normal(), 4), jinit.ConfiguredInitializer
    )
    assert_type(jinit.preset("equinox"), jinit.Preset)
    assert_type(jinit.path_key(KEY, "layers/0/w"), jax.Array)
    param = jinit.Param((4, 3), jinit.he_normal())
    assert_type(param, jinit.Param)
    protocol: jinit.Initializer = jinit.he_normal()
    assert_type(protocol(KEY, (4, 3)), jax.Array)
    # The choice types annotate users' code; public methods return public
    # types.
    mode: Mode = "fan_avg"
    distribution: Distribution = "uniform"
    built = jinit.variance_scaling(1.0, mode, distribution)
    assert_type(built.prepare(KEY, (4, 3)), Call)
    assert_type(built.law((4, 3), np.dtype(np.float32)), Affine | Fill | None)
    assert_type(built.get_config()["scale"], Any)
    assert_type(jinit.he_normal.about, About | None)


def misuses() -> None:
    jinit.variance_scaling(scael=2)  # pyright: ignore[reportCallIssue]
    jinit.variance_scaling(mode="fan")  # pyright: ignore[reportArgumentType]
    jinit.variance_scaling(distribution="gaussian")  # pyright: ignore[reportArgumentType]
    jinit.variance_scaling(other_axes="none")  # pyright: ignore[reportArgumentType]
    jinit.he_normal(seed="0")  # pyright: ignore[reportArgumentType]
    jinit.he_normal(1, 2)  # pyright: ignore[reportCallIssue]
    jinit.random_normal(stddev="0.02")  # pyright: ignore[reportArgumentType]
    jinit.orthogonal(column_axis=(0, 1))  # pyright: ignore[reportArgumentType]
    jinit.deepnorm(stack="middle")  # pyright: ignore[reportArgumentType]
    jinit.t_fixup(6, distribution="normal")  # pyright: ignore[reportArgumentType]
    jinit.fixup(16, 2, mode="fan")  # pyright: ignore[reportArgumentType]
    jinit.calculate_gain("gelu")  # pyright: ignore[reportArgumentType]
    jinit.preset("pytorch")  # pyright: ignore[reportArgumentType]
    jinit.mup_learning_rates({}, {}, "adagrad")  # pyright: ignore[reportArgumentType]
    init = jinit.he_normal()
    init(KEY)  # pyright: ignore[reportCallIssue]
    init(KEY, (4, 3), sharding=None)  # pyright: ignore[reportCallIssue]
    # A factory is not an initializer: build it first.
    not_built: jinit.Initializer = jinit.he_normal  # pyright: ignore[reportAssignmentType]
    not_an_initializer: jinit.Initializer = print  # pyright: ignore[reportAssignmentType]
    del not_built, not_an_initializer
    # Arguments are read with get_config(); a misspelt attribute is an
    # error, not Any.
    misspelt = init.nmae  # pyright: ignore[reportAttributeAccessIssue]
    init.get_confgi()  # pyright: ignore[reportAttributeAccessIssue]
    bad_mode: Mode = "fan"  # pyright: ignore[reportAssignmentType]
    del misspelt, bad_mode
