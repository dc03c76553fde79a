"""jinit: JAX-native, purely functional neural-network weight initializers.

Every initializer is built by a factory and called as
``init(key, shape, dtype=None, *, out_sharding=None) -> jax.Array``:

>>> import jax, jinit
>>> jinit.glorot_normal(seed=0)(None, (128, 64)).shape
(128, 64)
"""

from jinit._base import ConfiguredInitializer, Initializer
from jinit._constant import constant, dirac, identity, ones, zeros
from jinit._ensemble import ensemble
from jinit._gains import calculate_gain
from jinit._keys import path_key
from jinit._lsuv import LsuvResult, lsuv
from jinit._mup import MupScaling, mup, mup_learning_rates, mup_scaling
from jinit._orthogonal import delta_orthogonal, orthogonal
from jinit._params import Param, assign, materialize
from jinit._presets import Preset, preset
from jinit._random import (
    random_normal,
    random_uniform,
    sparse,
    truncated_normal,
)
from jinit._registry import deserialize, get, serialize
from jinit._residual import (
    ResidualScales,
    deepnorm,
    deepnorm_scales,
    depth_scaled_normal,
    fixup,
    skip_init,
    small_init,
    t_fixup,
    t_fixup_embedding,
    wang_init,
)
from jinit._shapes import compute_fans
from jinit._variance import (
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)
from jinit._zer_o import zer_o

__version__ = "0.1.0"

__all__ = [
    "ConfiguredInitializer",
    "Initializer",
    "LsuvResult",
    "MupScaling",
    "Param",
    "Preset",
    "ResidualScales",
    "assign",
    "calculate_gain",
    "compute_fans",
    "constant",
    "deepnorm",
    "deepnorm_scales",
    "delta_orthogonal",
    "depth_scaled_normal",
    "deserialize",
    "dirac",
    "ensemble",
    "fixup",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "lsuv",
    "materialize",
    "mup",
    "mup_learning_rates",
    "mup_scaling",
    "ones",
    "orthogonal",
    "path_key",
    "preset",
    "random_normal",
    "random_uniform",
    "serialize",
    "skip_init",
    "small_init",
    "sparse",
    "t_fixup",
    "t_fixup_embedding",
    "truncated_normal",
    "variance_scaling",
    "wang_init",
    "zer_o",
    "zeros",
]
