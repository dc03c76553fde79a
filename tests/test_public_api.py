"""The public API, pinned: the names jinit exports and the signature of
every public callable, written out. A refactor that moves code between
modules must leave both as they are; changing them changes the API, on
purpose, here and in CHANGELOG.md."""

import inspect

import pytest

import jinit

ALL = [
    "ConfiguredInitializer",
    "CoordCheck",
    "Diagnosis",
    "Initializer",
    "JacobianSpectrum",
    "LayerDiagnosis",
    "LsuvResult",
    "MupScaling",
    "Param",
    "Preset",
    "ResidualScales",
    "assign",
    "calculate_gain",
    "compute_fans",
    "constant",
    "convolution_orthogonal",
    "coord_check",
    "deepnorm",
    "deepnorm_scales",
    "delta_orthogonal",
    "depth_scaled_normal",
    "deserialize",
    "diagnose",
    "dirac",
    "ensemble",
    "fixup",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "hippo_legs",
    "hippo_legs_nplr",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "lru_gamma_log",
    "lru_input",
    "lru_nu_log",
    "lru_output",
    "lru_theta_log",
    "lsuv",
    "mamba_a_log",
    "mamba_dt_bias",
    "mamba_dt_proj",
    "materialize",
    "mimetic",
    "mup",
    "mup_learning_rates",
    "mup_scaling",
    "ones",
    "orthogonal",
    "path_key",
    "preset",
    "random_normal",
    "random_uniform",
    "s4d",
    "serialize",
    "siren",
    "siren_bias",
    "skip_init",
    "small_init",
    "sparse",
    "ssm_step",
    "stft",
    "t_fixup",
    "t_fixup_embedding",
    "truncated_normal",
    "variance_scaling",
    "wang_init",
    "zer_o",
    "zeros",
]

