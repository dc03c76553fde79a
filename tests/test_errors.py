"""Bad input: a clear ValueError/TypeError naming the argument, the value and
what is allowed; at factory time where possible."""

import jax
import jax.numpy as jnp
import pytest

import jinit

KEY = jax.random.key(0)


@pytest.mark.parametrize(
    "build, error, message",
    [
        (
            lambda: jinit.variance_scaling(mode="fan"),
            ValueError,
            r"`mode` must be one of 'fan_in', 'fan_out', 'fan_avg', 'fan_geo_avg'; "
            r"got 'fan'",
        ),
        (
            lambda: jinit.variance_scaling(distribution="gaussian"),
            ValueError,
            r"`distribution` must be one of 'truncated_normal', 'normal', "
            r"'untruncated_normal', 'uniform'; got 'gaussian'",
        ),
        (
            lambda: jinit.variance_scaling(scale=0.0),
            ValueError,
            r"`scale` must be > 0; got 0.0",
        ),
        (
            lambda: jinit.variance_scaling(scale=-2),
            ValueError,
            r"`scale` must be > 0; got -2",
        ),
        (
            lambda: jinit.variance_scaling(scale="2"),
            TypeError,
            r"`scale` must be a number; got str '2'",
        ),
        (
            lambda: jinit.random_normal(stddev=-0.1),
            ValueError,
            r"`stddev` must be >= 0; got -0.1",
        ),
        (
            lambda: jinit.truncated_normal(stddev=-1),
            ValueError,
            r"`stddev` must be >= 0; got -1",
        ),
        (
            lambda: jinit.random_normal(mean=float("nan")),
            ValueError,
            r"`mean` must be finite; got nan",
        ),
        (
            lambda: jinit.random_uniform(1.0, 0.0),
            ValueError,
            r"`minval` must be <= `maxval`; got minval=1.0, maxval=0.0",
        ),
        (
            lambda: jinit.orthogonal(gain=float("inf")),
            ValueError,
            r"`gain` must be finite; got inf",
        ),
        (
            lambda: jinit.identity(gain=float("nan")),
            ValueError,
            r"`gain` must be finite; got nan",
        ),
        (
            lambda: jinit.glorot_normal(seed=1.5),
            TypeError,
            r"`seed` must be None or an int in \[0, 2\*\*32\); got float 1.5",
        ),
        (
            lambda: jinit.glorot_normal(seed="0"),
            TypeError,
            r"`seed` must be None or an int.*got str '0'",
        ),
        (
            lambda: jinit.glorot_normal(seed=True),
            TypeError,
            r"`seed` must be None or an int.*got bool True",
        ),
        (
            lambda: jinit.glorot_normal(seed=-1),
            ValueError,
            r"`seed` must be in \[0, 2\*\*32\); got -1",
        ),
        (
            lambda: jinit.glorot_normal(seed=2**32),
            ValueError,
            r"`seed` must be in \[0, 2\*\*32\); got 4294967296",
        ),
        (
            lambda: jinit.he_normal(dtype="flaot32"),
            TypeError,
            r"`dtype` must be a dtype such as 'float32'.*got 'flaot32'",
        ),
        (
            lambda: jinit.he_normal(dtype="int32"),
            TypeError,
            r"`dtype` must be a floating or complex dtype for `he_normal`; got "
            r"int32",
        ),
        (
            lambda: jinit.zer_o(dtype="int8"),
            TypeError,
            r"`dtype` must be a real floating dtype for `zer_o`; got int8",
        ),
        (
            lambda: jinit.depth_scaled_normal(0),
            ValueError,
            r"`n_layers` must be an int >= 1 and < 2\*\*63; got 0",
        ),
        (
            lambda: jinit.small_init(512.0),
            TypeError,
            r"`dim` must be an int >= 1; got float 512.0",
        ),
        (
            lambda: jinit.deepnorm("decoder", encoder_layers=6),
            ValueError,
            r"`decoder_layers` must be >= 1 for `stack` 'decoder'; got 0",
        ),
        (
            lambda: jinit.deepnorm_scales("middle", 6),
            ValueError,
            r"`stack` must be one of 'encoder', 'decoder'; got 'middle'",
        ),
        (
            lambda: jinit.deepnorm("encoder", -6),
            ValueError,
            r"`encoder_layers` must be an int >= 0 .*; got -6",
        ),
        (
            lambda: jinit.deepnorm("encoder", 6, distribution="normal"),
            ValueError,
            r"`distribution` must be one of 'untruncated_normal', "
            r"'truncated_normal', 'uniform'; got 'normal'",
        ),
        (
            lambda: jinit.t_fixup(6, "decoders"),
            ValueError,
            r"`stack` must be one of 'encoder', 'decoder'; got 'decoders'",
        ),
        (
            lambda: jinit.fixup(16, 1),
            ValueError,
            r"`branch_layers` must be >= 2: Fixup scales by L\^\(-1/\(2m-2\)\), "
            r"undefined for m = 1; got 1",
        ),
        (
            lambda: jinit.t_fixup_embedding(6)(KEY, ()),
            ValueError,
            r"`shape` must have at least 1 dimensions for `t_fixup_embedding`",
        ),
        (
            lambda: jinit.skip_init(float("nan")),
            ValueError,
            r"`alpha` must be finite; got nan",
        ),
        (
            lambda: jinit.he_normal(in_axis=-1),
            ValueError,
            r"`in_axis` and `out_axis` both contain axis -1",
        ),
        (
            lambda: jinit.he_normal(in_axis=0, batch_axis=(1, 1)),
            ValueError,
            r"`batch_axis` repeats axis 1",
        ),
        (
            lambda: jinit.he_normal(in_axis=1.0),
            TypeError,
            r"`in_axis` must be an int or a sequence of ints; got 1.0",
        ),
        (
            lambda: jinit.constant([1, "2"]),
            TypeError,
            r"`value` must be a number; got str '2'",
        ),
        (
            lambda: jinit.glorot_normal(0, 1),
            TypeError,
            r"glorot_normal\(\): too many positional arguments; its arguments are "
            r"seed, in_axis, out_axis, batch_axis, groups, dtype",
        ),
        (
            lambda: jinit.random_normal(stdev=1.0),
            TypeError,
            r"random_normal\(\): got an unexpected keyword argument 'stdev'",
        ),
        (
            lambda: jinit.sparse(1.5),
            ValueError,
            r"`sparsity` must be in \[0, 1\]; got 1.5",
        ),
        (
            lambda: jinit.sparse(),
            TypeError,
            r"sparse\(\): missing a required argument: 'sparsity'",
        ),
        (
            lambda: jinit.dirac(groups=0),
            ValueError,
            r"`groups` must be an int >= 1 and < 2\*\*63; got 0",
        ),
        (
            lambda: jinit.he_uniform(groups=2.0),
            TypeError,
            r"`groups` must be an int >= 1; got float 2.0",
        ),
        (
            lambda: jinit.orthogonal(column_axis=(0,)),
            TypeError,
            r"`column_axis` must be an int; got tuple \(0,\)",
        ),
        (
            lambda: jinit.orthogonal(batch_axis=-1),
            ValueError,
            r"`batch_axis` and `column_axis` both contain axis -1",
        ),
        (
            lambda: jinit.calculate_gain("swish"),
            ValueError,
            r"`nonlinearity` must be one of 'linear', .*'selu'; got 'swish'",
        ),
        (
            lambda: jinit.calculate_gain("relu", 0.1),
            ValueError,
            r"`param` is only used by 'leaky_relu'; got param=0.1 for 'relu'",
        ),
        (
            lambda: jinit.calculate_gain("leaky_relu", "0.1"),
            TypeError,
            r"`param` must be a number; got str '0.1'",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_factory_time_errors(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_a_traced_argument_is_a_clear_error():
    @jax.jit
    def build(stddev):
        return jinit.random_normal(stddev=stddev)(KEY, (2,))

    with pytest.raises(TypeError, match=r"`stddev` must be a concrete number"):
        build(jnp.float32(1.0))


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: jinit.he_normal()(KEY, (3, -1)),
            ValueError,
            r"`shape` must contain only non-negative dimensions; got \(3, -1\)",
        ),
        (
            lambda: jinit.he_normal()(KEY, (3, 2.0)),
            TypeError,
            r"`shape` must contain only ints; got \(3, 2.0\) with float 2.0",
        ),
        (
            lambda: jinit.zeros()(KEY, "3x3"),
            TypeError,
            r"`shape` must be a sequence of non-negative ints such as \(256, "
            r"128\); got str '3x3'",
        ),
        (
            lambda: jinit.zeros()(KEY, None),
            TypeError,
            r"`shape` must be a sequence of non-negative ints.*got NoneType None",
        ),
        (
            lambda: jinit.orthogonal()(KEY, (5,)),
            ValueError,
            r"`shape` must have at least 2 dimensions for `orthogonal`; got \(5,\) "
            r"\(1-D\)",
        ),
        (
            lambda: jinit.identity()(KEY, (2, 2, 2)),
            ValueError,
            r"`shape` must have exactly 2 dimensions for `identity`; got "
            r"\(2, 2, 2\) \(3-D\)",
        ),
        (
            lambda: jinit.identity()(KEY, (0,)),
            ValueError,
            r"exactly 2 dimensions for `identity`",
        ),
        (
            lambda: jinit.he_normal()(KEY, (3, 3), jnp.int32),
            TypeError,
            r"`dtype` must be a floating or complex dtype for `he_normal`; got "
            r"int32",
        ),
        (
            lambda: jinit.truncated_normal()(KEY, (3, 3), "complex64"),
            TypeError,
            r"`dtype` must be a real floating dtype for `truncated_normal`; got "
            r"complex64",
        ),
        (
            lambda: jinit.orthogonal(batch_axis=0)(KEY, (3, 3)),
            ValueError,
            r"`shape` must have at least 2 dimensions besides the 1 batch axes for "
            r"`orthogonal`; got \(3, 3\) \(2-D\)",
        ),
        (
            lambda: jinit.orthogonal(batch_axis=2)(KEY, (3, 3)),
            ValueError,
            r"`batch_axis` 2 is out of range for shape \(3, 3\)",
        ),
        (
            lambda: jinit.identity(batch_axis=0)(KEY, (2, 3, 3, 3)),
            ValueError,
            r"exactly 2 dimensions besides the 1 batch axes for `identity`",
        ),
        (
            lambda: jinit.delta_orthogonal()(KEY, (3, 3, 8, 4)),
            ValueError,
            r"`shape` \(3, 3, 8, 4\) has more input channels \(8\) than output "
            r"channels \(4\)",
        ),
        (
            lambda: jinit.delta_orthogonal()(KEY, (8, 8)),
            ValueError,
            r"`shape` must have 3 to 5 dimensions for `delta_orthogonal`",
        ),
        (
            lambda: jinit.dirac()(KEY, (3, 3, 3, 3, 3, 3)),
            ValueError,
            r"`shape` must have 3 to 5 dimensions for `dirac`",
        ),
        (
            lambda: jinit.dirac(groups=3)(KEY, (3, 3, 2, 4)),
            ValueError,
            r"`groups` 3 must divide the output channels; got shape "
            r"\(3, 3, 2, 4\) with 4 outputs",
        ),
        (
            lambda: jinit.he_normal(groups=3)(KEY, (3, 3, 2, 4)),
            ValueError,
            r"`groups` 3 must divide the number of outputs; got 4 outputs",
        ),
        (
            lambda: jinit.sparse(0.1)(KEY, (4, 4, 4)),
            ValueError,
            r"exactly 2 dimensions for `sparse`",
        ),
        (
            lambda: jinit.he_normal(in_axis=5)(KEY, (0, 3)),
            ValueError,
            r"`in_axis` 5 is out of range for shape \(0, 3\)",
        ),
        (
            lambda: jinit.random_uniform()(KEY, (3,), "bool"),
            TypeError,
            r"real floating dtype for `random_uniform`; got bool",
        ),
        (
            lambda: jinit.zeros()(KEY, (3,), "float64"),
            ValueError,
            r"`dtype` float64 needs 64-bit types.*jax_enable_x64",
        ),
        (
            lambda: jinit.he_normal(in_axis=2)(KEY, (3, 3)),
            ValueError,
            r"`in_axis` 2 is out of range for shape \(3, 3\) \(2-D\); allowed axes "
            r"are -2..1",
        ),
        (
            lambda: jinit.he_normal(in_axis=0, out_axis=-2)(KEY, (3, 3)),
            ValueError,
            r"`in_axis` and `out_axis` both contain axis 0 for shape \(3, 3\)",
        ),
        (
            lambda: jinit.constant(3.5)(KEY, (2,), "int8"),
            ValueError,
            r"`value` 3.5 cannot be represented in int8",
        ),
        (
            lambda: jinit.constant(300)(KEY, (2,), "int8"),
            ValueError,
            r"`value` 300 cannot be represented in int8",
        ),
        (
            lambda: jinit.constant(-1)(KEY, (2,), "uint8"),
            ValueError,
            r"`value` -1 cannot be represented in uint8",
        ),
        (
            lambda: jinit.constant(2)(KEY, (2,), "bool"),
            ValueError,
            r"`value` 2 cannot be represented in bool",
        ),
        (
            lambda: jinit.constant(1e6)(KEY, (2,), "float16"),
            ValueError,
            r"`value` 1000000.0 cannot be represented in float16",
        ),
        (
            lambda: jinit.constant(1j)(KEY, (2,), "float32"),
            ValueError,
            r"`value` 1j cannot be represented in float32",
        ),
        (
            lambda: jinit.identity(gain=0.5)(KEY, (2, 2), "int32"),
            ValueError,
            r"`gain` 0.5 cannot be represented in int32",
        ),
        (
            lambda: jinit.he_normal()(KEY, (2, 2), out_sharding="x"),
            TypeError,
            r"`out_sharding` must be None, a jax.sharding.Sharding or a "
            r"PartitionSpec; got str 'x'",
        ),
        (
            lambda: jinit.he_normal()(
                KEY, (2, 2), out_sharding=jax.sharding.PartitionSpec()
            ),
            ValueError,
            r"`out_sharding` (P|PartitionSpec)\(\) is a PartitionSpec, "
            r"which "
            r"needs a mesh",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_call_time_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize(
    "init",
    [jinit.he_normal(), jinit.zeros(), jinit.orthogonal(), jinit.identity()],
    ids=repr,
)
@pytest.mark.parametrize("how", ["spec", "named", "jit"])
def test_a_spec_longer_than_the_shape_is_refused_by_name(init, how):
    """Not JAX's "One of pjit outputs with pytree key path result ...":
    the argument, the spec, the shape and what is allowed."""
    mesh = jax.make_mesh(
        (1,), ("x",), axis_types=(jax.sharding.AxisType.Explicit,)
    )
    spec = jax.sharding.PartitionSpec(None, None, "x")
    message = (
        r"`out_sharding` .*P\(None, None, 'x'\).* has 3 entries, "
        r"more than the 2 axes of shape \(4, 4\): give at most one "
        r"entry per axis"
    )
    with jax.set_mesh(mesh), pytest.raises(ValueError, match=message):
        if how == "jit":
            jax.jit(lambda k: init(k, (4, 4), out_sharding=spec))(KEY)
        else:
            init(
                KEY,
                (4, 4),
                out_sharding=spec
                if how == "spec"
                else jax.sharding.NamedSharding(mesh, spec),
            )


def test_nothing_silently_returns_nan():
    """jax.nn.initializers returns all-NaN for a negative scale; jinit refuses
    it when the initializer is built."""
    assert bool(
        jnp.isnan(
            jax.nn.initializers.variance_scaling(-1.0, "fan_in", "normal")(
                KEY, (4, 4)
            )
        ).all()
    )
    with pytest.raises(ValueError, match="`scale` must be > 0"):
        jinit.variance_scaling(-1.0)


def test_exact_constants_in_every_dtype():
    assert jinit.constant(3.0)(None, (2,), "int8").tolist() == [3, 3]
    assert jinit.constant(True)(None, (1,), "bool").tolist() == [True]
    assert jinit.constant(1 + 2j)(None, (1,), "complex64").tolist() == [1 + 2j]
    assert jinit.constant(-65504.0)(None, (1,), "float16").tolist() == [
        -65504.0
    ]
    assert jinit.constant(2**31 - 1)(None, (1,), "int32").tolist() == [
        2**31 - 1
    ]


# Names, get and deserialize (issue 14): exact names, conflicting
# identifiers, non-dicts in deserialize, Keras config keys, other_axes.


@pytest.mark.parametrize(
    "call, error, message",
    [
        (
            lambda: jinit.deserialize("he_normal"),
            TypeError,
            r"`config` must be a dict from jinit.serialize or "
            r"keras.initializers.serialize; got str 'he_normal'. Use jinit.get for "
            r"a name or None.",
        ),
        (
            lambda: jinit.deserialize(None),
            TypeError,
            r"`config` must be a dict .*; got NoneType None. Use jinit.get",
        ),
        (
            lambda: jinit.get(
                {
                    "class_name": "HeNormal",
                    "name": "glorot_normal",
                    "config": {},
                }
            ),
            ValueError,
            r"`config` names two initializers: 'name' 'glorot_normal' and "
            r"'class_name' 'HeNormal'; give one of them",
        ),
        (
            lambda: jinit.get({"class_name": "HeNormel"}),
            ValueError,
            r"Unknown initializer 'HeNormel'. Did you mean 'HeNormal'.*"
            r"`config\['class_name'\]` must be one of them exactly",
        ),
        (
            lambda: jinit.get("henormal"),
            ValueError,
            r"Unknown initializer 'henormal'. Did you mean 'HeNormal' or "
            r"'he_normal'",
        ),
        (
            lambda: jinit.get("initializer"),
            ValueError,
            r"`identifier` 'initializer' is Keras's abstract base class .*; jinit "
            r"does not provide it",
        ),
        (
            lambda: jinit.get({"class_name": "Initializer", "config": {}}),
            ValueError,
            r"`config\['class_name'\]` 'Initializer' is Keras's "
            r"abstract base class keras.initializers.Initializer, which draws "
            r"nothing; jinit does not provide it",
        ),
        (
            lambda: jinit.get(
                {
                    "class_name": "VarianceScaling",
                    "config": {
                        "input_axes": [0],
                        "output_axes": [1],
                        "in_axis": 0,
                    },
                }
            ),
            ValueError,
            r"`config\['config'\]` must give Keras's 'input_axes' and "
            r"'output_axes' or jinit's 'in_axis', 'out_axis' and 'other_axes', not "
            r"both; got \{'in_axis': 0\} with input_axes=\[0\], output_axes=\[1\]",
        ),
        (
            lambda: jinit.get(
                {
                    "class_name": "HeNormal",
                    "config": {
                        "seed": {
                            "class_name": "Generator",
                            "config": {"seed": 1},
                        }
                    },
                }
            ),
            TypeError,
            r"`config\['config'\]\['seed'\]` must be None, an int or a "
            r"serialized keras.random.SeedGenerator; got \{'class_name': "
            r"'Generator'",
        ),
        (
            lambda: jinit.variance_scaling(other_axes="batch"),
            ValueError,
            r"`other_axes` must be one of 'receptive_field', 'ignored'; got "
            r"'batch'",
        ),
        (
            lambda: jinit.glorot_uniform(other_axes=None),
            ValueError,
            r"`other_axes` must be one of 'receptive_field', 'ignored'; got None",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_name_and_config_errors(call, error, message):
    with pytest.raises(error, match=message):
        call()
