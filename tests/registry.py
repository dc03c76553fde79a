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


@dataclasses.dataclass(frozen=True)
class Case:
    id: str
    init: Any
    random: bool
    law: Callable[[], Any] | None = None  # scipy law at STATS_SHAPE
    bound: tuple[float, float] | None = None  # exact support [low, high]

    def __repr__(self) -> str:
        return self.id


def _truncated(mean: float, sigma: float) -> Callable[[], Any]:
    return lambda: stats.truncnorm(-2, 2, loc=mean, scale=sigma)


def _normal(mean: float, sigma: float) -> Callable[[], Any]:
    return lambda: stats.norm(loc=mean, scale=sigma)


def _uniform(low: float, high: float) -> Callable[[], Any]:
    return lambda: stats.uniform(loc=low, scale=high - low)


def _variance_case(id_: str, init: Any, scale: float, mode: str,
                   distribution: str) -> Case:
    std = math.sqrt(scale / FANS[mode])
    if distribution == "uniform":
        limit = math.sqrt(3) * std
        return Case(id_, init, True, _uniform(-limit, limit), (-limit, limit))
    if distribution == "untruncated_normal":
        return Case(id_, init, True, _normal(0.0, std))
    sigma = std / TRUNCATED_STD
    return Case(id_, init, True, _truncated(0.0, sigma),
                (-2 * sigma, 2 * sigma))


CASES = [
    Case("zeros", jinit.zeros(), False),
    Case("ones", jinit.ones(), False),
    Case("constant", jinit.constant(0.25), False),
    Case("identity", jinit.identity(gain=1.5), False),
    Case("orthogonal", jinit.orthogonal(gain=1.5), True),
    Case("random_normal", jinit.random_normal(), True,
         _normal(0.0, 0.05)),
    Case("random_normal(1, 2)", jinit.random_normal(1.0, 2.0), True,
         _normal(1.0, 2.0)),
    Case("random_uniform", jinit.random_uniform(), True,
         _uniform(-0.05, 0.05), (-0.05, 0.05)),
    Case("random_uniform(-3, 1)", jinit.random_uniform(-3.0, 1.0), True,
         _uniform(-3.0, 1.0), (-3.0, 1.0)),
    Case("truncated_normal", jinit.truncated_normal(), True,
         _truncated(0.0, 0.05), (-0.1, 0.1)),
    Case("truncated_normal(0.5, 2)", jinit.truncated_normal(0.5, 2.0), True,
         _truncated(0.5, 2.0), (-3.5, 4.5)),
    _variance_case("lecun_uniform", jinit.lecun_uniform(), 1.0, "fan_in",
                   "uniform"),
    _variance_case("lecun_normal", jinit.lecun_normal(), 1.0, "fan_in",
                   "truncated_normal"),
    _variance_case("glorot_uniform", jinit.glorot_uniform(), 1.0, "fan_avg",
                   "uniform"),
    _variance_case("glorot_normal", jinit.glorot_normal(), 1.0, "fan_avg",
                   "truncated_normal"),
    _variance_case("he_uniform", jinit.he_uniform(), 2.0, "fan_in",
                   "uniform"),
    _variance_case("he_normal", jinit.he_normal(), 2.0, "fan_in",
                   "truncated_normal"),
    *[
        _variance_case(f"variance_scaling(0.5, {mode}, {distribution})",
                       jinit.variance_scaling(0.5, mode, distribution), 0.5,
                       mode, distribution)
        for mode in FANS
        for distribution in ("truncated_normal", "normal",
                             "untruncated_normal", "uniform")
    ],
]

RANDOM = [case for case in CASES if case.random]
WITH_LAW = [case for case in CASES if case.law is not None]
# One case per factory: the contract tests need no more.
FACTORY_CASES = list({case.init.name: case for case in reversed(CASES)}
                     .values())[::-1]
