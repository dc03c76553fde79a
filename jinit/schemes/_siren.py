"""SIREN: sine networks' uniform initialization (Sitzmann et al. 2020)."""

from __future__ import annotations

import math

from jax.typing import DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import About
from jinit._contract import Elementwise, factory
from jinit._shapes import Axes
from jinit._variance_scaling import check_fans, fans


@factory(random=True, check=check_fans, about=About(
    family="scheme",
    formula="U(±sqrt(6 / fan_in) / omega_0), first layer U(±1 / fan_in)",
    details="SIREN: hidden layers U(−√(6/fan_in)/ω₀, √(6/fan_in)/ω₀), the "
            "first layer (`first_layer=True`) U(−1/fan_in, 1/fan_in), for "
            "sin(ω₀·(xW + b)) with ω₀ = `omega_0`",
    reference="Sitzmann et al. 2020"))
def siren(omega_0: float = 30.0, first_layer: bool = False,
          seed: int | None = None, *, in_axis: Axes = -2,
          out_axis: Axes = -1, batch_axis: Axes = (),
          dtype: DTypeLike | None = None) -> Elementwise:
    r"""SIREN's initializer for the kernels of a sine network.

    For a layer ``y = sin(omega_0 (x W + b))`` with ``n = fan_in``:

    * hidden layers: ``W ~ U(-sqrt(6 / n) / omega_0, sqrt(6 / n) / omega_0)``,
      so that ``omega_0 x W`` is approximately ``N(0, 1)`` when ``x`` is
      arcsine-distributed on ``[-1, 1]`` (the output of the previous sine),
      and every layer's pre-activations keep that law however deep the
      network (Section 3.2 and Theorem 1.8 of the supplement);
    * the first layer (``first_layer=True``): ``W ~ U(-1 / n, 1 / n)``,
      which ``omega_0`` multiplies into ``U(-omega_0 / n, omega_0 / n)`` so
      that the first sines span several periods over inputs in ``[-1, 1]``.

    The network multiplies by ``omega_0`` in the forward pass; these are the
    weights ``W`` it multiplies. ``omega_0 = 30`` is the paper's (Section
    3.2) and the authors' code's (``SineLayer`` in ``explore_siren.ipynb``
    of github.com/vsitzmann/siren: ``uniform_(-1 / in_features,
    1 / in_features)`` for the first layer, ``uniform_(-np.sqrt(6 /
    in_features) / omega_0, np.sqrt(6 / in_features) / omega_0)`` for the
    others). Fans follow :func:`jinit.compute_fans`.

    Args:
      omega_0: the frequency ``omega_0`` of the sines (> 0).
      first_layer: whether the kernel is the network's first layer.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``omega_0`` <= 0 or overlapping axes; at call time, axes
        out of range for the shape.
      TypeError: ``omega_0`` is not a real number, ``first_layer`` not a
        bool, or ``seed`` not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.siren()(jax.random.key(0), (256, 256))
      >>> bool(abs(w).max() < (6 / 256) ** 0.5 / 30)
      True
      >>> w = jinit.siren(first_layer=True)(jax.random.key(0), (2, 256))
      >>> bool(abs(w).max() < 1 / 2)
      True

    References:
      Sitzmann, Martel, Bergman, Lindell & Wetzstein (2020), Implicit Neural
      Representations with Periodic Activation Functions,
      https://arxiv.org/abs/2006.09661.
    """
    omega_0 = _validation.check_positive("omega_0", omega_0)
    if not isinstance(first_layer, bool):
        raise TypeError(f"`first_layer` must be a bool; got "
                        f"{type(first_layer).__name__} {first_layer!r}.")
    _shapes.check_axes(in_axis=in_axis, out_axis=out_axis,
                       batch_axis=batch_axis)

    def law(shape, dtype):
        fan_in, _ = fans(shape, in_axis, out_axis, batch_axis)
        limit = (1 / fan_in if first_layer
                 else math.sqrt(6 / fan_in) / omega_0)
        return _draws.Affine("uniform", (-limit, limit))

    return Elementwise(law)
