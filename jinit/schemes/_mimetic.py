"""Mimetic initialization of self-attention (Trockman & Kolter, 2023).

The query and key kernels of each head are set so that ``W_q W_k^T`` is close
to ``alpha Z + beta I``, and the value and output kernels so that
``W_v W_o`` is close to ``alpha Z - beta I`` (the paper) or to a similarity
transform of it (the authors' code): the diagonal structure of the products
in pre-trained vision Transformers.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import re
import typing
from collections.abc import Sequence
from typing import Any

import jax
import jax.core
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec, Sharding

from jinit import _draws, _dtypes, _keys, _shapes, _validation
from jinit._choices import MimeticDistribution as Distribution
from jinit._choices import VoProduct
from jinit._distributions import random_normal, random_uniform
from jinit._keys import unique_path_strings
from jinit._shapes import Axes
from jinit._sharding import place
from jinit._trees import Param, is_param

DISTRIBUTIONS: tuple[Distribution, ...] = typing.get_args(Distribution)
VO_PRODUCTS: tuple[VoProduct, ...] = typing.get_args(VoProduct)

# The defaults of the authors' reference function ``mimetic_init``:
# ``alpha = 0.7; beta = 0.7`` for the query/key product and
# ``get_ortho_like(dim, n_heads, 0.4, 0.4, -1)`` (sign -1) for value/output.
ALPHA_QK = 0.7
BETA_QK = 0.7
ALPHA_VO = 0.4
BETA_VO = 0.4

# The constants, in the order of mimetic's arguments and of ``constants``.
ARGUMENTS = ("alpha_qk", "beta_qk", "alpha_vo", "beta_vo")

# The four kernels of an attention layer: (role, argument naming its regex).
ROLES = (
    ("query", "query_kernel"),
    ("key", "key_kernel"),
    ("value", "value_kernel"),
    ("output", "output_kernel"),
)


@dataclasses.dataclass(frozen=True)
class _Layer:
    """One attention layer: its name and the leaf index of each kernel."""

    name: str
    indices: dict[str, int]


class _Computed:
    """The initializer of a :class:`jinit.Param` that mimetic has computed.

    It returns the values :func:`jinit.mimetic` computed for the parameter
    (the key is ignored), so :func:`jinit.materialize` makes them.
    """

    __slots__ = ("_values", "_where")

    def __init__(self, values: np.ndarray, where: str):
        self._values = values
        self._where = where

    def __call__(
        self,
        key: jax.Array | None,
        shape: Any,
        dtype: Any = None,
        *,
        out_sharding: Sharding | PartitionSpec | None = None,
    ) -> jax.Array:
        """The computed values, cast to ``dtype``; ``key`` is not used."""
        if tuple(shape) != self._values.shape:
            raise ValueError(
                f"the mimetic values of {self._where!r} have shape "
                f"{self._values.shape}; asked for {tuple(shape)}."
            )
        requested = _dtypes.as_dtype("dtype", dtype)
        values = (
            self._values
            if requested is None
            else self._values.astype(requested)
        )
        return place(jax.device_put(values), out_sharding)

    def __repr__(self) -> str:
        return f"<mimetic values of {self._where!r}>"


def _check_pattern(argument: str, pattern: object) -> re.Pattern[str]:
    if not isinstance(pattern, str):
        raise TypeError(
            f"`{argument}` must be a regular expression (a str) "
            f"matching the paths of those kernels; got "
            f"{type(pattern).__name__} {pattern!r}."
        )
    try:
        return re.compile(pattern)
    except re.error as error:
        raise ValueError(
            f"`{argument}` {pattern!r} is not a regular expression: {error}."
        ) from None


def _root_key(key: object) -> jax.Array:
    """The typed key of a call: ``key`` itself, or ``jax.random.key(seed)``."""
    if isinstance(key, numbers.Integral) and not isinstance(key, bool):
        seed = _keys.check_seed(key)
        assert seed is not None
        return jax.random.key(seed)
    return _keys.required(key, "mimetic")


def _layers(
    names: Sequence[str],
    leaves: Sequence[Any],
    patterns: dict[str, re.Pattern[str]],
) -> list[_Layer]:
    """The attention layers of the tree, by the roles' patterns.

    A leaf belongs to the layer named by its path with the match of its
    role's pattern replaced by ``*`` (``"blocks/0/attn/*"`` for
    ``"blocks/0/attn/query/kernel"``), so the four kernels of a layer share
    a name, whatever the order of the tree.

    Raises:
      ValueError: a pattern matches no path, a path matches two roles, or a
        layer lacks a kernel or has two of one.
    """
    layers: dict[str, dict[str, int]] = {}
    roles_of: dict[str, list[str]] = {}
    for index, (name, leaf) in enumerate(zip(names, leaves, strict=True)):
        for role, argument in ROLES:
            match = patterns[role].search(name)
            if match is None:
                continue
            roles_of.setdefault(name, []).append(argument)
            if not hasattr(leaf, "shape") or not hasattr(leaf, "dtype"):
                raise TypeError(
                    f"`{argument}` matches {name!r}, which has no shape and "
                    f"dtype: {type(leaf).__name__} {leaf!r}."
                )
            layer = f"{name[: match.start()]}*{name[match.end() :]}"
            found = layers.setdefault(layer, {})
            if role in found:
                raise ValueError(
                    f"the attention layer {layer!r} has two {role} kernels, "
                    f"{names[found[role]]!r} and {name!r}; make "
                    f"`{argument}` match one."
                )
            found[role] = index
    for name, arguments in roles_of.items():
        if len(arguments) > 1:
            raise ValueError(
                f"the path {name!r} matches {' and '.join(arguments)}; each "
                "kernel must match the pattern of one role only."
            )
    for role, argument in ROLES:
        if not any(role in found for found in layers.values()):
            raise ValueError(
                f"`{argument}` {patterns[role].pattern!r} matches no path "
                f"of `params`; the paths are: {_keys.shown_paths(names)}."
            )
    for layer, found in layers.items():
        missing = [argument for role, argument in ROLES if role not in found]
        if missing:
            has = ", ".join(
                f"{role} {names[index]!r}" for role, index in found.items()
            )
            raise ValueError(
                f"the attention layer {layer!r} has {has} but nothing "
                f"matched by {', '.join(missing)}: every layer needs its "
                "query, key, value and output kernels, which must differ "
                "only where their patterns match."
            )
    return [_Layer(layer, found) for layer, found in sorted(layers.items())]


def _order(
    role: str,
    name: str,
    shape: tuple[int, ...],
    in_axis: Axes | None,
    out_axis: Axes | None,
) -> tuple[int, ...]:
    """The axes of a kernel in the order ``(in..., out...)`` of ``x @ W``.

    The axes as they are where ``in_axis`` and ``out_axis`` are ``None``
    (the layouts of :func:`_heads`), else ``in_axis`` then ``out_axis``.

    Raises:
      ValueError: an axis is out of range or neither in nor out, or the
        side of the layer's width has more than one axis.
    """
    if in_axis is None or out_axis is None:  # mimetic: both or neither.
        return tuple(range(len(shape)))
    axes = _shapes.resolve_axes(shape, in_axis=in_axis, out_axis=out_axis)
    order = axes["in_axis"] + axes["out_axis"]
    if len(order) != len(shape):
        left = sorted(set(range(len(shape))) - set(order))
        raise ValueError(
            f"the {role} kernel {name!r} has shape {shape}, and `in_axis` "
            f"{in_axis!r} and `out_axis` {out_axis!r} leave its axes {left} "
            "out: every axis of an attention kernel is an input or an "
            "output axis."
        )
    side, given = (
        ("out_axis", out_axis) if role == "output" else ("in_axis", in_axis)
    )
    if len(axes[side]) != 1:
        raise ValueError(
            f"`{side}` {given!r} names {len(axes[side])} axes of the {role} "
            f"kernel {name!r} (shape {shape}); there it must name one axis, "
            "the layer's width."
        )
    return order


def _heads(
    role: str, name: str, shape: tuple[int, ...], num_heads: int
) -> tuple[int, int]:
    """``(width, head_dim)`` of a kernel of the attention layer.

    A query, key or value kernel is ``(width, num_heads * head_dim)`` or
    Flax's ``(width, num_heads, head_dim)``; an output kernel the reverse,
    ``(num_heads * head_dim, width)`` or ``(num_heads, head_dim, width)``.
    """
    output = role == "output"
    heads = (
        "(num_heads, head_dim, width)"
        if output
        else "(width, num_heads, head_dim)"
    )
    if len(shape) == 2:
        inner, width = shape if output else shape[::-1]
        if inner % num_heads:
            features = "input" if output else "output"
            raise ValueError(
                f"the {role} kernel {name!r} has shape {shape}: its {inner} "
                f"{features} features do not split into `num_heads` "
                f"{num_heads} heads; `num_heads` must divide {inner}."
            )
        return width, inner // num_heads
    if len(shape) == 3:
        count, head_dim, width = (
            shape if output else (shape[1], shape[2], shape[0])
        )
        if count != num_heads:
            raise ValueError(
                f"the {role} kernel {name!r} has shape {shape}, {heads} "
                f"with {count} heads; `num_heads` is {num_heads}."
            )
        return width, head_dim
    flat = (
        "(num_heads * head_dim, width)"
        if output
        else "(width, num_heads * head_dim)"
    )
    raise ValueError(
        f"the {role} kernel {name!r} has shape {shape}; allowed "
        f"are {flat} and {heads}."
    )


def _noise(
    key: jax.Array,
    shape: tuple[int, ...],
    width: int,
    distribution: str,
    dtype: np.dtype,
) -> jax.Array:
    """``Z``: i.i.d. entries of mean 0 and variance ``1 / width``."""
    if distribution == "uniform":
        limit = math.sqrt(3 / width)
        law = random_uniform(-limit, limit)
    else:
        law = random_normal(stddev=math.sqrt(1 / width))
    return law(key, shape, dtype)


def _svd(target: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``U, S, V^T`` of ``target``, each singular pair's sign fixed.

    The largest entry of each column of ``U`` is positive, so the factors
    do not depend on the sign convention of the SVD.
    """
    u, s, vt = jnp.linalg.svd(target, full_matrices=False)
    largest = jnp.argmax(jnp.abs(u), axis=-2, keepdims=True)
    signs = jnp.sign(jnp.take_along_axis(u, largest, axis=-2))
    return u * signs, s, vt * jnp.swapaxes(signs, -1, -2)


