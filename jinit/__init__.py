"""jinit: JAX-native, purely functional neural-network weight initializers.

Every initializer is built by a factory and called as
``init(key, shape, dtype=None, *, out_sharding=None) -> jax.Array``:

>>> import jax, jinit
>>> jinit.glorot_normal(seed=0)(None, (128, 64)).shape
(128, 64)
"""

# The module of types (jinit.typing.Mode, ...), loaded with jinit.
from jinit import typing as typing
from jinit._constants import constant, ones, zeros
from jinit._contract import ConfiguredInitializer, Initializer
from jinit._distributions import (
    random_normal,
    random_uniform,
    truncated_normal,
)
from jinit._ensemble import ensemble
from jinit._fourier import stft
from jinit._gains import calculate_gain
from jinit._keys import path_key
from jinit._orthogonal import (
    convolution_orthogonal,
    delta_orthogonal,
    orthogonal,
)
from jinit._presets import Preset, preset
from jinit._registry import deserialize, get, serialize
from jinit._shapes import compute_fans
from jinit._structured import dirac, identity, sparse
from jinit._trees import Param, assign, materialize
from jinit._variance_scaling import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)
from jinit.diagnostics import (
    CoordCheck,
    Diagnosis,
    JacobianSpectrum,
    LayerDiagnosis,
    coord_check,
    diagnose,
)
from jinit.schemes import (
    LsuvResult,
    MupScaling,
    ResidualScales,
    deepnorm,
    deepnorm_scales,
    depth_scaled_normal,
    fixup,
    hippo_legs,
    hippo_legs_nplr,
    lru_gamma_log,
    lru_input,
    lru_nu_log,
    lru_output,
    lru_theta_log,
    lsuv,
    mamba_a_log,
    mamba_dt_bias,
    mamba_dt_proj,
    mimetic,
    mup,
    mup_learning_rates,
    mup_scaling,
    s4d,
    siren,
    siren_bias,
    skip_init,
    small_init,
    ssm_step,
    t_fixup,
    t_fixup_embedding,
    wang_init,
    zer_o,
)

__version__ = "0.1.0"

__all__ = [
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