# str(inspect.signature(getattr(jinit, name))) of each public callable.
SIGNATURES = {
    "ConfiguredInitializer": (
        "(build: 'Callable[..., ConfiguredInitializer]', "
        "config: 'Mapping[str, Any]', "
        "draw: 'Draw | Elementwise | Deterministic', *, "
        "random: 'bool', floating: 'bool', allow_complex: 'bool', "
        "check: 'Check | None', magnitude: 'Magnitude | None', "
        "rounding: 'Rounding' = 'jax')"
    ),
    "CoordCheck": (
        "(widths: 'tuple[int, ...]', steps: 'int', "
        "names: 'tuple[str, ...]', mean_abs: 'np.ndarray', "
        "losses: 'np.ndarray', exponents: 'dict[str, np.ndarray]') "
        "-> None"
    ),
    "Diagnosis": (
        "(names: 'tuple[str, ...]', primitives: 'tuple[str, ...]', "
        "output_shapes: 'tuple[tuple[int, ...], ...]', "
        "forward_mean: 'jax.Array', forward_std: 'jax.Array', "
        "forward_rms: 'jax.Array', backward_rms: 'jax.Array', "
        "weight_rms: 'jax.Array', weight_grad_rms: 'jax.Array', "
        "jacobian: 'JacobianSpectrum | None', backward: 'str', "
        "flag_factor: 'float') -> None"
    ),
    "Initializer": "(*args, **kwargs)",
    "JacobianSpectrum": (
        "(mean_squared_singular_value: ForwardRef('jax.Array'), "
        "variance: ForwardRef('jax.Array'))"
    ),
    "LayerDiagnosis": (
        "(index: 'int', path: 'str', primitive: 'str', "
        "output_shape: 'tuple[int, ...]', forward_mean: 'jax.Array', "
        "forward_std: 'jax.Array', forward_rms: 'jax.Array', "
        "backward_rms: 'jax.Array', weight_rms: 'jax.Array', "
        "weight_grad_rms: 'jax.Array') -> None"
    ),
    "LsuvResult": (
        "(params: ForwardRef('Any'), variances: ForwardRef('jax.Array'), "
        "iterations: ForwardRef('jax.Array'))"
    ),
    "MupScaling": (
        "(role: ForwardRef('str'), fan_in_ratio: ForwardRef('float'), "
        "fan_out_ratio: ForwardRef('float'), init: ForwardRef('float'), "
        "adam: ForwardRef('float'), sgd: ForwardRef('float'))"
    ),
    "Param": (
        "(shape: 'tuple[int, ...]', init: 'Callable[..., jax.Array]', "
        "dtype: 'Any' = <class 'jax.numpy.float32'>, "
        "sharding: 'Sharding | PartitionSpec | None' = None) -> None"
    ),
    "Preset": (
        "(framework: ForwardRef('str'), kernel: ForwardRef('Initializer'), "
        "embedding: ForwardRef('Initializer'), "
        "uniform_bias: ForwardRef('bool'))"
    ),
    "ResidualScales": "(alpha: ForwardRef('float'), beta: ForwardRef('float'))",
    "assign": "(abstract: 'Any', rules: 'Sequence[Rule]') -> 'Any'",
    "calculate_gain": (
        "(nonlinearity: 'Nonlinearity', param: 'float | None' = None)"
        " -> 'float'"
    ),
    "compute_fans": (
        "(shape: 'Sequence[int]', in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1)"
        " -> 'tuple[int, int]'"
    ),
    "constant": (
        "(value: 'ArrayLike | Sequence[Any]' = 0, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "convolution_orthogonal": (
        "(gain: 'float' = 1.0, seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "coord_check": (
        "(make: 'Callable[..., Any]', widths: 'Sequence[int]', "
        "batch: 'tuple[Any, Any]', *, loss: 'Callable[[Any, Any], Any]', "
        "optimizer: 'Any', steps: 'int' = 3, "
        "key: 'jax.Array | None' = None, "
        "progress: 'bool | None' = None) -> 'CoordCheck'"
    ),
    "deepnorm": (
        "(stack: 'Stack' = 'decoder', encoder_layers: 'int' = 0, "
        "decoder_layers: 'int' = 0, seed: 'int | None' = None, *, "
        "distribution: 'ResidualDistribution' = 'untruncated_normal', "
        "in_axis: 'Axes' = -2, out_axis: 'Axes' = -1, "
        "batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "deepnorm_scales": (
        "(stack: 'Stack', encoder_layers: 'int' = 0, "
        "decoder_layers: 'int' = 0) -> 'ResidualScales'"
    ),
    "delta_orthogonal": (
        "(gain: 'float' = 1.0, seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "depth_scaled_normal": (
        "(n_layers: 'int', stddev: 'float' = 0.02, branches: 'int' = 2, "
        "seed: 'int | None' = None, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "deserialize": "(config: 'Mapping[str, Any]') -> 'ConfiguredInitializer'",
    "diagnose": (
        "(fn: 'Callable[..., Any]', params: 'Any', *args: 'Any', "
        "loss: 'Callable[[Any], Any] | None' = None, "
        "key: 'jax.Array | None' = None, jacobian: 'bool' = False, "
        "jacobian_probes: 'int' = 8, flag_factor: 'float' = 2.0) "
        "-> 'Diagnosis'"
    ),
    "dirac": (
        "(groups: 'int' = 1, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "ensemble": (
        "(init: 'Callable[..., jax.Array]', n: 'int')"
        " -> 'ConfiguredInitializer'"
    ),
    "fixup": (
        "(n_branches: 'int', branch_layers: 'int', "
        "seed: 'int | None' = None, *, scale: 'float' = 2.0, "
        "mode: 'Mode' = 'fan_out', "
        "distribution: 'ResidualDistribution' = 'untruncated_normal', "
        "in_axis: 'Axes' = -2, out_axis: 'Axes' = -1, "
        "batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "get": "(identifier: 'Any') -> 'Callable[..., Any] | None'",
    "glorot_normal": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "glorot_uniform": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "he_normal": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "he_uniform": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "hippo_legs": (
        "(part: 'HippoPart' = 'A', *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "hippo_legs_nplr": (
        "(part: 'NplrPart' = 'B', component: 'Component' = 'real', "
        "b_clip: 'float | None' = 2.0, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "identity": (
        "(gain: 'float' = 1.0, *, batch_axis: 'Axes' = (), "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "lecun_normal": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "lecun_uniform": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "lru_gamma_log": ("(nu_log: 'ArrayLike') -> 'jax.Array'"),
    "lru_input": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "lru_nu_log": (
        "(r_min: 'float' = 0.0, r_max: 'float' = 1.0, "
        "seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "lru_output": (
        "(seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "lru_theta_log": (
        "(max_phase: 'float' = 6.28, seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "lsuv": (
        "(apply_fn: 'Callable[[Any, Any], Any]', params: 'Any', "
        "batch: 'Any', layers: 'Sequence[str]', *, "
        "key: 'jax.Array | None' = None, target: 'float' = 1.0, "
        "tol: 'float' = 0.1, max_iters: 'int' = 10, "
        "find_layers: 'bool | None' = None) -> 'LsuvResult'"
    ),
    "mamba_a_log": (
        "(*, dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "mamba_dt_bias": (
        "(dt_min: 'float' = 0.001, dt_max: 'float' = 0.1, "
        "dt_init_floor: 'float' = 0.0001, seed: 'int | None' = None, "
        "*, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "mamba_dt_proj": (
        "(dt_scale: 'float' = 1.0, seed: 'int | None' = None, *, "
        "in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "materialize": "(key: 'jax.Array', specs: 'Any') -> 'Any'",
    "mimetic": (
        "(key: 'jax.Array | int', params: 'Any', *, num_heads: 'int', "
        "query_kernel: 'str' = '\\\\bquery/kernel\\\\b', "
        "key_kernel: 'str' = '\\\\bkey/kernel\\\\b', "
        "value_kernel: 'str' = '\\\\bvalue/kernel\\\\b', "
        "output_kernel: 'str' = '\\\\bout/kernel\\\\b', "
        "alpha_qk: 'float' = 0.7, beta_qk: 'float' = 0.7, "
        "alpha_vo: 'float' = 0.4, beta_vo: 'float' = 0.4, "
        "distribution: 'Distribution' = 'uniform', "
        "vo_product: 'VoProduct' = 'authors_code', "
        "in_axis: 'Axes | None' = None, out_axis: 'Axes | None' = None)"
        " -> 'Any'"
    ),
    "mup": "(specs: 'Any', base: 'Any') -> 'Any'",
    "mup_learning_rates": (
        "(specs: 'Any', base: 'Any', optimizer: 'Optimizer' = 'adam') -> 'Any'"
    ),
    "mup_scaling": "(specs: 'Any', base: 'Any') -> 'Any'",
    "ones": "(*, dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'",
    "orthogonal": (
        "(gain: 'float' = 1.0, seed: 'int | None' = None, *, "
        "batch_axis: 'Axes' = (), column_axis: 'int' = -1, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "path_key": "(key: 'jax.Array', path: 'str') -> 'jax.Array'",
    "preset": "(framework: 'Framework') -> 'Preset'",
    "random_normal": (
        "(mean: 'float' = 0.0, stddev: 'float' = 0.05, "
        "seed: 'int | None' = None, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "random_uniform": (
        "(minval: 'float' = -0.05, maxval: 'float' = 0.05, "
        "seed: 'int | None' = None, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "s4d": (
        "(init: 'S4dInit' = 'lin', part: 'S4dPart' = 'imag', *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "serialize": "(init: 'ConfiguredInitializer') -> 'dict[str, Any]'",
    "siren": (
        "(omega_0: 'float' = 30.0, first_layer: 'bool' = False, "
        "seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "siren_bias": (
        "(fan_in: 'int', seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "skip_init": (
        "(alpha: 'float' = 0.0, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "small_init": (
        "(dim: 'int', seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "sparse": (
        "(sparsity: 'float', stddev: 'float' = 0.01, "
        "seed: 'int | None' = None, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "ssm_step": (
        "(dt_min: 'float' = 0.001, dt_max: 'float' = 0.1, "
        "parametrization: 'Parametrization' = 'log', "
        "floor: 'float' = 0.0, seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "stft": (
        "(side: 'Side' = 'real', window: 'str | Sequence[float] | None' = "
        "'hann', scaling: 'Scaling | None' = 'density', "
        "periodic: 'bool' = False, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "t_fixup": (
        "(n_layers: 'int', stack: 'Stack' = 'encoder', "
        "seed: 'int | None' = None, *, "
        "distribution: 'ResidualDistribution' = 'uniform', "
        "in_axis: 'Axes' = -2, out_axis: 'Axes' = -1, "
        "batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "t_fixup_embedding": (
        "(n_layers: 'int', seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "truncated_normal": (
        "(mean: 'float' = 0.0, stddev: 'float' = 0.05, "
        "seed: 'int | None' = None, *, dtype: 'DTypeLike | None' = None)"
        " -> 'ConfiguredInitializer'"
    ),
    "variance_scaling": (
        "(scale: 'float' = 1.0, mode: 'Mode' = 'fan_in', "
        "distribution: 'Distribution' = 'truncated_normal', "
        "seed: 'int | None' = None, *, in_axis: 'Axes' = -2, "
        "out_axis: 'Axes' = -1, batch_axis: 'Axes' = (), groups: 'int' = 1, "
        "dtype: 'DTypeLike | None' = None, "
        "other_axes: 'OtherAxes' = 'receptive_field')"
        " -> 'ConfiguredInitializer'"
    ),
    "wang_init": (
        "(n_layers: 'int', dim: 'int', seed: 'int | None' = None, *, "
        "dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'"
    ),
    "zer_o": "(*, dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'",
    "zeros": "(*, dtype: 'DTypeLike | None' = None) -> 'ConfiguredInitializer'",
}


def test_all_is_the_public_api():
    assert jinit.__all__ == ALL


def test_every_public_callable_is_pinned():
    assert list(SIGNATURES) == [
        name for name in ALL if callable(getattr(jinit, name))
    ]


@pytest.mark.parametrize("name", SIGNATURES)
def test_signature(name):
    assert str(inspect.signature(getattr(jinit, name))) == SIGNATURES[name]
