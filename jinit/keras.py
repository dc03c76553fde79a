"""jinit initializers as Keras 3 initializers.

:func:`initializer` wraps a jinit initializer in a
``keras.initializers.Initializer`` that Keras 3 layers take as
``kernel_initializer=`` and the like, on the JAX backend: it draws with
Keras's seed semantics, honours the ``layout`` Keras passes under a
``keras.distribution`` (as jinit's ``out_sharding``), and serializes with
``keras.initializers.serialize`` and ``keras.saving``. Import it as
``import jinit.keras`` (``import jinit`` does not import Keras); it sets
``KERAS_BACKEND=jax`` where no backend is set yet.
"""

from __future__ import annotations

import numbers
import os
import random
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import AbstractMesh, NamedSharding

os.environ.setdefault("KERAS_BACKEND", "jax")

import keras  # noqa: E402

from jinit import _keys  # noqa: E402
from jinit._contract import ConfiguredInitializer  # noqa: E402
from jinit._registry import deserialize, get, serialize  # noqa: E402

if keras.backend.backend() != "jax":
    raise ImportError(
        "jinit.keras needs Keras's JAX backend: set KERAS_BACKEND=jax before "
        f"importing keras; got backend {keras.backend.backend()!r}."
    )

__all__ = ["JinitInitializer", "initializer"]


def keras_key(seed: int) -> jax.Array:
    """The key Keras 3's JAX backend draws with for the int seed ``seed``.

    The raw ``uint32`` key ``[seed, 0]`` (not ``jax.random.key(seed)``, which
    is ``[0, seed]``).
    """
    return jax.random.wrap_key_data(jnp.array([seed, 0], np.uint32))


