"""Statistical checks with thresholds that never flake for fixed keys yet
catch a wrong formula.

* moments within 6 standard errors: ``|mean - mu| < 6 sigma / sqrt(n)`` and
  ``|s^2 - sigma^2| < 6 sigma^2 sqrt(2 / (n - 1))``;
* a Kolmogorov-Smirnov p-value against the exact law. For 16-bit dtypes the
  law is the continuous law rounded to the dtype's grid (each grid value g
  holds the mass between the rounding boundaries around it; for a bounded
  law, the mass rounded onto or past a bound of its support lies on the
  nearest grid value inside it, where jinit keeps its values), and the KS
  distance is taken over every grid value, which is exact for a discrete law
  (the continuous-law test would be wrong for them).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
import numpy as np
from scipy import special, stats

SIGMAS = 6.0
MIN_P = 1e-3


def check_moments(sample: np.ndarray, mean: float, std: float) -> None:
    n = sample.size
    measured_mean = float(sample.mean())
    measured_var = float(sample.var(ddof=1))
    assert abs(measured_mean - mean) < SIGMAS * std / np.sqrt(n), (
        f"mean {measured_mean:.6g}, want {mean:.6g} +- "
        f"{SIGMAS * std / np.sqrt(n):.3g}"
    )
    tolerance = SIGMAS * std**2 * np.sqrt(2 / (n - 1))
    assert abs(measured_var - std**2) < tolerance, (
        f"variance {measured_var:.6g}, want {std**2:.6g} +- {tolerance:.3g}"
    )


@functools.cache
def _grid(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every finite value of an 8- or 16-bit float dtype, sorted, and the
    upper rounding boundary of each."""
    bits = 8 * dtype.itemsize
    with np.errstate(invalid="ignore"):  # NaN bit patterns.
        values = (
            np.arange(2**bits, dtype=f"uint{bits}")
            .view(dtype)
            .astype(np.float64)
        )
    values = np.unique(values[np.isfinite(values)])
    upper = np.append((values[:-1] + values[1:]) / 2, np.inf)
    return values, upper


def grid_values(dtype) -> np.ndarray:
    """Every finite value of an 8- or 16-bit float dtype, sorted, as
    float64."""
    return _grid(jnp.dtype(dtype))[0]


def ks_pvalue(sample: np.ndarray, law, dtype) -> float:
    """KS p-value of ``sample`` (drawn in ``dtype``) against ``law``."""
    dtype = jnp.dtype(dtype)
    sample = np.asarray(sample, np.float64).ravel()
    ordered = np.sort(sample)
    n = ordered.size
    if dtype.itemsize >= 4:
        # As scipy.stats.kstest (two-sided, exact), with one sort.
        cdf = _cdf(law, ordered)
        distance = max(
            float(np.max(np.arange(1, n + 1) / n - cdf)),
            float(np.max(cdf - np.arange(n) / n)),
        )
        return float(stats.kstwo.sf(distance, n))
    values, upper = _grid(dtype)
    ecdf = np.searchsorted(ordered, values, side="right") / n
    cdf = _cdf(law, upper)
    low, high = law.support()
    cdf[values < low] = 0.0
    # A uniform law's support is [low, high); a truncated normal's is closed.
    inside = values < high if law.dist.name == "uniform" else values <= high
    cdf[values >= values[inside].max()] = 1.0
    distance = float(np.max(np.abs(ecdf - cdf)))
    return float(stats.kstwo.sf(distance, n))


def _cdf(law, x: np.ndarray) -> np.ndarray:
    """``law.cdf(x)``; for a normal cut at -2 and 2 standard deviations, in
    closed form (scipy's truncnorm.cdf, written for far tails, takes a
    second per million values)."""
    if law.dist.name != "truncnorm":
        return law.cdf(x)
    low, high = law.args
    assert (low, high) == (-2, 2), law.args
    z = np.clip((x - law.kwds["loc"]) / law.kwds["scale"], low, high)
    bottom, top = special.ndtr(low), special.ndtr(high)
    return (special.ndtr(z) - bottom) / (top - bottom)
