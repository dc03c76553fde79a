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

__version__ = "0.1.0"

__all__ = [
    "ConfiguredInitializer",
    "Initializer",
    "Param",
    "Preset",
    "assign",
    "calculate_gain",
    "compute_fans",
    "constant",
    "delta_orthogonal",
    "deserialize",
    "dirac",
    "ensemble",
    "get",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "identity",
    "lecun_normal",
    "lecun_uniform",
    "materialize",
    "ones",
    "orthogonal",
    "path_key",
    "preset",
    "random_normal",
    "random_uniform",
    "serialize",
    "sparse",
    "truncated_normal",
    "variance_scaling",
    "zeros",
]
