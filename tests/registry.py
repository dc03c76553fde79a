"""The one registry of initializers under test.

Each case names an initializer as built by a jinit factory, whether it is
random, and, for the initializers with an elementwise law, that law as a
frozen ``scipy.stats`` distribution at ``STATS_SHAPE``. The laws are written
out here from the formulas (the fans of ``STATS_SHAPE`` by hand), never taken
from jinit's own code.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from scipy import stats

import jinit

STATS_SHAPE = (512, 2048)  # 2**20 samples; fan_in 512, fan_out 2048.
FANS = {"fan_in": 512, "fan_out": 2048, "fan_avg": 1280, "fan_geo_avg": 1024}
TRUNCATED_STD = 0.87962566103423978  # std of N(0, 1) cut at +-2
CONTRACT_SHAPE = (24, 16)


KERNEL_SHAPE = (3, 3, 8, 16)


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    init: Any
    random: bool
    law: Callable[[], Any] | None = None  # scipy law at STATS_SHAPE
    bound: tuple[float, float] | None = None  # exact support [low, high]
    shape: tuple[int, ...] = CONTRACT_SHAPE  # for the contract tests
    complex: bool = False  # also draws complex64/complex128
    # The part of a sample that follows ``law`` (default: all of it).
    lawful: Callable[[Any], Any] | None = None

    def __repr__(self) -> str:
        return self.id


def _truncated(mean: float, sigma: float) -> Callable[[], Any]:
    return lambda: stats.truncnorm(-2, 2, loc=mean, scale=sigma)


def _normal(mean: float, sigma: float) -> Callable[[], Any]:
    return lambda: stats.norm(loc=mean, scale=sigma)


def _uniform(low: float, high: float) -> Callable[[], Any]:
    return lambda: stats.uniform(loc=low, scale=high - low)


def _variance_case(
    id_: str,
    init: Any,
    scale: float,
    mode: str,
    distribution: str,
    complex: bool = True,
) -> Case:
    std = math.sqrt(scale / FANS[mode])
    if distribution == "uniform":
        limit = math.sqrt(3) * std
        return Case(
            id_,
            init,
            True,
            _uniform(-limit, limit),
            (-limit, limit),
            complex=complex,
        )
    if distribution == "untruncated_normal":
        return Case(id_, init, True, _normal(0.0, std), complex=complex)
    sigma = std / TRUNCATED_STD
    return Case(
        id_,
        init,
        True,
        _truncated(0.0, sigma),
        (-2 * sigma, 2 * sigma),
        complex=complex,
    )


# The named variance-scaling initializers, written out from their papers.
PRESETS = [
    ("lecun_uniform", 1.0, "fan_in", "uniform"),
    ("lecun_normal", 1.0, "fan_in", "truncated_normal"),
    ("glorot_uniform", 1.0, "fan_avg", "uniform"),
    ("glorot_normal", 1.0, "fan_avg", "truncated_normal"),
    ("he_uniform", 2.0, "fan_in", "uniform"),
    ("he_normal", 2.0, "fan_in", "truncated_normal"),
]

CASES = [
    Case("zeros", jinit.zeros(), False),
    Case("ones", jinit.ones(), False),
    Case("constant", jinit.constant(0.25), False),
    Case("identity", jinit.identity(gain=1.5), False),
    Case(
        "identity(batch_axis=0)",
        jinit.identity(batch_axis=0),
        False,
        shape=(3, 8, 8),
    ),
    Case("dirac", jinit.dirac(), False, shape=KERNEL_SHAPE),
    Case("dirac(groups=2)", jinit.dirac(groups=2), False, shape=(3, 4, 16)),
    Case("stft", jinit.stft(), False, shape=(16, 2, 9)),
    Case(
        "stft(imag, window=None)",
        jinit.stft("imag", window=None),
        False,
        shape=(8, 1, 5),
    ),
    Case("orthogonal", jinit.orthogonal(gain=1.5), True, complex=True),
    Case(
        "orthogonal(batch_axis=0)",
        jinit.orthogonal(batch_axis=0),
        True,
        shape=(3, 8, 8),
        complex=True,
    ),
    Case(
        "delta_orthogonal",
        jinit.delta_orthogonal(),
        True,
        shape=KERNEL_SHAPE,
        complex=True,
    ),
    Case(
        "convolution_orthogonal",
        jinit.convolution_orthogonal(gain=1.5),
        True,
        shape=KERNEL_SHAPE,
        complex=True,
    ),
    # Non-zero entries N(0, 0.02**2): the law is checked on them.
    Case(
        "sparse",
        jinit.sparse(0.25, stddev=0.02),
        True,
        _normal(0.0, 0.02),
        lawful=lambda sample: sample[sample != 0],
    ),
    Case("random_normal", jinit.random_normal(), True, _normal(0.0, 0.05)),
    Case(
        "random_normal(1, 2)",
        jinit.random_normal(1.0, 2.0),
        True,
        _normal(1.0, 2.0),
    ),
    Case(
        "random_uniform",
        jinit.random_uniform(),
        True,
        _uniform(-0.05, 0.05),
        (-0.05, 0.05),
    ),
    Case(
        "random_uniform(-3, 1)",
        jinit.random_uniform(-3.0, 1.0),
        True,
        _uniform(-3.0, 1.0),
        (-3.0, 1.0),
    ),
    Case(
        "truncated_normal",
        jinit.truncated_normal(),
        True,
        _truncated(0.0, 0.05),
        (-0.1, 0.1),
    ),
    Case(
        "truncated_normal(0.5, 2)",
        jinit.truncated_normal(0.5, 2.0),
        True,
        _truncated(0.5, 2.0),
        (-3.5, 4.5),
    ),
    *[
        _variance_case(name, getattr(jinit, name)(), scale, mode, law)
        for name, scale, mode, law in PRESETS
    ],
    # Grouped: fan_out = 2048 / 4 = 512 = fan_in, so every mode gives 512.
    _variance_case(
        "glorot_normal(groups=4)",
        jinit.glorot_normal(groups=4),
        1.0,
        "fan_in",
        "truncated_normal",
    ),
    *[
        _variance_case(
            f"variance_scaling(0.5, {mode}, {distribution})",
            jinit.variance_scaling(0.5, mode, distribution),
            0.5,
            mode,
            distribution,
        )
        for mode in FANS
        for distribution in (
            "truncated_normal",
            "normal",
            "untruncated_normal",
            "uniform",
        )
    ],
]

# The depth-scaled schemes, their constants written out from the papers: the
# standard deviation, or the variance_scaling scale it multiplies.
RESIDUAL = [
    Case(
        "depth_scaled_normal(12)",
        jinit.depth_scaled_normal(12),
        True,
        _normal(0.0, 0.02 / math.sqrt(2 * 12)),
    ),
    Case(
        "depth_scaled_normal(6, 0.1, 3)",
        jinit.depth_scaled_normal(6, 0.1, 3),
        True,
        _normal(0.0, 0.1 / math.sqrt(3 * 6)),
    ),
    Case(
        "small_init(1024)",
        jinit.small_init(1024),
        True,
        _normal(0.0, math.sqrt(2 / (5 * 1024))),
    ),
    Case(
        "wang_init(44, 6144)",
        jinit.wang_init(44, 6144),
        True,
        _normal(0.0, 2 / 44 / math.sqrt(6144)),
    ),
    # Decoder only, M = 100: beta = (8M)^(-1/4).
    _variance_case(
        "deepnorm(decoder, M=100)",
        jinit.deepnorm("decoder", decoder_layers=100),
        800**-0.5,
        "fan_avg",
        "untruncated_normal",
        False,
    ),
    # Encoder only, N = 24: beta = (8N)^(-1/4).
    _variance_case(
        "deepnorm(encoder, N=24, uniform)",
        jinit.deepnorm("encoder", 24, distribution="uniform"),
        192**-0.5,
        "fan_avg",
        "uniform",
        False,
    ),
    # Encoder-decoder, N = 12, M = 6: encoder beta = 0.87 (N^4 M)^(-1/16),
    # decoder beta = (12 M)^(-1/4).
    _variance_case(
        "deepnorm(encoder, N=12, M=6)",
        jinit.deepnorm("encoder", 12, 6),
        0.87**2 * (12**4 * 6) ** -0.125,
        "fan_avg",
        "untruncated_normal",
        False,
    ),
    _variance_case(
        "deepnorm(decoder, N=12, M=6)",
        jinit.deepnorm("decoder", 12, 6),
        72**-0.5,
        "fan_avg",
        "untruncated_normal",
        False,
    ),
    # T-Fixup: 0.67 N^(-1/4) (encoder), (9N)^(-1/4) (decoder) times Xavier.
    _variance_case(
        "t_fixup(6)",
        jinit.t_fixup(6),
        0.67**2 / 6**0.5,
        "fan_avg",
        "uniform",
        False,
    ),
    _variance_case(
        "t_fixup(6, decoder, normal)",
        jinit.t_fixup(6, "decoder", distribution="untruncated_normal"),
        54**-0.5,
        "fan_avg",
        "untruncated_normal",
        False,
    ),
    # N(0, 1/d) (9N)^(-1/4) with d = 2048, the last axis of STATS_SHAPE.
    Case(
        "t_fixup_embedding(6)",
        jinit.t_fixup_embedding(6),
        True,
        _normal(0.0, 54**-0.25 / math.sqrt(2048)),
    ),
    # Fixup: He (2 / fan_out, as the authors' code) times L^(-1/(2m-2)),
    # squared for the scale.
    _variance_case(
        "fixup(16, 2)",
        jinit.fixup(16, 2),
        2 / 16,
        "fan_out",
        "untruncated_normal",
        False,
    ),
    _variance_case(
        "fixup(8, 3, fan_in, truncated)",
        jinit.fixup(8, 3, mode="fan_in", distribution="truncated_normal"),
        2 / 8**0.5,
        "fan_in",
        "truncated_normal",
        False,
    ),
    Case("skip_init", jinit.skip_init(), False),
    Case("skip_init(0.25)", jinit.skip_init(0.25), False),
    Case("zer_o", jinit.zer_o(), False),
    Case("zer_o(conv)", jinit.zer_o(), False, shape=(3, 3, 8, 16)),
]
CASES += RESIDUAL

# State-space models and sine networks, their laws written out from the
# papers (fan_in 512 at STATS_SHAPE).
SIREN_LIMIT = math.sqrt(6 / 512) / 30
SEQUENCE = [
    Case("hippo_legs", jinit.hippo_legs(), False, shape=(16, 16)),
    Case("hippo_legs(B)", jinit.hippo_legs("B"), False),
    Case("hippo_legs_nplr", jinit.hippo_legs_nplr(), False),
    Case(
        "hippo_legs_nplr(V, imag)",
        jinit.hippo_legs_nplr("V", "imag"),
        False,
        shape=(16, 8),
    ),
    Case("s4d", jinit.s4d(), False),
    Case("s4d(legs, real)", jinit.s4d("legs", "real"), False),
    Case("mamba_a_log", jinit.mamba_a_log(), False),
    Case("lru_nu_log", jinit.lru_nu_log(), True),
    Case("lru_theta_log", jinit.lru_theta_log(), True),
    Case(
        "lru_input",
        jinit.lru_input(),
        True,
        _normal(0.0, math.sqrt(1 / (2 * 512))),
    ),
    Case(
        "lru_output", jinit.lru_output(), True, _normal(0.0, math.sqrt(1 / 512))
    ),
    # log dt ~ U[log 0.001, log 0.1).
    Case(
        "ssm_step",
        jinit.ssm_step(),
        True,
        _uniform(math.log(0.001), math.log(0.1)),
        (math.log(0.001), math.log(0.1)),
    ),
    Case(
        "ssm_step(softplus)", jinit.ssm_step(parametrization="softplus"), True
    ),
    Case("mamba_dt_bias", jinit.mamba_dt_bias(), True),
    Case(
        "mamba_dt_proj",
        jinit.mamba_dt_proj(),
        True,
        _uniform(-(512**-0.5), 512**-0.5),
        (-(512**-0.5), 512**-0.5),
    ),
    Case(
        "siren",
        jinit.siren(),
        True,
        _uniform(-SIREN_LIMIT, SIREN_LIMIT),
        (-SIREN_LIMIT, SIREN_LIMIT),
    ),
    Case(
        "siren(first_layer)",
        jinit.siren(first_layer=True),
        True,
        _uniform(-1 / 512, 1 / 512),
        (-1 / 512, 1 / 512),
    ),
    Case(
        "siren_bias",
        jinit.siren_bias(512),
        True,
        _uniform(-(512**-0.5), 512**-0.5),
        (-(512**-0.5), 512**-0.5),
    ),
]
CASES += SEQUENCE

RANDOM = [case for case in CASES if case.random]
WITH_LAW = [case for case in CASES if case.law is not None]
COMPLEX = [case for case in CASES if case.complex]
# One case per factory, and each configured variant with its own shape.
FACTORY_CASES = list(
    {case.init.name: case for case in reversed(CASES)}.values()
)[::-1]
CONTRACT_CASES = FACTORY_CASES + [
    case
    for case in CASES
    if case.shape != CONTRACT_SHAPE and case not in FACTORY_CASES
]