def _factor(
    key: jax.Array, target: jax.Array, inner: int, always_mix: bool
) -> tuple[jax.Array, jax.Array]:
    """``(L, R)`` with ``L @ R.T`` the best rank-``inner`` approximation.

    ``target = U S V^T`` (:func:`_svd`); ``L = U_r S_r^(1/2) P`` and ``R =
    V_r S_r^(1/2) P`` with ``r = min(inner, width)``: the factors of the
    authors' ``get_ortho_like``, truncated. ``P`` (``r x inner``,
    orthonormal rows) is Haar-random (which leaves the product unchanged)
    when ``always_mix`` or ``inner > width``, and the identity otherwise.
    """
    u, s, vt = _svd(target)
    width = target.shape[-1]
    rank = min(inner, width)
    root = jnp.sqrt(s[..., :rank])
    left = u[..., :, :rank] * root[..., None, :]
    right = jnp.swapaxes(vt[..., :rank, :], -1, -2) * root[..., None, :]
    if always_mix or inner > width:
        # Orthonormal rows: the transpose of a Haar (inner, rank) draw.
        mix = _draws.orthogonal(
            key, inner, target.shape[:-2], target.dtype, rank
        ).mT
        left, right = left @ mix, right @ mix
    return left, right


@functools.partial(jax.jit, static_argnums=tuple(range(1, 10)))
def _values(
    key: jax.Array,
    num_heads: int,
    width: int,
    head_dim: int,
    value_width: int,
    value_head_dim: int,
    constants: tuple[float, float, float, float],
    distribution: str,
    vo_product: str,
    dtype: np.dtype,
) -> dict[str, jax.Array]:
    """The four kernels of one layer, in ``dtype``, in canonical layouts.

    ``(width, heads, head_dim)``, and ``(heads * head_dim, width)`` for the
    output.

    One program per layer shape, the same eagerly and inlined under
    ``jit``: the same values either way.
    """
    alpha_qk, beta_qk, alpha_vo, beta_vo = constants
    qk_key, vo_key, qk_mix, vo_mix = jax.random.split(key, 4)
    # One target per head: W_q^h W_k^h^T ~ alpha_qk Z_h + beta_qk I.
    eye = jnp.eye(width, dtype=dtype)[None]
    target = (
        alpha_qk
        * _noise(qk_key, (num_heads, width, width), width, distribution, dtype)
        + beta_qk * eye
    )
    query, key_ = _factor(qk_mix, target, head_dim, always_mix=False)
    # One target for the layer, T = alpha_vo Z - beta_vo I = L R.
    eye = jnp.eye(value_width, dtype=dtype)
    target = (
        alpha_vo
        * _noise(
            vo_key, (value_width, value_width), value_width, distribution, dtype
        )
        - beta_vo * eye
    )
    if vo_product == "paper":  # sum_h W_v^h W_o^h = L R ~ T.
        value, output = _factor(
            vo_mix, target, num_heads * value_head_dim, always_mix=True
        )
        output = jnp.swapaxes(output, 0, 1)
    else:  # W_v = L^T, W_o = R^T: W_v W_o = (R L)^T.
        u, s, vt = _svd(target)
        root = jnp.sqrt(s)[None, :]
        value = jnp.swapaxes(u * root, 0, 1)  # S^(1/2) U^T
        output = jnp.swapaxes(vt, 0, 1) * root  # V S^(1/2)
    made = {
        "query": jnp.moveaxis(query, 0, 1),  # (width, heads, head_dim)
        "key": jnp.moveaxis(key_, 0, 1),
        "value": value,
        "output": output,
    }
    return made


