"""Initializers for deep residual networks and transformers.

Depth-scaled output projections (GPT-2, Megatron, GPT-NeoX's ``wang_init``),
DeepNorm, T-Fixup, Fixup and SkipInit/ReZero gates.

Each scales a standard law by the depth of the network so that the sum of
the residual branches, or the update one optimizer step makes to it, stays
bounded however many layers there are.
"""

from __future__ import annotations

import math
import typing
from collections.abc import Mapping
from typing import Any, NamedTuple

from jax.typing import DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import KERNEL_SHAPE, About
from jinit._choices import ResidualDistribution, Stack
from jinit._constants import constant
from jinit._contract import ConfiguredInitializer, Elementwise, factory
from jinit._distributions import random_normal
from jinit._shapes import Axes
from jinit._variance_scaling import Mode, check_fans, variance_scaling

STACKS: tuple[Stack, ...] = typing.get_args(Stack)
DISTRIBUTIONS: tuple[ResidualDistribution, ...] = typing.get_args(
    ResidualDistribution
)


@factory(
    random=True,
    about=About(
        family="scheme",
        formula="N(0, (stddev / sqrt(branches * n_layers))^2)",
        details="N(0, (stddev/√(branches·n_layers))²): GPT-2 and Megatron-LM's "
        "residual output projections (see Schemes from the literature)",
        example={"n_layers": 12},
    ),
)
def depth_scaled_normal(
    n_layers: int,
    stddev: float = 0.02,
    branches: int = 2,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    r"""Normal initializer for the output projections of residual branches.

    The law: ``N(0, (stddev / sqrt(branches * n_layers))^2)``.

    ``W ~ N(0, (stddev / sqrt(branches * n_layers))**2)``: the init of
    GPT-2 and Megatron-LM for the weights that write into the residual
    stream (the attention output and the second MLP matrix), with
    ``stddev = 0.02`` for every other weight and ``branches = 2`` residual
    branches (attention and MLP) in each of the ``n_layers`` blocks. The
    residual stream is a sum of ``branches * n_layers`` such outputs, so its
    variance no longer grows with depth.

    Args:
      n_layers: number of transformer blocks (>= 1).
      stddev: standard deviation of the unscaled weights (> 0).
      branches: residual branches per block (>= 1).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``random_normal(0.0, stddev / sqrt(branches *
      n_layers))`` for the same key.

    Raises:
      ValueError: ``n_layers`` or ``branches`` < 1, or ``stddev`` <= 0.
      TypeError: a count is not an int, or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> init = jinit.depth_scaled_normal(n_layers=12)
      >>> w = init(jax.random.key(0), (3072, 768))
      >>> round(float(w.std()) * (2 * 12) ** 0.5, 3)
      0.02

    References:
      Radford et al. (2019), Language Models are Unsupervised Multitask
      Learners, section 2.3 ("scale the weights of residual layers at
      initialization by a factor of 1/sqrt(N) where N is the number of
      residual layers"); Shoeybi et al. (2019), Megatron-LM,
      https://arxiv.org/abs/1909.08053 (``scaled_init_method_normal``:
      ``sigma / sqrt(2 * num_layers)``).
    """
    n_layers = _validation.check_count("n_layers", n_layers)
    branches = _validation.check_count("branches", branches)
    stddev = _validation.check_positive("stddev", stddev)
    return random_normal(0.0, stddev / math.sqrt(branches * n_layers))


@factory(
    random=True,
    about=About(
        family="scheme",
        formula="N(0, (2 / (n_layers sqrt(dim)))^2)",
        details="N(0, (2/(n_layers·√dim))²), GPT-NeoX's `wang_init`",
        example={"n_layers": 12, "dim": 768},
    ),
)
def wang_init(
    n_layers: int,
    dim: int,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    r"""GPT-NeoX's ``wang_init``, a normal law scaled by depth and width.

    The law: ``N(0, (2 / (n_layers sqrt(dim)))^2)``.

    ``W ~ N(0, (2 / (n_layers * sqrt(dim)))**2)``.

    For the weights that write into the residual stream (the attention output
    and the second MLP matrix) of a transformer with ``n_layers`` blocks of
    width ``dim``; :func:`jinit.small_init` covers the others.

    Args:
      n_layers: number of transformer blocks (>= 1).
      dim: the model width ``d`` (>= 1).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``random_normal(0.0, 2 / (n_layers * sqrt(dim)))``.

    Raises:
      ValueError: ``n_layers`` or ``dim`` < 1.
      TypeError: ``n_layers``, ``dim`` or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.wang_init(n_layers=44, dim=6144)(jax.random.key(0),
      ...                                              (4096, 1024))
      >>> round(float(w.std()) * 44 * 6144 ** 0.5 / 2, 2)
      1.0

    References:
      Black et al. (2022), GPT-NeoX-20B, https://arxiv.org/abs/2204.06745
      (``2 / (L sqrt(d))`` for the layers before the residuals, after Wang
      (2021), Mesh-Transformer-JAX); GPT-NeoX's ``wang_init_method``.
    """
    n_layers = _validation.check_count("n_layers", n_layers)
    dim = _validation.check_count("dim", dim)
    return random_normal(0.0, 2 / (n_layers * math.sqrt(dim)))


class ResidualScales(NamedTuple):
    """The constants of a DeepNorm stack: ``alpha`` and ``beta``.

    ``x <- LN(alpha * x + G(x))``, and ``beta`` is the gain of the Xavier init
    of the weights of ``G`` that carry values (the MLP matrices and the
    attention value and output projections).
    """

    alpha: float
    beta: float


def _layer_counts(
    encoder_layers: object, decoder_layers: object, stack: str
) -> tuple[int, int]:
    """Checked ``(N, M)``: the encoder and decoder layer counts.

    0 for a stack the model does not have, and at least 1 for ``stack``.
    """
    counts = []
    for name, value in (
        ("encoder_layers", encoder_layers),
        ("decoder_layers", decoder_layers),
    ):
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(
                f"`{name}` must be an int >= 0; got "
                f"{type(value).__name__} {value!r}."
            )
        if value < 0:
            raise ValueError(
                f"`{name}` must be an int >= 0 (0: the model "
                f"has no such stack); got {value!r}."
            )
        counts.append(value)
    if counts[STACKS.index(stack)] == 0:
        raise ValueError(
            f"`{stack}_layers` must be >= 1 for `stack` {stack!r}; got 0."
        )
    return counts[0], counts[1]


def deepnorm_scales(
    stack: Stack, encoder_layers: int = 0, decoder_layers: int = 0
) -> ResidualScales:
    r"""DeepNorm's ``alpha`` and ``beta`` for one stack of a transformer.

    With ``N`` encoder and ``M`` decoder layers (0 for a stack the model does
    not have):

    * encoder only: ``alpha = (2N)^(1/4)``, ``beta = (8N)^(-1/4)``;
    * decoder only: ``alpha = (2M)^(1/4)``, ``beta = (8M)^(-1/4)``;
    * encoder-decoder, encoder: ``alpha = 0.81 (N^4 M)^(1/16)``,
      ``beta = 0.87 (N^4 M)^(-1/16)``;
    * encoder-decoder, decoder: ``alpha = (3M)^(1/4)``,
      ``beta = (12M)^(-1/4)``.

    So the bound on the model update that the paper derives, the sum over
    sublayers of ``(v^2 + w^2) / alpha^2`` with ``v = w = beta``, is the
    same for every depth (1 for the stacks that are alone or a decoder).
    torchscale's encoder-decoder encoder divides by
    ``(N^4 M)^(1/16) / 1.15``, i.e. ``beta = 1.15 (N^4 M)^(-1/16)``; this
    follows the paper's 0.87 = 1 / 1.15.

    Args:
      stack: ``"encoder"`` or ``"decoder"``.
      encoder_layers: ``N``, the number of encoder layers (>= 0).
      decoder_layers: ``M``, the number of decoder layers (>= 0).

    Returns:
      ``ResidualScales(alpha, beta)``.

    Raises:
      ValueError: an unknown ``stack``, a negative count, or 0 layers in
        ``stack``.
      TypeError: a count is not an int.

    Examples:
      >>> import jinit
      >>> jinit.deepnorm_scales("decoder", decoder_layers=8)
      ResidualScales(alpha=2.0, beta=0.3535533905932738)

    References:
      Wang et al. (2022), DeepNet: Scaling Transformers to 1,000 Layers,
      https://arxiv.org/abs/2203.00555, Figure 2.
    """
    _validation.check_choice("stack", stack, STACKS)
    n, m = _layer_counts(encoder_layers, decoder_layers, stack)
    if n and m:
        if stack == "encoder":
            return ResidualScales(
                0.81 * (n**4 * m) ** (1 / 16), 0.87 * (n**4 * m) ** (-1 / 16)
            )
        return ResidualScales((3 * m) ** (1 / 4), (12 * m) ** (-1 / 4))
    layers = n or m
    return ResidualScales((2 * layers) ** (1 / 4), (8 * layers) ** (-1 / 4))


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="Xavier std sqrt(2 / (fan_in + fan_out)) times beta",
        details="Xavier with gain β: std β·√(2/(fan_in+fan_out)), β from "
        "`deepnorm_scales`",
        reference="DeepNet, Wang et al. 2022",
        example={"decoder_layers": 12},
        fixed={"mode": "fan_avg"},
    ),
)
def deepnorm(
    stack: Stack = "decoder",
    encoder_layers: int = 0,
    decoder_layers: int = 0,
    seed: int | None = None,
    *,
    distribution: ResidualDistribution = "untruncated_normal",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    r"""DeepNorm's init: Xavier normal with gain ``beta``.

    The law: ``Xavier std sqrt(2 / (fan_in + fan_out)) times beta``.

    ``W ~ N(0, beta**2 * 2 / (fan_in + fan_out))`` with ``beta`` from
    :func:`jinit.deepnorm_scales`, for the MLP matrices and the value and
    output projections of attention in the given stack; the query and key
    projections keep gain 1 (``jinit.variance_scaling(1.0, "fan_avg",
    "untruncated_normal")``). The residual connections of that stack become
    ``x <- LayerNorm(alpha * x + G(x))``. Together they bound the update of
    the model by an optimizer step independently of its depth.

    Args:
      stack: ``"encoder"`` or ``"decoder"``, the stack the weight is in.
      encoder_layers: number of encoder layers ``N`` (0: none).
      decoder_layers: number of decoder layers ``M`` (0: none).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      distribution: ``"untruncated_normal"`` (the paper's
        ``xavier_normal_``), ``"truncated_normal"`` or ``"uniform"``, with
        the same variance (see :func:`jinit.variance_scaling`).
      in_axis: axis or axes of the inputs in the weight, as in
        :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``variance_scaling(beta**2, "fan_avg",
      distribution)``'s.

    Raises:
      ValueError: as :func:`jinit.deepnorm_scales`, or an unknown
        ``distribution``.
      TypeError: as :func:`jinit.deepnorm_scales`.

    Examples:
      >>> import jax, jinit
      >>> init = jinit.deepnorm("decoder", decoder_layers=100)
      >>> w = init(jax.random.key(0), (1024, 1024))
      >>> round(float(w.std()) * (8 * 100) ** 0.25 * 1024 ** 0.5, 2)
      1.0

    References:
      Wang et al. (2022), DeepNet: Scaling Transformers to 1,000 Layers,
      https://arxiv.org/abs/2203.00555, Figure 2.
    """
    _validation.check_choice("distribution", distribution, DISTRIBUTIONS)
    beta = deepnorm_scales(stack, encoder_layers, decoder_layers).beta
    return variance_scaling(
        beta**2,
        "fan_avg",
        distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
    )


def t_fixup_scale(stack: str, n_layers: int) -> float:
    """T-Fixup's factor for the weights of one stack.

    ``0.67 N^(-1/4)`` in the encoder, ``(9N)^(-1/4)`` in the decoder and for
    the input embeddings.
    """
    return (
        0.67 * n_layers ** (-1 / 4)
        if stack == "encoder"
        else (9 * n_layers) ** (-1 / 4)
    )


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="Xavier std times 0.67 N^-1/4 (encoder), (9N)^-1/4 (decoder)",
        details="Xavier × 0.67·N^(−1/4) (encoder) or (9N)^(−1/4) (decoder)",
        reference="T-Fixup, Huang et al. 2020",
        example={"n_layers": 6},
        fixed={"mode": "fan_avg"},
    ),
)
def t_fixup(
    n_layers: int,
    stack: Stack = "encoder",
    seed: int | None = None,
    *,
    distribution: ResidualDistribution = "uniform",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    r"""T-Fixup's init of the attention and MLP weights of a transformer.

    The law: ``Xavier std times 0.67 N^-1/4 (encoder), (9N)^-1/4 (decoder)``.

    For a transformer without layer normalization or warmup.

    Xavier with its standard deviation ``sqrt(2 / (fan_in + fan_out))``
    multiplied by ``0.67 N^(-1/4)`` in the encoder and ``(9N)^(-1/4)`` in the
    decoder, for ``N`` layers in each: for the value and output projections
    of every attention block and both MLP matrices. Query and key
    projections keep plain Xavier, and input embeddings use
    :func:`jinit.t_fixup_embedding`.

    Args:
      n_layers: ``N``, the number of layers of the encoder and of the
        decoder (>= 1).
      stack: ``"encoder"`` or ``"decoder"``, the stack the weight is in.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      distribution: ``"uniform"`` (Xavier uniform, fairseq's default, which
        T-Fixup builds on), ``"untruncated_normal"`` or
        ``"truncated_normal"``, with the same variance.
      in_axis: axis or axes of the inputs in the weight, as in
        :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``n_layers`` < 1, or an unknown ``stack`` or
        ``distribution``.
      TypeError: ``n_layers`` or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.t_fixup(6, "decoder")(jax.random.key(0), (512, 2048))
      >>> round(float(w.std()) / (2 / 2560) ** 0.5 * (9 * 6) ** 0.25, 2)
      1.0

    References:
      Huang, Perez, Ba & Volkovs (2020), Improving Transformer Optimization
      Through Better Initialization, ICML, Algorithm 2 (T-Fixup).
    """
    n_layers = _validation.check_count("n_layers", n_layers)
    _validation.check_choice("stack", stack, STACKS)
    _validation.check_choice("distribution", distribution, DISTRIBUTIONS)
    return variance_scaling(
        t_fixup_scale(stack, n_layers) ** 2,
        "fan_avg",
        distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
    )


def _check_embedding(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 1, None, initializer)


@factory(
    random=True,
    check=_check_embedding,
    about=About(
        family="scheme",
        formula="N(0, 1 / d) times (9N)^-1/4, d = shape[-1]",
        details="N(0, 1/d)·(9N)^(−1/4), d = shape[−1]",
        reference="T-Fixup, Huang et al. 2020",
        example={"n_layers": 6},
    ),
)
def t_fixup_embedding(
    n_layers: int, seed: int | None = None, *, dtype: DTypeLike | None = None
) -> Elementwise:
    r"""T-Fixup's init of the input embeddings of encoder and decoder.

    The law: ``N(0, 1 / d) times (9N)^-1/4, d = shape[-1]``.

    ``E ~ N(0, 1 / d) * (9N)^(-1/4)`` for a ``(..., d)`` embedding table:
    the Gaussian init with standard deviation ``d^(-1/2)`` of fairseq's
    transformer, scaled for ``N`` layers.

    Args:
      n_layers: ``N``, the number of layers of the encoder and of the
        decoder (>= 1).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      ``d`` is the last axis of ``shape``.

    Raises:
      ValueError: ``n_layers`` < 1; at call time, a 0-D shape.
      TypeError: ``n_layers`` or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> e = jinit.t_fixup_embedding(6)(jax.random.key(0), (32000, 512))
      >>> round(float(e.std()) * 512 ** 0.5 * (9 * 6) ** 0.25, 2)
      1.0

    References:
      Huang, Perez, Ba & Volkovs (2020), Improving Transformer Optimization
      Through Better Initialization, ICML, Algorithm 2 (T-Fixup).
    """
    n_layers = _validation.check_count("n_layers", n_layers)
    factor = t_fixup_scale("decoder", n_layers)
    return Elementwise(
        lambda shape, dtype: _draws.Affine(
            _draws.NORMAL, (), factor / math.sqrt(shape[-1])
        )
    )


def fixup_scale(n_branches: int, branch_layers: int) -> float:
    """Fixup's factor ``L^(-1/(2m-2))``.

    For ``L`` residual branches of ``m`` layers each.
    """
    return n_branches ** (-1 / (2 * branch_layers - 2))


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="std sqrt(scale / n(mode)) times L^(-1/(2m-2))",
        details="√(scale/n(mode))·L^(−1/(2m−2))",
        reference="Fixup, Zhang et al. 2019",
        example={"n_branches": 16, "branch_layers": 2},
        shape=KERNEL_SHAPE,
    ),
)
def fixup(
    n_branches: int,
    branch_layers: int,
    seed: int | None = None,
    *,
    scale: float = 2.0,
    mode: Mode = "fan_out",
    distribution: ResidualDistribution = "untruncated_normal",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    groups: int = 1,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    r"""Fixup's init of the layers inside residual branches.

    The law: ``std sqrt(scale / n(mode)) times L^(-1/(2m-2))``.

    For networks without normalization.

    ``W ~ N(0, scale / fan_out) * L^(-1/(2m-2))``: He init (``scale = 2``
    for ReLU) of each of the first ``m - 1`` layers of each of the ``L``
    branches, scaled so that one optimizer step changes the network's output
    by an amount independent of ``L``. The paper asks for "a standard
    method (e.g., He et al.)"; the authors' code draws
    ``N(0, 2 / (out_channels * kh * kw))``, He's ``fan_out`` form, which is
    the default here (``mode="fan_in"`` is the other). The rest of Fixup:
    the last layer of each branch and the classification layer start at
    zero (:func:`jinit.zeros`), a scalar multiplier per branch at 1
    (:func:`jinit.ones`) and scalar biases at 0.

    Args:
      n_branches: ``L``, the number of residual branches (>= 1).
      branch_layers: ``m``, the number of weight layers in a branch (>= 2;
        ``L^(-1/(2m-2))`` is undefined for ``m = 1``).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      scale: the unscaled variance times the fan (2 for He init).
      mode: the fan of the unscaled init, as in
        :func:`jinit.variance_scaling`.
      distribution: ``"untruncated_normal"`` (He normal),
        ``"truncated_normal"`` or ``"uniform"``, with the same variance.
      in_axis: axis or axes of the inputs in the weight, as in
        :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight.
      batch_axis: axes of independent stacked weights, left out of the fans.
      groups: groups of a grouped convolution; ``fan_out`` is divided by it.
      dtype: the initializer's default dtype (a real floating dtype).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``;
      its values equal ``variance_scaling(scale * L^(-1/(m-1)), mode,
      distribution)``'s.

    Raises:
      ValueError: ``n_branches`` < 1, ``branch_layers`` < 2, ``scale`` <= 0,
        or an unknown ``mode`` or ``distribution``.
      TypeError: a count or ``seed`` is not an int.

    Examples:
      >>> import jax, jinit
      >>> init = jinit.fixup(n_branches=16, branch_layers=2)
      >>> w = init(jax.random.key(0), (3, 3, 64, 64))
      >>> round(float(w.std()) / (2 / (9 * 64)) ** 0.5 * 16 ** 0.5, 2)
      1.0

    References:
      Zhang, Dauphin & Ma (2019), Fixup Initialization: Residual Learning
      Without Normalization, ICLR, https://arxiv.org/abs/1901.09321,
      Figure 1 (Fixup); github.com/hongyi-zhang/Fixup.
    """
    n_branches = _validation.check_count("n_branches", n_branches)
    branch_layers = _validation.check_count("branch_layers", branch_layers)
    if branch_layers < 2:
        raise ValueError(
            "`branch_layers` must be >= 2: Fixup scales by L^(-1/(2m-2)), "
            f"undefined for m = 1; got {branch_layers}."
        )
    scale = _validation.check_positive("scale", scale)
    _validation.check_choice("distribution", distribution, DISTRIBUTIONS)
    return variance_scaling(
        scale * fixup_scale(n_branches, branch_layers) ** 2,
        mode,
        distribution,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        groups=groups,
    )


@factory(
    random=False,
    about=About(
        family="scheme",
        formula="alpha (0: ReZero)",
        details="`alpha`, any shape and dtype: the gate of `x + α·f(x)`",
        reference="ReZero, Bachlechner et al. 2020; SkipInit, De & Smith 2020",
    ),
)
def skip_init(
    alpha: float = 0.0, *, dtype: DTypeLike | None = None
) -> ConfiguredInitializer:
    r"""The gate of a residual branch, ``x + alpha * f(x)``, at ``alpha``.

    The law: ``alpha (0: ReZero)``.

    ``alpha = 0`` (the default) is ReZero and SkipInit: every residual block,
    and so the whole network, starts as the identity map, yet the gates
    receive gradients and open during training. SkipInit also allows a small
    constant, ``alpha <= 1/sqrt(d)`` for ``d`` residual blocks. Any shape: a
    scalar gate, or a vector for one gate per channel.

    Args:
      alpha: the initial value of the gates.
      dtype: the initializer's default dtype.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``
      filling ``shape`` with ``alpha``; the key is ignored.

    Raises:
      TypeError: ``alpha`` is not a real number.
      ValueError: ``alpha`` is not finite.

    Examples:
      >>> import jinit
      >>> jinit.skip_init()(None, ())
      Array(0., dtype=float32)

    References:
      Bachlechner et al. (2020), ReZero is All You Need,
      https://arxiv.org/abs/2003.04887; De & Smith (2020), Batch
      Normalization Biases Residual Blocks Towards the Identity Function in
      Deep Networks, https://arxiv.org/abs/2002.10444 (SkipInit).
    """
    return constant(_validation.check_real("alpha", alpha))
