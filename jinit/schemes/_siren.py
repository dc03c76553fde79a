"""SIREN: sine networks' uniform initialization (Sitzmann et al. 2020)."""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax.typing import DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import About
from jinit._contract import ConfiguredInitializer, Elementwise, factory
from jinit._distributions import random_uniform
from jinit._shapes import Axes
from jinit._variance_scaling import OTHER_AXES, OtherAxes, check_fans, fans


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="U(±sqrt(6 / fan_in) / omega_0), first layer U(±1 / fan_in)",
        details="SIREN: hidden layers U(−√(6/fan_in)/ω₀, √(6/fan_in)/ω₀), the "
        "first layer (`first_layer=True`) U(−1/fan_in, 1/fan_in), for "
        "sin(ω₀·(xW + b)) with ω₀ = `omega_0`",
        reference="Sitzmann et al. 2020",
    ),
)
def siren(
    omega_0: float = 30.0,
    first_layer: bool = False,
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> Elementwise:
    r"""SIREN's initializer for the kernels of a sine network.

    The law: ``U(±sqrt(6 / fan_in) / omega_0), first layer U(±1 / fan_in)``.

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
    others). The reference keeps PyTorch's default biases,
    ``U(-1 / sqrt(n), 1 / sqrt(n))``, in every layer: in the first they give
    the sines random phases (``omega_0 b`` spans several periods);
    :func:`jinit.siren_bias` draws them.

    Fans follow :func:`jinit.compute_fans`, with the axis arguments of
    :func:`jinit.variance_scaling`: a PyTorch ``(out, in)`` weight is
    ``in_axis=-1, out_axis=-2`` (with the default axes its fan-in would be
    its number of outputs).

    A bound below the smallest normal value of the dtype drawn in (float32
    for 16-bit dtypes) is refused: every value would be 0 or subnormal,
    which XLA flushes to 0 on CPU.

    Args:
      omega_0: the frequency ``omega_0`` of the sines (> 0).
      first_layer: whether the kernel is the network's first layer.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      dtype: the initializer's default dtype, a real floating one.
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` (the fan-in) or ``"ignored"``.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``omega_0`` <= 0, overlapping axes or an unknown
        ``other_axes``; at call time, axes out of range for the shape, or a
        bound too small or too large for the dtype.
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
      >>> torch_layout = jinit.siren(in_axis=-1, out_axis=-2)  # (out, in)
      >>> w = torch_layout(jax.random.key(0), (64, 1024))      # fan_in 1024
      >>> bool(abs(w).max() < (6 / 1024) ** 0.5 / 30)
      True

    References:
      Sitzmann, Martel, Bergman, Lindell & Wetzstein (2020), Implicit Neural
      Representations with Periodic Activation Functions,
      https://arxiv.org/abs/2006.09661.
    """
    omega_0 = _validation.check_positive("omega_0", omega_0)
    if not isinstance(first_layer, bool):
        raise TypeError(
            f"`first_layer` must be a bool; got "
            f"{type(first_layer).__name__} {first_layer!r}."
        )
    _validation.check_choice("other_axes", other_axes, OTHER_AXES)
    _shapes.check_axes(
        in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis
    )

    def law(shape, dtype):
        fan_in, _ = fans(
            shape, in_axis, out_axis, batch_axis, other_axes=other_axes
        )
        if first_layer:
            limit, formula = 1 / fan_in, f"1 / fan_in = 1 / {fan_in}"
        else:
            limit = math.sqrt(6 / fan_in) / omega_0
            formula = (
                f"sqrt(6 / fan_in) / `omega_0` = sqrt(6 / {fan_in}) "
                f"/ {omega_0:g}"
            )
        smallest = float(jnp.finfo(dtype).tiny)
        if limit < smallest:
            raise ValueError(
                f"`siren(omega_0={omega_0:g}, first_layer={first_layer})` "
                f"draws from U(-b, b) with b = {formula} = {limit:.6g}, "
                f"below the smallest normal {dtype.name} value "
                f"{smallest:.6g} ({dtype.name} is the dtype drawn in): every "
                "value would be 0 or subnormal, which XLA flushes to 0. Use "
                "a smaller `omega_0` or a wider dtype."
            )
        return _draws.Affine(_draws.UNIFORM, (-limit, limit))

    return Elementwise(law)


@factory(
    random=True,
    about=About(
        family="scheme",
        formula="U(±1 / sqrt(fan_in))",
        details="SIREN's biases as its reference keeps them, PyTorch's "
        "`nn.Linear` default: U(−1/√fan_in, 1/√fan_in), `fan_in` the "
        "layer's number of inputs",
        reference="Sitzmann et al. 2020",
        example={"fan_in": 256},
        shape=(256,),
    ),
)
def siren_bias(
    fan_in: int, seed: int | None = None, *, dtype: DTypeLike | None = None
) -> ConfiguredInitializer:
    r"""SIREN's biases: ``b ~ U(-1 / sqrt(fan_in), 1 / sqrt(fan_in))``.

    The law: ``U(±1 / sqrt(fan_in))``.

    The reference code (``SineLayer`` in ``explore_siren.ipynb`` and the
    ``sine_init`` functions of github.com/vsitzmann/siren) sets only the
    weights and keeps the biases of ``torch.nn.Linear``, drawn
    ``uniform_(-1 / sqrt(fan_in), 1 / sqrt(fan_in))`` with ``fan_in`` the
    layer's number of inputs (``in_features``). In the first layer of
    ``sin(omega_0 (x W + b))`` they give each sine a random phase
    ``omega_0 b`` spanning several periods (``+-21`` for 2-D inputs and
    ``omega_0 = 30``); in the others they shift each pre-activation by a
    small constant. Pair it with :func:`jinit.siren` for the weights.

    A bias has shape ``(fan_out,)``, which does not hold the fan-in: it is
    an argument.

    Args:
      fan_in: the layer's number of inputs ``n`` (>= 1), ``in_features``
        in PyTorch: the product of the kernel's input and receptive-field
        axes.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``random_uniform(-1 / sqrt(fan_in), 1 /
      sqrt(fan_in))``.

    Raises:
      ValueError: ``fan_in`` < 1.
      TypeError: ``fan_in`` or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> b = jinit.siren_bias(fan_in=2)(jax.random.key(0), (256,))
      >>> bool(abs(b).max() < 2 ** -0.5)   # first layer, 2-D coordinates
      True
      >>> bool(abs(30 * b).max() > 3.14)   # phases beyond one half-period
      True

    References:
      Sitzmann et al. (2020), https://arxiv.org/abs/2006.09661, and its
      code; PyTorch's ``torch.nn.Linear.reset_parameters``.
    """
    fan_in = _validation.check_count("fan_in", fan_in)
    limit = 1 / math.sqrt(fan_in)
    return random_uniform(-limit, limit)