def mimetic(
    key: jax.Array | int,
    params: Any,
    *,
    num_heads: int,
    query_kernel: str = r"\bquery/kernel\b",
    key_kernel: str = r"\bkey/kernel\b",
    value_kernel: str = r"\bvalue/kernel\b",
    output_kernel: str = r"\bout/kernel\b",
    alpha_qk: float = ALPHA_QK,
    beta_qk: float = BETA_QK,
    alpha_vo: float = ALPHA_VO,
    beta_vo: float = BETA_VO,
    distribution: Distribution = "uniform",
    vo_product: VoProduct = "authors_code",
    in_axis: Axes | None = None,
    out_axis: Axes | None = None,
) -> Any:
    r"""``params`` with its attention kernels set by mimetic initialization.

    For each attention layer (the query, key, value and output kernels whose
    paths differ only where ``query_kernel``, ``key_kernel``,
    ``value_kernel`` and ``output_kernel`` match), in the ``(in, out)``
    layout of ``x @ W``, with ``d`` the layer's width and ``k`` the head
    dimension:

    * each head ``h`` gets its own ``d x d`` target
      ``T_h = alpha_qk Z_h + beta_qk I`` and, with ``T_h = U S V^T``,
      ``W_q^h = U_k S_k^(1/2)`` and ``W_k^h = V_k S_k^(1/2)`` (the first
      ``k`` singular triples), so ``W_q^h W_k^h^T`` is the best rank-``k``
      approximation of ``T_h``;
    * the layer gets one target ``T = alpha_vo Z - beta_vo I = U S V^T =
      L R`` with ``L = U S^(1/2)`` and ``R = S^(1/2) V^T``, and the value
      and output kernels are set by ``vo_product``:

      - ``"authors_code"`` (the default): ``W_v = L^T = S^(1/2) U^T`` and
        ``W_o = R^T = V S^(1/2)``, so ``W_v W_o = (R L)^T``, what the
        authors' code computes (below). It needs ``heads * k_v = d``, as
        that code does;
      - ``"paper"``: ``W_v = U_r S_r^(1/2) P``, ``W_o = P^T S_r^(1/2)
        V_r^T`` with ``r = min(d, heads * k_v)`` and ``P`` a Haar-random
        ``r x (heads * k_v)`` matrix with orthonormal rows, so ``W_v W_o =
        sum_h W_v^h W_o^h = L R`` is ``T`` as the paper writes it (its best
        rank-``r`` approximation), and every head gets a random share of
        all its singular directions (a head dimension ``k > d`` is
        completed the same way, ``W_q^h W_k^h^T = T_h``);

    where every ``Z`` has i.i.d. entries of mean 0 and variance ``1/d``:
    uniform on ``[-sqrt(3/d), sqrt(3/d)]`` (``distribution="uniform"``, as
    the authors' code draws by default) or ``N(0, 1/d)`` (``"normal"``).
    So at initialization the attention logits ``x W_q^h W_k^h^T x^T`` have a
    large positive diagonal: each token attends mostly to itself, as in
    pre-trained vision Transformers, and ``W_v W_o`` sends it to about
    ``-beta_vo`` times itself. Everything else in ``params`` (biases, other
    layers) is returned as it is.

    The constants were checked against the authors' code, not the paper's
    equations: its functions ``get_ortho_like`` and ``mimetic_init``
    (github.com/locuslab/mimetic-init), as public copies reproduce them.
    ``alpha_qk = beta_qk = 0.7`` (``alpha = 0.7; beta = 0.7``);
    ``alpha_vo = beta_vo = 0.4`` with the sign ``-1``
    (``get_ortho_like(dim, n_heads, 0.4, 0.4, -1)``); ``Z`` uniform with
    variance ``1/d`` (``dist='uniform'``: ``(rand * 2 - 1) * 3**0.5 /
    dim**0.5``); one independent target per head for the query and key
    kernels, truncated to the head dimension (``Q[:, :head_dim]``,
    ``K.T[:, :head_dim]``), and one ``d x d`` target for the value and
    output kernels. The paper's abstract gives the signs: the query-key
    product "approximately the identity", the value-projection product
    "approximately the negative identity". The authors' code writes ``L =
    U S^(1/2)`` and ``R = S^(1/2) V^T`` into PyTorch's ``(out, in)`` value
    and projection weights, so the map it computes is ``x L^T R^T = x (R
    L)^T``: ``R L = L^-1 T L`` is a similarity transform of ``T``, with the
    same trace and eigenvalues, but not ``T``. Its diagonal is ``s_i (V^T
    U)_ii``, which spreads far more than ``T``'s ``-beta_vo + alpha_vo
    Z_ii``: the standard deviation of the diagonal of ``W_v W_o``, measured
    for ``d`` = 64, 256, 512 and 1024 (``tests/test_siren_mimetic_edges.py``),
    is 0.242, 0.238, 0.237 and 0.236 with ``"authors_code"`` against
    0.047, 0.025, 0.018 and 0.012 (``alpha_vo / sqrt(d)``) with
    ``"paper"``; both have mean ``-beta_vo``. The default is the authors'
    code, whose products gave the paper's trained results. The query and
    key kernels are the same with either: the code's ``Q K^T`` is the best
    rank-``k`` approximation of its target.

    Kernels may be ``(d, heads * k)`` (query, key, value) and ``(heads * k,
    d)`` (output), as jinit and ``flax.nnx.Linear`` lay them out, or Flax's
    ``(d, heads, k)`` and ``(heads, k, d)``. Other layouts name their axes
    with ``in_axis`` and ``out_axis``, as :func:`jinit.variance_scaling`
    does, the same for the four kernels: PyTorch's ``(out, in)`` weights
    are ``in_axis=-1, out_axis=-2`` (read as ``(in, out)``, a square
    kernel would be silently transposed). Query and key kernels must have
    the same shape. A fused ``qkv`` kernel is not split, and stacked layers
    are not either (there is no ``batch_axis``): give each projection of
    each layer its own parameter.

    The constants are checked against the dtypes, as the affine laws are:
    a layer whose targets (entries up to ``|alpha| z + |beta|``, ``z`` the
    largest entry of ``Z``) or kernels (entries up to ``sqrt(|beta| +
    |alpha| d z)``, a bound on ``sqrt(||T||)``) would overflow the dtype
    computed in or a kernel's dtype, or lie wholly below its smallest
    normal value (every value 0 or subnormal), is refused.

    The values are computed in float32 (float64 for float64 kernels) and
    cast once to each kernel's dtype. The key of a layer is
    ``jinit.path_key(key, name)``, ``name`` being the layer's path with the
    matched part replaced by ``*`` (``"blocks/0/attn/*"``), so the values
    do not depend on the order of the tree or on other layers. From it,
    ``k_qk, k_vo, k_qk_mix, k_vo_mix = jax.random.split(layer_key, 4)``;
    the query/key noise is ``jinit.random_uniform(-a, a)(k_qk, (heads, d,
    d))`` (``Z_h`` its slice ``h``, ``a = sqrt(3/d)``; ``random_normal(
    stddev=sqrt(1/d))`` for ``"normal"``) and the value/output noise the
    same law at ``(k_vo, (d, d))``. Works under ``jax.jit`` on a tree of
    arrays: each layer is one compiled program (one per layer shape), so
    eager and ``jit`` calls give the same bits, and each singular pair's
    sign is fixed (the largest entry of ``U``'s column positive), so the
    factors do not depend on the SVD's sign convention.

    Args:
      key: a PRNG key, or an int seed in [0, 2**32) standing for
        ``jax.random.key(seed)``.
      params: a pytree of arrays (a dict, a ``flax.nnx.State``), of
        ``jax.ShapeDtypeStruct`` or of :class:`jinit.Param`.
      num_heads: the number of attention heads (``>= 1``).
      query_kernel: regular expression ``re.search``-ing the paths of the
        query kernels (paths such as ``"blocks/0/attn/query/kernel"``).
      key_kernel: the same for the key kernels.
      value_kernel: the same for the value kernels.
      output_kernel: the same for the output (projection) kernels.
      alpha_qk: the weight of the noise in ``W_q W_k^T``.
      beta_qk: the weight of the identity in ``W_q W_k^T``.
      alpha_vo: the weight of the noise in ``W_v W_o``.
      beta_vo: the weight of the negative identity in ``W_v W_o``.
      distribution: the law of ``Z``: ``"uniform"`` or ``"normal"``.
      vo_product: what ``W_v W_o`` is for the factors ``L R`` of ``T``:
        ``"authors_code"`` (``(R L)^T``) or ``"paper"`` (``L R``).
      in_axis: axis or axes of the kernels' inputs (the width of a query,
        key or value kernel; the heads of an output kernel), with
        ``out_axis``; ``None`` (both) for the layouts above.
      out_axis: axis or axes of the kernels' outputs.

    Returns:
      ``params`` with the four kernels of every attention layer replaced:
      by arrays where they were arrays or ``jax.ShapeDtypeStruct`` (placed
      with the struct's sharding), by a :class:`jinit.Param` that
      :func:`jinit.materialize` makes into these values where they were
      ``Param`` (same shape, dtype and sharding). Other leaves are returned
      as they are.

    Raises:
      ValueError: a pattern is not a regular expression or matches no path;
        a path matches two patterns; a layer lacks one of its four kernels;
        a kernel's shape is not one of the above, its heads are not
        ``num_heads`` (or ``num_heads`` does not divide its width), or the
        layer's shapes do not fit together; an ``alpha``/``beta`` is not
        finite, or with its pair would overflow or vanish in a dtype (see
        above); ``distribution`` or ``vo_product`` is unknown;
        ``vo_product="authors_code"`` and ``heads * k_v != d``; only one of
        ``in_axis`` and ``out_axis`` is given, or they do not fit a kernel;
        ``num_heads`` < 1; ``key`` is a batch of keys.
      TypeError: ``key`` is not a PRNG key or int; a pattern is not a str;
        ``num_heads`` is not an int; an ``alpha``/``beta`` is not a real
        number; an axis is not an int; a matched leaf has no shape and
        dtype, or a non-floating dtype; ``params`` holds ``Param`` leaves
        and ``key`` is traced.

    Examples:
      >>> import jax, jinit
      >>> d, heads = 64, 4
      >>> abstract = {name: {"kernel": jax.ShapeDtypeStruct((d, d),
      ...                                                   "float32")}
      ...             for name in ("query", "key", "value", "out")}
      >>> params = jinit.mimetic(0, abstract, num_heads=heads)
      >>> qk = params["query"]["kernel"][:, :16] @ params["key"]["kernel"][
      ...     :, :16].T                      # head 0: rank 16 of 0.7 Z + 0.7 I
      >>> bool(qk.trace() > 0.5 * 16)      # a positive diagonal
      True
      >>> vo = params["value"]["kernel"] @ params["out"]["kernel"]
      >>> round(float(vo.trace() / d), 1)  # the trace of -0.4 I + 0.4 Z
      -0.4
      >>> round(float(vo.diagonal().std()), 2)  # the authors' (R L)^T
      0.24
      >>> paper = jinit.mimetic(0, abstract, num_heads=heads,
      ...                       vo_product="paper")
      >>> vo = paper["value"]["kernel"] @ paper["out"]["kernel"]
      >>> round(float(vo.diagonal().std() * d ** 0.5), 1)  # 0.4 Z - 0.4 I
      0.4

    References:
      Trockman & Kolter (2023), Mimetic Initialization of Self-Attention
      Layers, ICML 2023, https://arxiv.org/abs/2305.09828 (abstract: the
      signs of both products; the constants from the authors' code).
    """
    num_heads = _validation.check_count("num_heads", num_heads)
    constants = tuple(
        _validation.check_real(name, value)
        for name, value in (
            ("alpha_qk", alpha_qk),
            ("beta_qk", beta_qk),
            ("alpha_vo", alpha_vo),
            ("beta_vo", beta_vo),
        )
    )
    distribution = typing.cast(
        Distribution,
        _validation.check_choice("distribution", distribution, DISTRIBUTIONS),
    )
    _validation.check_choice("vo_product", vo_product, VO_PRODUCTS)
    if (in_axis is None) != (out_axis is None):
        raise ValueError(
            f"`in_axis` and `out_axis` go together: got in_axis={in_axis!r}, "
            f"out_axis={out_axis!r}. Give both, or neither for the layouts "
            "(d, heads * k), (heads * k, d) and Flax's (d, heads, k), "
            "(heads, k, d)."
        )
    if in_axis is not None and out_axis is not None:
        _shapes.check_axes(in_axis=in_axis, out_axis=out_axis)
    given = {
        "query_kernel": query_kernel,
        "key_kernel": key_kernel,
        "value_kernel": value_kernel,
        "output_kernel": output_kernel,
    }
    patterns = {
        role: _check_pattern(argument, given[argument])
        for role, argument in ROLES
    }
    root = _root_key(key)

    leaves, treedef = jax.tree_util.tree_flatten_with_path(
        params, is_leaf=is_param
    )
    names = unique_path_strings([path for path, _ in leaves])
    values = [leaf for _, leaf in leaves]
    layers = _layers(names, values, patterns)
    if any(
        isinstance(values[index], Param)
        for layer in layers
        for index in layer.indices.values()
    ) and isinstance(root, jax.core.Tracer):
        raise TypeError(
            "`params` holds jinit.Param leaves, whose values are computed "
            "now, and `key` is traced (under jit or vmap); pass a concrete "
            "key, or a tree of arrays."
        )

    new = list(values)
    for layer in layers:
        made = _layer(
            root,
            layer,
            names,
            values,
            num_heads,
            typing.cast("tuple[float, float, float, float]", constants),
            distribution,
            vo_product,
            (in_axis, out_axis),
        )
        for role, index in layer.indices.items():
            leaf, array = values[index], made[role]
            if isinstance(leaf, Param):
                new[index] = dataclasses.replace(
                    leaf, init=_Computed(np.asarray(array), names[index])
                )
            elif isinstance(leaf, jax.ShapeDtypeStruct):
                new[index] = place(array, getattr(leaf, "sharding", None))
            else:
                new[index] = array
    return jax.tree_util.tree_unflatten(treedef, new)


