"""State-space models: HiPPO-LegS, S4 and S4D, the LRU and Mamba.

The state matrices of structured and diagonal state-space models, their
step sizes, and the LRU's ring of eigenvalues. Every deterministic value is
computed in float64 on the host and rounded once to the dtype, so it is the
same on every backend, eagerly and under ``jit``: eagerly when the
initializer is called; under a trace by a host callback when the traced
program runs, so that tracing (``jit``, ``jax.eval_shape``) computes
nothing. The dtype range checks of the deterministic initializers are
analytic bounds on their values, which no eigensolve is needed for.

Layouts: the last axis is the state index ``n`` (and the last two, for
HiPPO's ``A`` and the eigenvectors ``V``, the paper's ``A[n, k]`` and
``V[n, k]``); leading axes, such as the ``H`` channels of an S4D layer or
the ``d_inner`` rows of Mamba's ``A_log``, repeat the values. Kernels
(``lru_input``, ``lru_output``, ``mamba_dt_proj``) follow jinit's
``(in, out)`` layout by default and take ``variance_scaling``'s axis
arguments for others, such as PyTorch's ``(out, in)``.
"""

from __future__ import annotations

import functools
import math
import sys
import typing
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike, DTypeLike

from jinit import _draws, _shapes, _validation
from jinit._about import About
from jinit._choices import (
    Component,
    HippoPart,
    NplrPart,
    Parametrization,
    S4dInit,
    S4dPart,
)
from jinit._contract import (
    ConfiguredInitializer,
    Deterministic,
    Draw,
    Elementwise,
    factory,
)
from jinit._shapes import Axes
from jinit._variance_scaling import (
    OtherAxes,
    check_fans,
    variance_scaling,
)

HIPPO_PARTS: tuple[HippoPart, ...] = typing.get_args(HippoPart)
NPLR_PARTS: tuple[NplrPart, ...] = typing.get_args(NplrPart)
COMPONENTS: tuple[Component, ...] = typing.get_args(Component)
S4D_INITS: tuple[S4dInit, ...] = typing.get_args(S4dInit)
S4D_PARTS: tuple[S4dPart, ...] = typing.get_args(S4dPart)
PARAMETRIZATIONS: tuple[Parametrization, ...] = typing.get_args(Parametrization)


# Deterministic values: float64 on the host, rounded once to the dtype and
# repeated over the leading axes.

# values(config, shape): the values of the last ``rank`` axes of ``shape``
# (the state axis, or the last two for a matrix), in float64.
Values = Callable[[Mapping[str, Any], tuple[int, ...]], np.ndarray]
# bound(config, shape): an upper bound on their magnitude, computed from
# the formulas without computing the values.
Bound = Callable[[Mapping[str, Any], tuple[int, ...]], float]


def _deterministic(
    values: Values, config: Mapping[str, Any], rank: int = 1
) -> Deterministic:
    """The values of the last ``rank`` axes, repeated over the others.

    Eagerly they are computed here; under a trace (``jit``, ``vmap``,
    ``jax.eval_shape``) by ``jax.pure_callback`` when the program runs, so
    tracing computes nothing and a program is not given them as a constant.
    """

    def draw(xp, shape, dtype):
        core = shape[len(shape) - rank :]

        def compute() -> np.ndarray:
            return np.asarray(values(config, shape), np.float64).astype(dtype)

        if xp is np:
            return np.broadcast_to(compute(), shape)
        return jnp.broadcast_to(
            jax.pure_callback(compute, jax.ShapeDtypeStruct(core, dtype)), shape
        )

    return Deterministic(draw)


def _magnitude(
    bound: Bound,
) -> Callable[[tuple[int, ...], Mapping[str, Any], np.dtype], float]:
    """The dtype range check's magnitude: an analytic bound, no values."""

    def magnitude(
        shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
    ) -> float:
        return bound(config, shape)

    return magnitude


def _exact_moments(
    values: Values,
) -> Callable[[Mapping[str, Any], tuple[int, ...]], tuple[float, float]]:
    """The mean and standard deviation of the values (any leading axes)."""

    def moments(
        config: Mapping[str, Any], shape: tuple[int, ...]
    ) -> tuple[float, float]:
        exact = values(config, shape)
        return float(exact.mean()), float(exact.std())

    return moments