@keras.saving.register_keras_serializable(package="jinit")
class JinitInitializer(keras.initializers.Initializer):
    """A jinit initializer as a Keras 3 initializer; see :func:`initializer`.

    Attributes:
      init: the jinit initializer, with Keras's rounding (see
        :func:`initializer`).
      seed: the seed it draws with: an int, a ``keras.random.SeedGenerator``
        or ``None`` (a deterministic ``init``, or one with its own seed).
    """

    def __init__(self, init: Any, seed: Any = None):
        if isinstance(init, (str, Mapping)):
            init = get(init)
        if not isinstance(init, ConfiguredInitializer):
            raise TypeError(
                "`init` must be a jinit initializer such as "
                "jinit.he_normal(), its name or its serialized dict; got "
                f"{type(init).__name__} {init!r}."
            )
        self.init = init.with_rounding("keras")
        self._init_seed = seed
        if isinstance(seed, Mapping):
            seed = keras.saving.deserialize_keras_object(seed)
        if seed is None:
            # As Keras's RandomInitializer: a fixed seed drawn now (from
            # Python's `random`, which keras.utils.set_random_seed seeds),
            # unless the jinit initializer has its own.
            if init.random and init.get_config().get("seed") is None:
                seed = random.randint(1, 10**9)
        elif not isinstance(seed, keras.random.SeedGenerator):
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
                raise TypeError(
                    "`seed` must be None, an int in [0, 2**32) or a "
                    "keras.random.SeedGenerator; got "
                    f"{type(seed).__name__} {seed!r}."
                )
            if not 0 <= int(seed) < _keys.SEED_LIMIT:
                raise ValueError(f"`seed` must be in [0, 2**32); got {seed!r}.")
            seed = int(seed)
        self.seed = seed

    def _key(self) -> jax.Array | None:
        if not self.init.random or self.seed is None:
            return None  # Deterministic, or the jinit initializer's own seed.
        if isinstance(self.seed, keras.random.SeedGenerator):
            return jax.random.wrap_key_data(
                jnp.asarray(
                    keras.ops.convert_to_tensor(self.seed.next(), "uint32")
                )
            )
        return keras_key(self.seed)

    def __call__(
        self, shape: Any, dtype: Any = None, layout: Any = None
    ) -> jax.Array:
        """Draws ``init(key, shape, dtype, out_sharding=layout)``.

        Args:
          shape: the weight's shape.
          dtype: its dtype; ``None`` is ``init``'s own dtype, or
            ``keras.config.floatx()`` where it has none.
          layout: ``None``, a ``keras.distribution.TensorLayout`` or a JAX
            sharding (as Keras passes under a distribution).

        Returns:
          A JAX array, sharded as ``layout``.

        Raises:
          ValueError: ``init`` returned another shape than ``shape`` (an
            ensemble's members, a leading axis Keras did not ask for).
        """
        if dtype is None and self.init.get_config().get("dtype") is None:
            dtype = keras.config.floatx()
        if isinstance(layout, keras.distribution.TensorLayout):
            layout = layout.backend_layout
        if isinstance(layout, NamedSharding) and isinstance(
            layout.mesh, AbstractMesh
        ):
            # Keras 3.15 passes its spec over the abstract mesh of the mesh
            # it has set with jax.set_mesh: the spec under that mesh.
            layout = layout.spec
        shape = tuple(shape)
        values = self.init(self._key(), shape, dtype, out_sharding=layout)
        if values.shape != shape:
            raise ValueError(
                f"`init` {self.init!r} returned shape {values.shape} for a "
                f"Keras weight of shape {shape}: a Keras initializer must "
                "return the shape it is given."
                + (
                    " An ensemble stacks its members on a leading axis; in "
                    "Keras give each member's layer its own initializer "
                    "instead."
                    if self.init.name == "ensemble"
                    else ""
                )
            )
        return values

    def get_config(self) -> dict[str, Any]:
        """``{"init": jinit.serialize(init), "seed": ...}``.

        The seed as it was given (``None`` stays ``None``, as in Keras).
        """
        return {
            "init": serialize(self.init),
            "seed": keras.saving.serialize_keras_object(self._init_seed),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> JinitInitializer:
        """Rebuilds the initializer from :meth:`get_config`'s dict."""
        return cls(deserialize(config["init"]), config.get("seed"))

    def __repr__(self) -> str:
        return f"jinit.keras.initializer({self.init!r}, seed={self.seed!r})"


def initializer(init: Any, seed: Any = None) -> JinitInitializer:
    """A jinit initializer as a Keras 3 initializer (JAX backend).

    Keras calls it as ``initializer(shape, dtype)``, or with ``layout`` under
    a ``keras.distribution``; it returns ``init(key, shape, dtype,
    out_sharding=layout)``, so a model-parallel weight is created sharded,
    each device drawing its own shard of the unsharded values. The key
    follows Keras's seed semantics (``keras.initializers.RandomNormal`` and
    the like):

    * an int ``seed`` draws every call with Keras's key for that seed, the
      raw key ``[seed, 0]``: the same values each call, and the values of a
      Keras initializer with that seed wherever jinit draws as JAX does
      (``he_normal`` as ``keras.initializers.HeNormal(seed)``);
    * a ``keras.random.SeedGenerator`` gives each call a fresh key from
      ``seed.next()``;
    * ``None`` draws a fixed int seed now, as Keras does, unless ``init``
      has its own seed: then each call is ``init(None, shape)``. An int or
      generator seed is folded into ``init``'s own seed.

    A deterministic ``init`` (``zeros()``, ``identity()``) takes no key.

    Which bits: the adapter draws with ``init.with_rounding("keras")``, so
    from the same key its values are Keras's bit for bit (``he_normal`` as
    ``keras.initializers.HeNormal``): Keras computes a law's scale in
    float64 and rounds it once, where ``jax.nn.initializers`` computes it in
    the dtype drawn in, a difference of up to 2 ulp in most elements of the
    variance-scaling family (``he_normal`` at (16, 8): 112 of 128). So do
    the initializers :func:`jinit.get` loads from a dict Keras wrote. jinit's
    own factories, called directly (and in Flax, Equinox or Haiku), keep
    drawing ``jax.nn.initializers``' bits.

    Args:
      init: a jinit initializer, or a name or dict :func:`jinit.get` turns
        into one.
      seed: ``None``, an int in [0, 2**32) or a
        ``keras.random.SeedGenerator``.

    Returns:
      A ``keras.initializers.Initializer``, serializable with
      ``keras.initializers.serialize`` and ``deserialize`` (its class is
      registered as ``"jinit>JinitInitializer"``).

    Raises:
      TypeError: ``init`` is not a jinit initializer (a custom function
        cannot be serialized), or ``seed`` is of another type.
      ValueError: an unknown name, or an int ``seed`` out of range; when
        called, ``init`` returns another shape than the weight's (a
        ``jinit.ensemble``).

    Examples:
      >>> import numpy as np, keras, jinit, jinit.keras
      >>> dense = keras.layers.Dense(
      ...     8, kernel_initializer=jinit.keras.initializer(
      ...         jinit.he_normal(), seed=3))
      >>> dense.build((None, 16))
      >>> keras_he = keras.initializers.HeNormal(seed=3)((16, 8))
      >>> bool(np.array_equal(dense.kernel.value, keras_he))
      True
    """
    return JinitInitializer(init, seed)