def _layer(
    root: jax.Array,
    layer: _Layer,
    names: Sequence[str],
    leaves: Sequence[Any],
    num_heads: int,
    constants: tuple[float, float, float, float],
    distribution: str,
    vo_product: str,
    axes: tuple[Axes | None, Axes | None],
) -> dict[str, jax.Array]:
    """The four kernels of ``layer``, each in its leaf's dtype."""
    where = {role: names[index] for role, index in layer.indices.items()}
    orders = {
        role: _order(role, where[role], tuple(leaves[index].shape), *axes)
        for role, index in layer.indices.items()
    }
    # Each kernel's shape in the order (in..., out...) of x @ W.
    shapes = {
        role: tuple(leaves[index].shape[axis] for axis in orders[role])
        for role, index in layer.indices.items()
    }
    dtypes = {}
    for role, _ in ROLES:
        dtype = _dtypes.as_dtype("dtype", leaves[layer.indices[role]].dtype)
        assert dtype is not None
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"the {role} kernel {where[role]!r} has dtype {dtype.name}; "
                "mimetic initialization needs a real floating dtype."
            )
        dtypes[role] = dtype
    width, head_dim = _heads(
        "query", where["query"], shapes["query"], num_heads
    )
    if shapes["key"] != shapes["query"]:
        raise ValueError(
            f"the key kernel {where['key']!r} has shape {shapes['key']} and "
            f"the query kernel {where['query']!r} {shapes['query']}; "
            "mimetic initialization needs the same shape."
        )
    value_width, value_head_dim = _heads(
        "value", where["value"], shapes["value"], num_heads
    )
    output_width, output_head_dim = _heads(
        "output", where["output"], shapes["output"], num_heads
    )
    if (output_head_dim, output_width) != (value_head_dim, value_width):
        raise ValueError(
            f"the output kernel {where['output']!r} has shape "
            f"{shapes['output']} and the value kernel {where['value']!r} "
            f"{shapes['value']}: the output kernel must take the value "
            f"heads ({num_heads} x {value_head_dim}) back to the value "
            f"kernel's width {value_width}, so that W_v W_o is square."
        )
    if (
        vo_product == "authors_code"
        and num_heads * value_head_dim != value_width
    ):
        raise ValueError(
            f"`vo_product` 'authors_code' sets W_v = L^T and W_o = R^T, "
            f"square as in the authors' code, and the attention layer "
            f"{layer.name!r} has {num_heads} x {value_head_dim} = "
            f"{num_heads * value_head_dim} value features for a width of "
            f"{value_width}: use vo_product='paper', or num_heads * head_dim "
            "equal to the width."
        )
    if not all(math.prod(shape) for shape in shapes.values()):
        listed = ", ".join(f"{role} {shape}" for role, shape in shapes.items())
        raise ValueError(
            f"the attention layer {layer.name!r} has a kernel of size 0 "
            f"({listed}); mimetic initialization needs nonzero widths."
        )
    work = max(
        (_dtypes.sampling(dtype) for dtype in dtypes.values()),
        key=lambda dtype: dtype.itemsize,
    )
    for pair, roles, size in (
        (0, ("query", "key"), width),
        (2, ("value", "output"), value_width),
    ):
        _check_range(
            layer.name,
            ARGUMENTS[pair : pair + 2],
            constants[pair : pair + 2],
            size,
            distribution,
            work,
            {role: (where[role], dtypes[role]) for role in roles},
        )
    made = _values(
        _keys.path_key(root, layer.name),
        num_heads,
        width,
        head_dim,
        value_width,
        value_head_dim,
        constants,
        distribution,
        vo_product,
        work,
    )
    return {
        role: jnp.transpose(
            made[role].reshape(shapes[role]),
            [int(axis) for axis in np.argsort(orders[role])],
        ).astype(dtypes[role])
        for role in made
    }