@functools.cache
def hippo_legs_matrices(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """HiPPO-LegS ``(A, B, P)`` at state size ``n``, in float64.

    ``A[i, k] = -sqrt(2i+1) sqrt(2k+1)`` below the diagonal, ``-(i+1)`` on
    it and 0 above; ``B[i] = sqrt(2i+1)``; ``P[i] = sqrt(i + 1/2)``.
    """
    index = np.arange(n, dtype=np.float64)
    root = np.sqrt(2 * index + 1)
    a = np.tril(-np.outer(root, root), -1) - np.diag(index + 1)
    return a, root, np.sqrt(index + 0.5)


@functools.cache
def legs_eigen(n: int) -> tuple[np.ndarray, np.ndarray]:
    """The eigenvalues and eigenvectors of LegS's normal part, half of them.

    ``S = A + P P^T = -I/2 + K`` at state size ``n`` (even), with ``K``
    skew-symmetric, so its eigenvalues are ``-1/2 + i w`` for ``w`` those of
    the Hermitian ``-i K``, in pairs ``+-w``. Returns the ``n/2`` positive
    ``w``, largest first (the order of ``nplr`` in the authors' code), and
    ``V``, ``(n, n/2)``: ``S V = V diag(-1/2 + i w)``, unit columns, each
    with its first entry real and positive (its phase is otherwise free).
    They are the conjugates of the eigenvalues and eigenvectors that
    ``nplr`` keeps, ``-1/2 - i w``.
    """
    a, _, p = hippo_legs_matrices(n)
    normal = a + np.outer(p, p)
    skew = normal - np.diag(np.diag(normal))
    w, u = np.linalg.eigh(-1j * skew)  # Ascending, in pairs +-w.
    # (-iK) conj(u) = w conj(u) for (-iK) u = -w u: the negative half,
    # conjugated, is the positive half, largest first.
    v = u[:, : n // 2].conj()
    return -w[: n // 2], v / np.exp(1j * np.angle(v[0]))


def legs_frequencies(n: int) -> np.ndarray:
    """The ``w`` of :func:`legs_eigen`: ``Im`` of S4D-LegS's ``A``."""
    return legs_eigen(n)[0]


def _hippo_values(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> np.ndarray:
    a, b, p = hippo_legs_matrices(shape[-1])
    return {"A": a, "B": b, "P": p}[config["part"]]


def _hippo_bound(config: Mapping[str, Any], shape: tuple[int, ...]) -> float:
    """The largest ``|A|``, ``|B|`` or ``|P|`` at state size ``N``.

    ``max(N, sqrt((2N-1)(2N-3)))`` (the diagonal's end, the subdiagonal's),
    ``sqrt(2N-1)`` and ``sqrt(N-1/2)``.
    """
    n = shape[-1]
    if config["part"] == "A":
        return max(n, math.sqrt(max(2 * n - 1, 0) * max(2 * n - 3, 0)))
    return math.sqrt(max(2 * n - 1, 0) / (1 if config["part"] == "B" else 2))


def _s4d_values(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> np.ndarray:
    m = shape[-1]
    n = np.arange(m, dtype=np.float64)
    init = config["init"]
    real = -(n + 1) if init == "real" else np.full(m, -0.5)
    if config["part"] == "real":
        return real
    if config["part"] == "log":
        return np.log(-real)
    if init == "real":
        return np.zeros(m)
    if init == "lin":
        return math.pi * n
    if init == "inv":
        size = 2 * m  # N: the state size, both halves of each pair.
        return size / math.pi * (size / (2 * n + 1) - 1)
    return legs_frequencies(2 * m)


def _s4d_bound(config: Mapping[str, Any], shape: tuple[int, ...]) -> float:
    """The largest ``|Re A|``, ``|log(-Re A)|`` or ``|Im A|`` for ``M`` modes.

    For LegS, ``|w| <= rho(|K|) <= ((sum_k 2k+1) - 1) / 2 = (N^2 - 1) / 2``:
    ``|K[i, k]| = sqrt((2i+1)(2k+1)) / 2`` off the diagonal, below
    ``(r r^T - I) / 2`` with ``r_k = sqrt(2k+1)`` (tighter than Gershgorin's
    row sums, about ``2 N^2 / 3``; the largest ``w`` is about ``N^2 / pi``).
    """
    m, init, part = shape[-1], config["init"], config["part"]
    size = 2 * m
    if part == "real":
        return m if init == "real" else 0.5
    if part == "log":
        return math.log(max(m, 1)) if init == "real" else math.log(2)
    return {
        "real": 0.0,
        "lin": math.pi * max(m - 1, 0),
        "inv": size * (size - 1) / math.pi,
        "legs": (size * size - 1) / 2,
    }[init]


def _nplr_values(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> np.ndarray:
    size = 2 * shape[-1]
    _, v = legs_eigen(size)
    if config["part"] == "V":
        value = v
    else:
        _, b, p = hippo_legs_matrices(size)
        value = v.conj().T @ (b if config["part"] == "B" else p)
        clip = config["b_clip"]
        if config["part"] == "B" and clip is not None:
            value = np.real(value) + 1j * np.clip(np.imag(value), -clip, clip)
    return np.real(value) if config["component"] == "real" else np.imag(value)


def _nplr_bound(config: Mapping[str, Any], shape: tuple[int, ...]) -> float:
    """``|V^* x| <= |x|``: ``|B| = N``, ``|P| = N / sqrt(2)``; ``|V| <= 1``."""
    size = 2 * shape[-1]
    if config["part"] == "V":
        return 1.0
    if config["part"] == "P":
        return size / math.sqrt(2)
    clip = config["b_clip"]
    if config["component"] == "imag" and clip is not None:
        return min(size, clip)
    return size


def _check_hippo(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    if config["part"] != "A":
        _shapes.check_rank(shape, 1, None, initializer)
        return
    _shapes.check_rank(shape, 2, None, initializer)
    if shape[-1] != shape[-2] and math.prod(shape):  # Empty is fine.
        raise ValueError(
            f"`shape` {shape} must end in a square (N, N) for "
            f"`{initializer}` with part='A'; got {shape[-2]} x {shape[-1]}."
        )


def _check_state_axis(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 1, None, initializer)


def _check_nplr(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    if config["part"] != "V":
        _shapes.check_rank(shape, 1, None, initializer)
        return
    _shapes.check_rank(shape, 2, None, initializer)
    if shape[-2] != 2 * shape[-1] and math.prod(shape):  # Empty is fine.
        raise ValueError(
            f"`shape` {shape} must end in (N, N/2) for `{initializer}` with "
            f"part='V', N the state size; got {shape[-2]} x {shape[-1]}."
        )


@factory(
    random=False,
    floating=True,
    check=_check_hippo,
    magnitude=_magnitude(_hippo_bound),
    about=About(
        family="scheme",
        formula="A[n,k] = -sqrt((2n+1)(2k+1)) (n > k), -(n+1) (n = k), "
        "0; B[n] = sqrt(2n+1)",
        details='HiPPO-LegS, `part` = `"A"`: A[n,k] = '
        "−√((2n+1)(2k+1)) below the diagonal, −(n+1) on it, 0 "
        'above; `"B"`: √(2n+1); `"P"`: √(n+½), with '
        "A + PPᵀ = −I/2 + skew (normal); deterministic",
        reference="Gu et al. 2020",
        shape=(64, 64),
        moments=_exact_moments(_hippo_values),
    ),
)
def hippo_legs(
    part: HippoPart = "A", *, dtype: DTypeLike | None = None
) -> Deterministic:
    r"""The HiPPO-LegS state matrix ``A``, input vector ``B`` or its ``P``.

    The law: ``A[n,k] = -sqrt((2n+1)(2k+1)) (n > k), -(n+1) (n = k), 0; B[n] =
    sqrt(2n+1)``.

    The continuous-time SSM ``x'(t) = A x(t) + B u(t)`` of S4 that projects
    the input's history onto Legendre polynomials under the scaled measure:

    * ``part="A"``, a ``(..., N, N)`` matrix:
      ``A[n, k] = -sqrt(2n+1) sqrt(2k+1)`` for ``n > k``, ``-(n+1)`` for
      ``n = k`` and 0 for ``n < k``. It is lower triangular, so its
      eigenvalues are exactly ``-1, -2, ..., -N`` (S4D-Real's).
    * ``part="B"``, a ``(..., N)`` vector: ``B[n] = sqrt(2n+1)``.
    * ``part="P"``, a ``(..., N)`` vector: ``P[n] = sqrt(n + 1/2)``, the
      low-rank term of S4's normal-plus-low-rank form
      ``A = S - P P^T``, where ``S = -I/2 + K`` with ``K`` skew-symmetric is
      normal. The eigenvalues of ``S``, the diagonal that S4D-LegS and S5
      use, are :func:`jinit.s4d` with ``init="legs"``.

    ``A[..., n, k]`` is the paper's ``A_nk`` acting on a column state
    (``x' = A x``); with a row state (``x @ W``) use its transpose. Leading
    axes repeat the values. They are computed in float64 on the host and
    rounded once to the dtype, the same eagerly and under ``jit``. The key
    is ignored. Checked against the paper (Gu et al. 2020, Theorem 2 and
    eq. (29); the sign convention of S4, Gu, Goel & Ré 2022, eq. (2)) and
    the authors' ``transition('legs', N)`` and ``rank_correction('legs',
    N)`` (``src/models/hippo/hippo.py`` of github.com/state-spaces/s4).

    Args:
      part: ``"A"``, ``"B"`` or ``"P"``.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: an unknown ``part``; at call time, a shape without a state
        axis, or one not ending in ``(N, N)`` for ``part="A"``.
      TypeError: at call time, a dtype that is not real floating.

    Examples:
      >>> import jinit
      >>> print(jinit.hippo_legs()(None, (3, 3)))
      [[-1.         0.         0.       ]
       [-1.7320508 -2.         0.       ]
       [-2.236068  -3.8729835 -3.       ]]
      >>> print(jinit.hippo_legs("B")(None, (3,)))
      [1.        1.7320508 2.236068 ]

    References:
      Gu, Dao, Ermon, Rudra & Ré (2020), HiPPO: Recurrent Memory with Optimal
      Polynomial Projections, https://arxiv.org/abs/2008.07669; Gu, Goel &
      Ré (2022), Efficiently Modeling Long Sequences with Structured State
      Spaces (S4), https://arxiv.org/abs/2111.00396, Section 3.
    """
    _validation.check_choice("part", part, HIPPO_PARTS)
    return _deterministic(
        _hippo_values, {"part": part}, rank=2 if part == "A" else 1
    )


@factory(
    random=False,
    floating=True,
    check=_check_nplr,
    magnitude=_magnitude(_nplr_bound),
    about=About(
        family="scheme",
        formula="B~ = V^* B (Im clipped to +-b_clip), P~ = V^* P, V: "
        "HiPPO-LegS in the eigenbasis of its normal part",
        details="HiPPO-LegS's normal-plus-low-rank form in the "
        "eigenbasis `V` (N × N/2) of its normal part "
        'A + PPᵀ, the eigenvalues of `s4d("legs")`: `part` = '
        '`"B"` B̃ = V\\*B with Im B̃ clipped to ±`b_clip`, '
        '`"P"` P̃ = V\\*P, `"V"` V (first row real, '
        'positive); `component` `"real"` or `"imag"`; '
        "deterministic",
        reference="Gu et al. 2022",
        shape=(8, 32),
        moments=_exact_moments(_nplr_values),
    ),
)
def hippo_legs_nplr(
    part: NplrPart = "B",
    component: Component = "real",
    b_clip: float | None = 2.0,
    *,
    dtype: DTypeLike | None = None,
) -> Deterministic:
    r"""HiPPO-LegS's ``B`` and ``P`` in the eigenbasis of its normal part.

    The law: ``B~ = V^* B (Im clipped to +-b_clip), P~ = V^* P, V: HiPPO-LegS
    in the eigenbasis of its normal part``.

    S4 writes HiPPO-LegS as normal plus low rank, ``A = S - P P^T`` with
    ``S = V Lambda V^*`` (see :func:`jinit.hippo_legs`), and trains it in
    the eigenbasis ``V``: ``Lambda - P~ P~^*`` (diagonal plus low rank,
    DPLR) with ``B~ = V^* B`` and ``P~ = V^* P``. For a ``(..., M)`` shape,
    mode ``n`` along the last axis, at state size ``N = 2 M`` (one mode per
    conjugate pair, as :func:`jinit.s4d`):

    * ``part="B"``: ``B~ = V^* B``, ``B[k] = sqrt(2k+1)``, its imaginary
      part clipped to ``[-b_clip, b_clip]`` (``b_clip=None``: not clipped);
    * ``part="P"``: ``P~ = V^* P``, ``P[k] = sqrt(k + 1/2)`` (so unclipped,
      ``B~ = sqrt(2) P~``);
    * ``part="V"``, a ``(..., N, M)`` shape: ``V`` itself, unit columns with
      ``S V = V diag(Lambda)``.

    ``Lambda_n = -1/2 + i w_n`` are S4D-LegS's eigenvalues,
    :func:`jinit.s4d` with ``init="legs"``, in the same order (``w``
    decreasing). ``component`` picks the real or the imaginary part.

    This is the authors' ``nplr("legs", N, B_clip=2.0)`` (``models/s4/s4.py``
    of github.com/state-spaces/s4; ``src/models/hippo/hippo.py`` in the
    full repository), which returns ``W, P, B, V`` with
    ``B = V^* B`` clipped and ``P = V^* P``: a DPLR S4 (``init="legs"``)
    uses all three, and S4D-LegS (``dplr(init="legs")``,
    ``src/models/sequence/kernels/dplr.py``) uses ``B`` with ``P = 0``.
    Two conventions differ, neither of which changes the model: the authors
    keep the conjugate half, ``-1/2 - i w_n`` (this is the complex
    conjugate of theirs, as :func:`jinit.s4d` is), and leave each column's
    phase to the eigensolver (LAPACK's ``zheevd`` makes the first entry
    real, of either sign), where here it is fixed by a real, positive first
    entry, so the values are the same on every backend. A column's phase
    multiplies ``B~_n``, ``P~_n`` and, through a random ``C``, nothing in
    law; the clip is symmetric, so it commutes with both.

    Values are computed in float64 on the host (one Hermitian eigensolve of
    size ``N``) and rounded once to the dtype, the same eagerly and under
    ``jit``; the key is ignored.

    Args:
      part: ``"B"``, ``"P"`` or ``"V"``.
      component: ``"real"`` or ``"imag"``.
      b_clip: the bound on ``|Im B~|`` (> 0), or ``None``; the authors'
        ``B_clip=2.0``. Only ``part="B"`` reads it.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: an unknown ``part`` or ``component``, or ``b_clip`` <= 0;
        at call time, a shape without a state axis, one not ending in
        ``(2 M, M)`` for ``part="V"``, or values beyond the dtype's range.
      TypeError: ``b_clip`` is not a real number or ``None``; at call time,
        a dtype that is not real floating.

    Examples:
      >>> import jax.numpy as jnp, jinit
      >>> re, im = (jinit.hippo_legs_nplr("B", c)(None, (32,))
      ...           for c in ("real", "imag"))
      >>> modulus = jnp.hypot(re, im)  # |B~| at N = 64
      >>> round(float(modulus.min()), 2), round(float(modulus.max()), 2)
      (0.59, 2.0)
      >>> import numpy as np
      >>> v = np.asarray(jinit.hippo_legs_nplr("V")(None, (4, 2))) + 1j * (
      ...     np.asarray(jinit.hippo_legs_nplr("V", "imag")(None, (4, 2))))
      >>> bool(np.allclose(v.conj().T @ v, np.eye(2), atol=1e-6))
      True

    References:
      Gu, Goel & Ré (2022), Efficiently Modeling Long Sequences with
      Structured State Spaces (S4), https://arxiv.org/abs/2111.00396,
      Section 3 and Appendix C; Gu, Gupta, Goel & Ré (2022), On the
      Parameterization and Initialization of Diagonal State Space Models,
      https://arxiv.org/abs/2206.11893 (S4D-LegS).
    """
    _validation.check_choice("part", part, NPLR_PARTS)
    _validation.check_choice("component", component, COMPONENTS)
    if b_clip is not None:
        b_clip = _validation.check_positive("b_clip", b_clip)
    return _deterministic(
        _nplr_values,
        {"part": part, "component": component, "b_clip": b_clip},
        rank=2 if part == "V" else 1,
    )


@factory(
    random=False,
    floating=True,
    check=_check_state_axis,
    magnitude=_magnitude(_s4d_bound),
    about=About(
        family="scheme",
        formula="diagonal A_n: lin -1/2 + i pi n, inv -1/2 + i N/pi "
        "(N/(2n+1) - 1), legs, real -(n+1)",
        details="S4D's diagonal state matrix, one mode per conjugate "
        'pair (N = 2·shape[−1]): `"lin"` −½ + iπn, `"inv"` '
        '−½ + i(N/π)(N/(2n+1) − 1), `"legs"` the eigenvalues '
        'of HiPPO-LegS\'s normal part, `"real"` −(n+1); '
        '`part` = `"real"`, `"imag"` or `"log"` '
        "(log(−Re A)); deterministic",
        reference="Gu et al. 2022",
        shape=(8, 32),
        moments=_exact_moments(_s4d_values),
    ),
)
def s4d(
    init: S4dInit = "lin",
    part: S4dPart = "imag",
    *,
    dtype: DTypeLike | None = None,
) -> Deterministic:
    r"""S4D's diagonal state matrix: ``Re A``, ``Im A`` or ``log(-Re A)``.

    The law: ``diagonal A_n: lin -1/2 + i pi n, inv -1/2 + i N/pi (N/(2n+1) -
    1), legs, real -(n+1)``.

    For a ``(..., M)`` shape, mode ``n = 0, ..., M - 1`` along the last axis
    (leading axes, such as S4D's ``H`` channels, repeat it):

    * ``"lin"`` (S4D-Lin): ``A_n = -1/2 + i pi n``;
    * ``"inv"`` (S4D-Inv): ``A_n = -1/2 + i (N / pi) (N / (2n + 1) - 1)``
      with ``N = 2 M``;
    * ``"legs"`` (S4D-LegS): ``-1/2 + i w_n``, the eigenvalues of the normal
      part of HiPPO-LegS at state size ``N = 2 M`` (see
      :func:`jinit.hippo_legs`), ``w`` positive and decreasing;
    * ``"real"`` (S4D-Real): ``A_n = -(n + 1)``, the eigenvalues of
      HiPPO-LegS itself (Mamba's ``A``).

    The complex ones keep one eigenvalue of each conjugate pair (the paper's
    ``N/2`` modes of a state of size ``N``), with positive imaginary part as
    in the paper; the authors' code stores the conjugates. ``part`` picks
    ``Re A`` (``"real"``), ``Im A`` (``"imag"``) or ``log(-Re A)``
    (``"log"``: S4D's ``log_A_real`` and Mamba's ``A_log``, with
    ``A = -exp(log) + i imag``). Pair them, as the authors' ``dplr`` does,
    with ``C`` complex standard normal (:func:`jinit.random_normal` with
    ``stddev=1.0`` and a complex dtype), ``log dt`` from
    :func:`jinit.ssm_step`, and ``B``: for Lin, Inv and Real ``B = 1``
    (:func:`jinit.ones`; ``B_init="constant"``); for LegS the authors' code
    ignores ``B_init`` and takes HiPPO's ``B`` in the eigenbasis,
    ``V^* B`` with its imaginary part clipped to +-2, which
    :func:`jinit.hippo_legs_nplr` gives (``|B|`` from 0.6 to 2.0 at
    ``N = 64``, not 1).

    Values are computed in float64 on the host and rounded once to the
    dtype, the same eagerly and under ``jit``; the key is ignored. Checked
    against the paper (Gu et al. 2022, Section 4.1, eqs. (8)-(10) for Lin,
    Inv and Real) and the authors' code (``S4DKernel`` in
    ``models/s4/s4d.py``, and ``dplr(init=...)`` in
    ``src/models/sequence/kernels/dplr.py`` of github.com/state-spaces/s4,
    whose ``N`` is the state size and which takes ``n`` over
    ``arange(N // 2)``; LegS is ``nplr("legs", N)``'s ``W``, conjugated).

    Args:
      init: ``"lin"``, ``"inv"``, ``"legs"`` or ``"real"``.
      part: ``"real"``, ``"imag"`` or ``"log"``.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: an unknown ``init`` or ``part``; at call time, a 0-D shape
        or values beyond the dtype's range.
      TypeError: at call time, a dtype that is not real floating.

    Examples:
      >>> import jinit
      >>> print(jinit.s4d("lin", "imag")(None, (2, 4)))
      [[0.        3.1415927 6.2831855 9.424778 ]
       [0.        3.1415927 6.2831855 9.424778 ]]
      >>> print(jinit.s4d("real", "log")(None, (4,)))  # Mamba's A_log
      [0.        0.6931472 1.0986123 1.3862944]

    References:
      Gu, Gupta, Goel & Ré (2022), On the Parameterization and
      Initialization of Diagonal State Space Models,
      https://arxiv.org/abs/2206.11893.
    """
    _validation.check_choice("init", init, S4D_INITS)
    _validation.check_choice("part", part, S4D_PARTS)
    return _deterministic(_s4d_values, {"init": init, "part": part})


A_LOG = {"init": "real", "part": "log"}  # S4D-Real's log(-Re A).


def _a_log_values(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> np.ndarray:
    return _s4d_values(A_LOG, shape)


@factory(
    random=False,
    floating=True,
    check=_check_state_axis,
    magnitude=_magnitude(lambda config, shape: _s4d_bound(A_LOG, shape)),
    about=About(
        family="scheme",
        formula="A_log[..., n] = log(n + 1)",
        details="Mamba's `A_log`: log(n+1) along the state axis, "
        "A = −exp(A_log) = S4D-Real; deterministic",
        reference="Gu & Dao 2023",
        shape=(64, 16),
        moments=_exact_moments(_a_log_values),
    ),
)
def mamba_a_log(*, dtype: DTypeLike | None = None) -> ConfiguredInitializer:
    """Mamba's ``A_log``: ``log(n + 1)`` along the state axis.

    The law: ``A_log[..., n] = log(n + 1)``.

    The ``(d_inner, d_state)`` parameter of a Mamba block, with
    ``A = -exp(A_log) = -(n + 1)``: S4D-Real, the same values as
    ``s4d("real", "log")``. Checked against the authors' code
    (``Mamba.__init__`` and ``A_log_init`` in
    ``mamba_ssm/modules/mamba_simple.py`` of github.com/state-spaces/mamba:
    ``torch.log(torch.arange(1, d_state + 1))`` repeated over ``d_inner``).

    Args:
      dtype: the initializer's default dtype, a real floating one (the
        authors keep ``A_log`` in float32).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: at call time, a 0-D shape.
      TypeError: at call time, a dtype that is not real floating.

    Examples:
      >>> import jinit
      >>> print(jinit.mamba_a_log()(None, (2, 3)))
      [[0.        0.6931472 1.0986123]
       [0.        0.6931472 1.0986123]]

    References:
      Gu & Dao (2023), Mamba: Linear-Time Sequence Modeling with Selective
      State Spaces, https://arxiv.org/abs/2312.00752, Section 3.6 and
      Appendix (S4D-Real initialization).
    """
    return s4d("real", "log")


# Random laws: functions of one uniform draw on the open interval (0, 1).


def _open_unit(
    key: jax.Array, shape: tuple[int, ...], dtype: np.dtype
) -> jax.Array:
    """``jax.random.uniform``'s draw moved to the midpoints of its grid.

    Its values ``k eps`` (``eps`` the dtype's machine epsilon) plus
    ``eps / 2``: uniform on ``[eps/2, 1 - eps/2]``, so that neither ``u``
    nor ``1 - u`` is 0 and no logarithm below is infinite.
    """
    eps = jnp.finfo(dtype).eps
    return _draws.uniform(key, shape, dtype) + np.asarray(eps / 2, dtype)


def _quadrature_moments(
    transform: Callable[[np.ndarray], np.ndarray],
) -> tuple[float, float]:
    """Mean and std of ``transform(u)`` for ``u ~ U(0, 1)``, to ~1e-6.

    The midpoint rule on 2**20 points in float64.
    """
    u = (np.arange(2**20, dtype=np.float64) + 0.5) / 2**20
    values = transform(u)
    return float(values.mean()), float(values.std())


def _ring_terms(r_min: float, r_max: float) -> tuple[float, float]:
    """``(r_min^2 - 1, r_max^2 - 1)``: ``|lambda|^2 - 1`` at ``u = 0, 1``."""
    return r_min**2 - 1, r_max**2 - 1


def _nu_log(u: Any, r_min: float, r_max: float, xp: Any) -> Any:
    """``log(nu)`` with ``|lambda|^2 = exp(-2 nu)`` uniform on the ring.

    ``log |lambda|^2`` is computed two ways, each where it keeps its
    precision. Where ``|lambda|^2 >= 1/2``, as
    ``log1p(|lambda|^2 - 1)`` with ``|lambda|^2 - 1 = (r_min^2 - 1)(1 - u)
    + (r_max^2 - 1) u``, strictly negative for ``u < 1`` even when
    ``r_max = 1``. Below, as ``2 log r_max + log(rho^2 (1 - u) + u)``
    with ``rho = r_min / r_max``: ``1 + (|lambda|^2 - 1)`` would lose
    ``|lambda|^2`` near 0 (every value infinite for ``r_max`` below 2.4e-4
    in float32), and ``r_max^2`` itself may underflow. For
    ``r_min = 0, r_max = 1`` the two are the same bits. Each product is
    rounded before the sum (no fused multiply-add), so eager, ``jit`` and
    sharded draws are the same bits.
    """
    low, high = (
        np.asarray(term, u.dtype) for term in _ring_terms(r_min, r_max)
    )
    ratio = np.asarray((r_min / r_max) ** 2, u.dtype)
    log_square = np.asarray(2 * math.log(r_max), u.dtype)
    if xp is np:  # The catalogue's moments, in float64.
        below_one = low * (1 - u) + high * u
        scaled = ratio * (1 - u) + u
    else:
        below_one = _draws.rounded(low * (1 - u)) + _draws.rounded(high * u)
        scaled = _draws.rounded(ratio * (1 - u)) + u
    half = np.asarray(-0.5, u.dtype)
    log_modulus = xp.where(
        below_one < half,
        log_square + xp.log(scaled),
        xp.log1p(xp.maximum(below_one, half)),
    )
    return xp.log(half * log_modulus)


def _check_ring(r_min: float, r_max: float) -> None:
    if not 0 <= r_min <= r_max <= 1 or r_min == 1 or r_max == 0:
        raise ValueError(
            "the eigenvalues' radii must satisfy 0 <= `r_min` <= `r_max` <= "
            f"1 with r_min < 1 and r_max > 0; got r_min={r_min!r}, "
            f"r_max={r_max!r}."
        )


@factory(
    random=True,
    about=About(
        family="scheme",
        formula="nu_log = log(-log(u (r_max^2 - r_min^2) + r_min^2) / 2)",
        details="the LRU's ν_log: |λ| = exp(−exp(ν_log)) with |λ|² ~ "
        "U[r_min², r_max²] (uniform in area on the ring)",
        reference="Orvieto et al. 2023",
        shape=(65536,),
        moments=lambda config, shape: _quadrature_moments(
            lambda u: _nu_log(u, config["r_min"], config["r_max"], np)
        ),
    ),
)
def lru_nu_log(
    r_min: float = 0.0,
    r_max: float = 1.0,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Draw:
    r"""The LRU's eigenvalue moduli, ``nu_log``: uniform in area on a ring.

    The LRU's diagonal recurrence ``lambda = exp(-exp(nu_log) + i
    exp(theta_log))`` has its eigenvalues uniform on the ring
    ``r_min <= |lambda| <= r_max`` of the complex plane (uniform in area,
    Lemma 3.2 of the paper), so ``|lambda|^2 ~ U[r_min^2, r_max^2]`` and

    ``nu_log = log(-log(u (r_max^2 - r_min^2) + r_min^2) / 2)``,
    ``u ~ U(0, 1)``,

    computed as ``log(-log1p((r_min^2 - 1)(1 - u) + (r_max^2 - 1) u) / 2)``
    where ``|lambda|^2 >= 1/2`` and as
    ``log(-(2 log r_max + log((r_min / r_max)^2 (1 - u) + u)) / 2)`` below,
    with ``u`` on the midpoints of ``jax.random.uniform``'s grid, so that no
    value is infinite (the paper's ``u = 0`` gives ``log(0)``), none loses
    its precision at either end of the ring, however small the radii, and
    ``|lambda| < 1`` even for ``r_max = 1``. Pair it with
    :func:`jinit.lru_theta_log` (another key), :func:`jinit.lru_gamma_log`
    of the values drawn, and :func:`jinit.lru_input` / :func:`jinit.lru_output`
    for ``B`` and ``C``. The defaults and the formula are checked against
    the paper (Orvieto et al. 2023, Section 3.3 and its Appendix A code,
    ``nu_log = np.log(-0.5*np.log(u1*(r_max**2-r_min**2) + r_min**2))``,
    ``r_min=0, r_max=1``).

    Args:
      r_min: the smallest eigenvalue modulus, in [0, 1).
      r_max: the largest, in (0, 1] and >= ``r_min``.
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: radii outside ``0 <= r_min <= r_max <= 1``, ``r_min = 1``
        or ``r_max = 0``.
      TypeError: a radius is not a real number, or ``seed`` is not an int.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> nu_log = jinit.lru_nu_log(0.9, 0.99)(jax.random.key(0), (256,))
      >>> modulus = jnp.exp(-jnp.exp(nu_log))
      >>> bool((modulus >= 0.9).all() & (modulus <= 0.99).all())
      True

    References:
      Orvieto, Smith, Gu, Fernando, Gulcehre, Pascanu & De (2023),
      Resurrecting Recurrent Neural Networks for Long Sequences,
      https://arxiv.org/abs/2303.06349.
    """
    r_min = _validation.check_real("r_min", r_min)
    r_max = _validation.check_real("r_max", r_max)
    _check_ring(r_min, r_max)

    def draw(key, shape, dtype):
        return _nu_log(_open_unit(key, shape, dtype), r_min, r_max, jnp)

    return draw


def _phase_magnitude(
    shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
) -> float:
    """The largest ``|theta_log|``; refuses phases ``dtype`` cannot hold.

    The phases ``max_phase * u``, ``u`` in ``[eps/2, 1 - eps/2]``, are
    computed in ``dtype``: ``max_phase`` must be finite there, and the
    smallest phase a normal number (a smaller one loses its bits, and 0
    gives ``theta_log = -inf``).
    """
    max_phase, info = config["max_phase"], jnp.finfo(dtype)
    half_eps, largest = float(info.eps) / 2, float(info.max)
    least = float(info.tiny) / half_eps
    if not least <= max_phase <= largest:
        raise ValueError(
            f"`max_phase` must be between {least:.6g} and {largest:.6g} for "
            f"`lru_theta_log` in {dtype.name}, whose phases max_phase * u "
            f"(u >= {half_eps:.3g}) must be finite, normal {dtype.name} "
            f"numbers; got {max_phase!r}. Request float64 (under x64) or a "
            "max_phase in that range."
        )
    return max(abs(math.log(max_phase * half_eps)), abs(math.log(max_phase)))


@factory(
    random=True,
    magnitude=_phase_magnitude,
    about=About(
        family="scheme",
        formula="theta_log = log(max_phase u), u ~ U(0, 1)",
        details="the LRU's θ_log: phase exp(θ_log) ~ U(0, max_phase)",
        reference="Orvieto et al. 2023",
        shape=(65536,),
        moments=lambda config, shape: _quadrature_moments(
            lambda u: np.log(config["max_phase"] * u)
        ),
    ),
)
def lru_theta_log(
    max_phase: float = 6.28,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Draw:
    r"""The LRU's eigenvalue phases, ``theta_log``: ``U(0, max_phase)``.

    The law: ``theta_log = log(max_phase u), u ~ U(0, 1)``.

    ``theta_log = log(max_phase * u)`` with ``u ~ U(0, 1)`` (on the
    midpoints of ``jax.random.uniform``'s grid, so no value is ``-inf``),
    the phase of ``lambda = exp(-exp(nu_log) + i exp(theta_log))``. The
    default ``6.28`` is the paper's (Appendix A, ``max_phase=6.28``, about
    ``2 pi``); its long-range tasks use ``pi / 10`` and ``pi / 50``
    (Table 10). Checked against the paper's Appendix A code
    (``theta_log = np.log(max_phase*u2)``).

    Args:
      max_phase: the largest phase (> 0).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``max_phase`` <= 0; at call time, a ``max_phase`` whose
        phases are not finite, normal numbers of the dtype drawn in
        (float32 for 16-bit dtypes: ``max_phase`` outside ``[1.97e-31,
        3.4e38]``).
      TypeError: ``max_phase`` is not a real number, or ``seed`` is not an
        int.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> phase = jnp.exp(jinit.lru_theta_log(0.3)(jax.random.key(0), (256,)))
      >>> bool((phase > 0).all() & (phase < 0.3).all())
      True

    References:
      Orvieto et al. (2023), Resurrecting Recurrent Neural Networks for Long
      Sequences, https://arxiv.org/abs/2303.06349.
    """
    max_phase = _validation.check_positive("max_phase", max_phase)

    def draw(key, shape, dtype):
        u = _open_unit(key, shape, dtype)
        return jnp.log(np.asarray(max_phase, dtype) * u)

    return draw


def lru_gamma_log(nu_log: ArrayLike) -> jax.Array:
    r"""The LRU's normalization ``gamma_log`` of drawn ``nu_log`` values.

    ``gamma = sqrt(1 - |lambda|^2)`` with ``|lambda| = exp(-exp(nu_log))``,
    so that a unit-variance input keeps unit variance in the state
    (Section 3.3 of the paper); computed as
    ``log(-expm1(-2 exp(nu_log))) / 2``, accurate for ``|lambda|`` near 1.
    It is a function of the values :func:`jinit.lru_nu_log` drew, not an
    initializer: drawn with a key of its own it would not match them.
    Checked against the paper's Appendix A code
    (``gamma_log = np.log(np.sqrt(1-np.abs(diag_lambda)**2))``).

    Args:
      nu_log: the drawn ``nu_log`` (a real floating array).

    Returns:
      ``gamma_log``, of the same shape and dtype.

    Raises:
      TypeError: ``nu_log`` is not a real floating array.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> nu_log = jinit.lru_nu_log(0.5, 0.99)(jax.random.key(0), (4,))
      >>> modulus = jnp.exp(-jnp.exp(nu_log))
      >>> gamma = jnp.exp(jinit.lru_gamma_log(nu_log))
      >>> bool(jnp.allclose(gamma**2 + modulus**2, 1.0))
      True

    References:
      Orvieto et al. (2023), Resurrecting Recurrent Neural Networks for Long
      Sequences, https://arxiv.org/abs/2303.06349.
    """
    nu_log = jnp.asarray(nu_log)
    if not jnp.issubdtype(nu_log.dtype, jnp.floating):
        raise TypeError(
            f"`nu_log` must be a real floating array, as "
            f"jinit.lru_nu_log draws; got dtype {nu_log.dtype}."
        )
    return jnp.log(-jnp.expm1(-2 * jnp.exp(nu_log))) / 2


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="N(0, 1 / (2 fan_in)), each of B's parts",
        details="the LRU's B, real and imaginary parts each N(0, 1/(2·fan_in)) "
        "on the (in, out) = (H, N) kernel: variance_scaling(0.5, "
        "fan_in, untruncated_normal)",
        reference="Orvieto et al. 2023",
        fixed={
            "scale": 0.5,
            "mode": "fan_in",
            "distribution": "untruncated_normal",
        },
    ),
)
def lru_input(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    r"""The LRU's input matrix ``B``: each part ``N(0, 1 / (2 fan_in))``.

    The law: ``N(0, 1 / (2 fan_in)), each of B's parts``.

    ``B = (B_re + i B_im) / sqrt(2 H)`` with standard normal parts (Appendix
    A of the paper), so ``E|B|^2 = 1 / H``. Draw ``B_re`` and ``B_im`` with
    two keys as ``(H, N)`` kernels (jinit's ``(in, out)`` layout: fan-in
    ``H``, the model width; for PyTorch's ``(N, H)`` pass ``in_axis=-1,
    out_axis=-2``). The same values as
    ``variance_scaling(0.5, "fan_in", "untruncated_normal")`` with the same
    axis arguments.

    Args:
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight (``-1`` for
        PyTorch's ``(out, in)`` layout), as in :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight (``-2`` for
        PyTorch's layout).
      batch_axis: axes of independent stacked weights, left out of the fans.
      dtype: the initializer's default dtype, a real floating one.
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` or ``"ignored"``.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes or an unknown ``other_axes``; at call
        time, axes out of range for the shape.
      TypeError: ``seed`` is not an int or an axis not an int; at call
        time, a dtype that is not real floating.

    Examples:
      >>> import jax, jinit
      >>> b_re = jinit.lru_input()(jax.random.key(0), (512, 256))
      >>> round(float(b_re.std() ** 2 * 2 * 512), 2)
      1.0

    References:
      Orvieto et al. (2023), Resurrecting Recurrent Neural Networks for Long
      Sequences, https://arxiv.org/abs/2303.06349, Appendix A.
    """
    return variance_scaling(
        0.5,
        "fan_in",
        "untruncated_normal",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        other_axes=other_axes,
    )


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="N(0, 1 / fan_in), each of C's parts",
        details="the LRU's C, real and imaginary parts each N(0, 1/fan_in) on "
        "the (in, out) = (N, H) kernel: variance_scaling(1, fan_in, "
        "untruncated_normal)",
        reference="Orvieto et al. 2023",
        fixed={
            "scale": 1.0,
            "mode": "fan_in",
            "distribution": "untruncated_normal",
        },
    ),
)
def lru_output(
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    r"""The LRU's output matrix ``C``: each part ``N(0, 1 / fan_in)``.

    The law: ``N(0, 1 / fan_in), each of C's parts``.

    ``C = (C_re + i C_im) / sqrt(N)`` with standard normal parts (Appendix
    A of the paper). Draw ``C_re`` and ``C_im`` with two keys as ``(N, H)``
    kernels (fan-in ``N``, the state size; for PyTorch's ``(H, N)`` pass
    ``in_axis=-1, out_axis=-2``). The same values as
    ``variance_scaling(1.0, "fan_in", "untruncated_normal")`` with the same
    axis arguments; the LRU's
    ``D`` is ``random_normal(stddev=1.0)``.

    Args:
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight (``-1`` for
        PyTorch's ``(out, in)`` layout), as in :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight (``-2`` for
        PyTorch's layout).
      batch_axis: axes of independent stacked weights, left out of the fans.
      dtype: the initializer's default dtype, a real floating one.
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` or ``"ignored"``.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: overlapping axes or an unknown ``other_axes``; at call
        time, axes out of range for the shape.
      TypeError: ``seed`` is not an int or an axis not an int; at call
        time, a dtype that is not real floating.

    Examples:
      >>> import jax, jinit
      >>> c_re = jinit.lru_output()(jax.random.key(0), (256, 512))
      >>> round(float(c_re.std() ** 2 * 256), 2)
      1.0

    References:
      Orvieto et al. (2023), Resurrecting Recurrent Neural Networks for Long
      Sequences, https://arxiv.org/abs/2303.06349, Appendix A.
    """
    return variance_scaling(
        1.0,
        "fan_in",
        "untruncated_normal",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        other_axes=other_axes,
    )


# Step sizes.


def _inverse_softplus(log_dt: Any, xp: Any) -> Any:
    """``softplus^-1(dt)`` for ``dt = exp(log_dt)``, finite wherever it is.

    ``dt + log(-expm1(-dt))``, as the authors compute it, where ``dt`` is a
    normal number of the dtype; below, ``log_dt`` itself:
    ``softplus^-1(dt) = log dt + dt/2 + O(dt^2)`` rounds to it there, while
    ``dt`` would lose its bits or underflow to 0 (and give ``-inf``).
    """
    smallest = np.asarray(
        math.log(float(jnp.finfo(log_dt.dtype).tiny)), log_dt.dtype
    )
    dt = xp.exp(xp.maximum(log_dt, smallest))
    return xp.where(log_dt < smallest, log_dt, dt + xp.log(-xp.expm1(-dt)))


def _step_config(config: Mapping[str, Any]) -> Mapping[str, Any]:
    """``ssm_step``'s arguments, from its config or ``mamba_dt_bias``'s."""
    if "dt_init_floor" not in config:
        return config
    return {
        "dt_min": config["dt_min"],
        "dt_max": config["dt_max"],
        "parametrization": "softplus",
        "floor": config["dt_init_floor"],
    }


def _step_values(log_dt: Any, config: Mapping[str, Any], xp: Any) -> Any:
    """``log dt`` floored, as ``log dt`` or as ``softplus^-1(dt)``."""
    floor = config["floor"]
    if floor > config["dt_min"]:
        log_dt = xp.maximum(log_dt, np.asarray(math.log(floor), log_dt.dtype))
    if config["parametrization"] == "log":
        return log_dt
    return _inverse_softplus(log_dt, xp)


def _log_steps(config: Mapping[str, Any]) -> tuple[float, float]:
    return math.log(config["dt_min"]), math.log(config["dt_max"])


def _step_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    config = _step_config(config)
    low, high = _log_steps(config)
    return _quadrature_moments(
        lambda u: _step_values(low + (high - low) * u, config, np)
    )


def _step_magnitude(
    shape: tuple[int, ...], config: Mapping[str, Any], dtype: np.dtype
) -> float:
    """The largest ``|value|`` of a step without an affine law.

    ``|log dt|`` at either end, and for ``"softplus"``
    ``softplus^-1(dt) < dt`` at the top, ``dt = exp(log dt_max)`` as
    ``dtype`` rounds ``log dt_max``, which must not overflow.
    """
    config = _step_config(config)
    low, high = _log_steps(config)
    low = max(low, math.log(config["floor"] or config["dt_min"]))
    if config["parametrization"] == "log":
        return max(abs(low), abs(high))
    with np.errstate(over="ignore"):  # inf: refused.
        top = float(np.exp(np.float64(np.asarray(high, dtype))))
    return max(abs(low), top)


@factory(
    random=True,
    magnitude=_step_magnitude,
    about=About(
        family="scheme",
        formula="log dt or softplus^-1(dt), dt = max(exp(U[log dt_min, "
        "log dt_max)), floor)",
        details="an SSM's step size Δ, log-uniform in [dt_min, dt_max) and at "
        "least `floor`, as log Δ (S4, S4D, S5) or softplus⁻¹(Δ) "
        "(Mamba's `dt` bias)",
        reference="Gu et al. 2022; Gu & Dao 2023",
        shape=(65536,),
        moments=_step_moments,
    ),
)
def ssm_step(
    dt_min: float = 0.001,
    dt_max: float = 0.1,
    parametrization: Parametrization = "log",
    floor: float = 0.0,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> Elementwise:
    r"""A state-space model's step ``dt``, log-uniform in ``[dt_min, dt_max)``.

    The law: ``log dt or softplus^-1(dt), dt = max(exp(U[log dt_min, log
    dt_max)), floor)``.

    ``dt = max(exp(U[log dt_min, log dt_max)), floor)``, returned as

    * ``parametrization="log"``: ``log dt`` (S4's, S4D's and S5's
      ``log_dt``; an affine law, ``U[log dt_min, log dt_max)``, when
      ``floor <= dt_min``), or
    * ``"softplus"``: ``softplus^-1(dt) = dt + log(-expm1(-dt))``, so that
      ``softplus(bias) = dt`` (Mamba's ``dt`` bias: see
      :func:`jinit.mamba_dt_bias`), and ``log dt`` itself where ``dt`` is
      below the smallest normal number of the dtype drawn in (``1.2e-38``
      in float32), which it equals to within rounding there and where
      ``dt`` itself would underflow.

    The defaults ``[0.001, 0.1)`` are the S4D paper's (Section 4.1) and the
    authors' code's (``S4DKernel`` in ``models/s4/s4d.py`` of
    github.com/state-spaces/s4: ``log_dt = torch.rand(H) * (log(dt_max) -
    log(dt_min)) + log(dt_min)``).

    Args:
      dt_min: the smallest step (> 0).
      dt_max: the largest step (>= ``dt_min``).
      parametrization: ``"log"`` or ``"softplus"``.
      floor: steps below it are raised to it (>= 0; 0: none).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``dt_min`` <= 0, ``dt_max`` < ``dt_min``, ``floor`` < 0 or
        an unknown ``parametrization``; at call time, values beyond the
        dtype's range (``"softplus"`` with ``dt_max`` above its largest
        finite value, or above float32's for a 16-bit dtype, drawn in it).
      TypeError: an argument is not a real number, or ``seed`` is not an
        int.

    Examples:
      >>> import jax, jax.numpy as jnp, jinit
      >>> log_dt = jinit.ssm_step()(jax.random.key(0), (1024,))
      >>> dt = jnp.exp(log_dt)
      >>> bool((dt >= 0.001).all() & (dt < 0.1).all())
      True

    References:
      Gu, Gupta, Goel & Ré (2022), On the Parameterization and
      Initialization of Diagonal State Space Models,
      https://arxiv.org/abs/2206.11893.
    """
    dt_min = _validation.check_positive("dt_min", dt_min)
    dt_max = _validation.check_positive("dt_max", dt_max)
    if dt_max < dt_min:
        raise ValueError(
            f"`dt_max` must be >= `dt_min`; got dt_min="
            f"{dt_min!r}, dt_max={dt_max!r}."
        )
    _validation.check_choice(
        "parametrization", parametrization, PARAMETRIZATIONS
    )
    floor = _validation.check_nonnegative("floor", floor)
    config = {
        "dt_min": dt_min,
        "dt_max": dt_max,
        "parametrization": parametrization,
        "floor": floor,
    }
    law = _draws.Affine(_draws.UNIFORM, _log_steps(config))
    affine = parametrization == "log" and floor <= dt_min

    def draw(key, shape, dtype):
        # U[log dt_min, log dt_max), the product rounded before the sum (no
        # fused multiply-add), so eager, jit and sharded draws agree.
        low, high = (np.asarray(bound, dtype) for bound in _log_steps(config))
        log_dt = _draws.rescale(
            _draws.uniform(key, shape, dtype), high - low, low
        )
        return _step_values(log_dt, config, jnp)

    return Elementwise(lambda shape, dtype: law if affine else None, draw)


@factory(
    random=True,
    magnitude=_step_magnitude,
    about=About(
        family="scheme",
        formula=(
            "softplus^-1(max(exp(U[log dt_min, log dt_max)), dt_init_floor))"
        ),
        details="Mamba's `dt_proj` bias: softplus⁻¹ of Δ log-uniform in "
        "[dt_min, dt_max), at least `dt_init_floor`",
        reference="Gu & Dao 2023",
        shape=(65536,),
        moments=_step_moments,
    ),
)
def mamba_dt_bias(
    dt_min: float = 0.001,
    dt_max: float = 0.1,
    dt_init_floor: float = 1e-4,
    seed: int | None = None,
    *,
    dtype: DTypeLike | None = None,
) -> ConfiguredInitializer:
    """Mamba's ``dt_proj`` bias: ``softplus(bias)`` log-uniform.

    The law: ``softplus^-1(max(exp(U[log dt_min, log dt_max)),
    dt_init_floor))``.

    ``bias = softplus^-1(max(dt, dt_init_floor))`` with
    ``dt = exp(U[log dt_min, log dt_max))``: :func:`jinit.ssm_step` with
    ``parametrization="softplus"`` and ``floor=dt_init_floor``. Checked
    against the authors' code (``Mamba.__init__`` / ``dt_init`` in
    ``mamba_ssm/modules/mamba_simple.py`` of github.com/state-spaces/mamba:
    ``dt_min=0.001, dt_max=0.1, dt_init_floor=1e-4``,
    ``inv_dt = dt + torch.log(-torch.expm1(-dt))``).

    Args:
      dt_min: the smallest step (> 0).
      dt_max: the largest step (>= ``dt_min``).
      dt_init_floor: steps below it are raised to it (>= 0).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      dtype: the initializer's default dtype, a real floating one.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: as :func:`jinit.ssm_step`.
      TypeError: as :func:`jinit.ssm_step`.

    Examples:
      >>> import jax, jinit
      >>> bias = jinit.mamba_dt_bias()(jax.random.key(0), (1024,))
      >>> dt = jax.nn.softplus(bias)
      >>> bool((dt >= 0.00099).all() & (dt < 0.1001).all())
      True

    References:
      Gu & Dao (2023), Mamba: Linear-Time Sequence Modeling with Selective
      State Spaces, https://arxiv.org/abs/2312.00752, Section 3.6.
    """
    return ssm_step(dt_min, dt_max, "softplus", dt_init_floor, seed)


# dt_scale**2 / 3, variance_scaling's scale, is a finite float64 below it.
DT_SCALE_LIMIT = math.sqrt(sys.float_info.max)


@factory(
    random=True,
    check=check_fans,
    about=About(
        family="scheme",
        formula="U(-dt_scale / sqrt(fan_in), dt_scale / sqrt(fan_in))",
        details="Mamba's `dt_proj` kernel (dt_rank, d_inner): "
        "U(±dt_scale/√fan_in) = variance_scaling(dt_scale²/3, fan_in, "
        "uniform)",
        reference="Gu & Dao 2023",
        fixed={"mode": "fan_in", "distribution": "uniform"},
    ),
)
def mamba_dt_proj(
    dt_scale: float = 1.0,
    seed: int | None = None,
    *,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: DTypeLike | None = None,
    other_axes: OtherAxes = "receptive_field",
) -> ConfiguredInitializer:
    """Mamba's ``dt_proj`` kernel: ``U(-s, s)``, ``s = dt_scale/sqrt(fan_in)``.

    The law: ``U(-dt_scale / sqrt(fan_in), dt_scale / sqrt(fan_in))``.

    For the ``(dt_rank, d_inner)`` kernel (jinit's ``(in, out)`` layout) the
    fan-in is ``dt_rank``, so ``s = dt_scale * dt_rank^(-1/2)``; the same
    values as ``variance_scaling(dt_scale**2 / 3, "fan_in", "uniform")``
    with the same axis arguments. For PyTorch's ``(d_inner, dt_rank)``
    layout pass ``in_axis=-1, out_axis=-2``: without, the fan-in would be
    ``d_inner`` (``s = 0.0255`` instead of ``0.144`` for ``d_inner = 1536,
    dt_rank = 48``). Mamba's ``dt_rank`` is ``ceil(d_model / 16)``. Checked
    against the authors' code (``dt_init="random"`` in
    ``mamba_ssm/modules/mamba_simple.py``: ``dt_init_std = dt_rank**-0.5 *
    dt_scale``, ``nn.init.uniform_(dt_proj.weight, -dt_init_std,
    dt_init_std)``).

    Args:
      dt_scale: the scale of the bound (> 0, at most ``1.34e154``, so that
        ``dt_scale**2`` is a finite float64).
      seed: optional int in [0, 2**32); see :func:`jinit.glorot_normal`.
      in_axis: axis or axes of the inputs in the weight (``-1`` for
        PyTorch's ``(out, in)`` layout), as in :func:`jinit.variance_scaling`.
      out_axis: axis or axes of the outputs in the weight (``-2`` for
        PyTorch's layout).
      batch_axis: axes of independent stacked weights, left out of the fans.
      dtype: the initializer's default dtype, a real floating one.
      other_axes: what the axes that are neither input, output nor batch
        count for: ``"receptive_field"`` or ``"ignored"``.

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: ``dt_scale`` <= 0 or above ``1.34e154``, overlapping axes
        or an unknown ``other_axes``; at call time, axes out of range for
        the shape or values beyond the dtype's range.
      TypeError: ``dt_scale`` is not a real number, or ``seed`` or an axis
        not an int.

    Examples:
      >>> import jax, jinit
      >>> w = jinit.mamba_dt_proj()(jax.random.key(0), (48, 1536))
      >>> bool(abs(w).max() <= 48 ** -0.5)
      True
      >>> torch_layout = jinit.mamba_dt_proj(in_axis=-1, out_axis=-2)
      >>> w = torch_layout(jax.random.key(0), (1536, 48))  # (out, in)
      >>> round(float(abs(w).max()), 3)  # 48 ** -0.5
      0.144

    References:
      Gu & Dao (2023), Mamba: Linear-Time Sequence Modeling with Selective
      State Spaces, https://arxiv.org/abs/2312.00752.
    """
    dt_scale = _validation.check_positive("dt_scale", dt_scale)
    if dt_scale > DT_SCALE_LIMIT:
        raise ValueError(
            f"`dt_scale` must be at most {DT_SCALE_LIMIT:.6g}, so that the "
            f"variance dt_scale**2 / 3 is a finite float64; got "
            f"{dt_scale!r}."
        )
    return variance_scaling(
        dt_scale**2 / 3,
        "fan_in",
        "uniform",
        seed,
        in_axis=in_axis,
        out_axis=out_axis,
        batch_axis=batch_axis,
        other_axes=other_axes,
    )