def _check_range(
    layer: str,
    arguments: tuple[str, ...],
    constants: tuple[float, ...],
    width: int,
    distribution: str,
    work: np.dtype,
    kernels: dict[str, tuple[str, np.dtype]],
) -> None:
    """Raises ``ValueError`` if a target or its kernels overflow or vanish.

    The target ``alpha Z +- beta I`` (of ``width``) is computed in
    ``work``, its entries at most ``|alpha| z + |beta|`` with ``z`` the
    largest entry of ``Z``, and 0 where both ``|alpha| z`` and ``|beta|``
    are subnormal; the kernels' entries are at most ``sqrt(||T||) <=
    sqrt(|beta| + |alpha| width z)`` (``||Z|| <= ||Z||_F <= width z``), in
    ``work`` and in each kernel's dtype. Values beyond the largest finite
    value overflow; values all below the smallest normal one are 0 or
    subnormal, which XLA flushes to 0.
    """
    alpha, beta = (abs(constant) for constant in constants)
    z = (
        math.sqrt(3 / width)
        if distribution == "uniform"
        else _draws.normal_extreme(work) / math.sqrt(width)
    )
    target, kernel = alpha * z + beta, math.sqrt(beta + alpha * width * z)
    given = " and ".join(
        f"`{argument}` = {constant:g}"
        for argument, constant in zip(arguments, constants, strict=True)
    )
    # (what, its dtype, its largest magnitude, a bound on all its values).
    sign = "+" if arguments[1] == "beta_qk" else "-"
    # A target whose terms alpha Z_ij and beta are all subnormal is 0.
    checks = [
        (
            f"the target {arguments[0]} Z {sign} {arguments[1]} I of the "
            f"attention layer {layer!r}, computed in",
            work,
            max(alpha, beta, target),
            max(alpha * z, beta),
        ),
        (
            f"its {' and '.join(kernels)} kernels, computed in",
            work,
            kernel,
            kernel,
        ),
    ]
    checks += [
        (f"the {role} kernel {name!r}, of dtype", dtype, kernel, kernel)
        for role, (name, dtype) in kernels.items()
    ]
    for what, dtype, largest, bound in checks:
        info = jnp.finfo(dtype)
        if largest > float(info.max):
            raise ValueError(
                f"{given} give {what} {dtype.name}, values up to "
                f"{largest:.6g} in magnitude, beyond the largest finite "
                f"{dtype.name} value {float(info.max):.6g}: use smaller "
                "constants or a wider dtype."
            )
        if bound < float(info.tiny):
            raise ValueError(
                f"{given} give {what} {dtype.name}, values at most "
                f"{bound:.6g} in magnitude, below the smallest normal "
                f"{dtype.name} value {float(info.tiny):.6g}: every value "
                "would be 0 or subnormal (flushed to 0 by XLA's float32 "
                "arithmetic, short of precision in any dtype). Use larger "
                "constants or a wider dtype."
            )
