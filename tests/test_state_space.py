"""State-space initializers against their papers' formulas and properties.

The formulas are written out here from the papers (HiPPO, Theorem 2; S4D,
Section 4.1; LRU, Section 3.3 and Appendix A; Mamba's code), never taken
from jinit. Each property is checked against a control that does not use
the scheme, with margins measured on these fixed keys.
"""

import math

import inputs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jinit

KEY = jax.random.key(0)
STEPS = 10_000
MIN_P = 1e-3  # KS p-values of the right law, on these fixed keys.


def paper_hippo_legs(n):
    """HiPPO-LegS in S4's sign convention, element by element."""
    a = np.zeros((n, n))
    for i in range(n):
        for k in range(n):
            if i > k:
                a[i, k] = -math.sqrt(2 * i + 1) * math.sqrt(2 * k + 1)
            elif i == k:
                a[i, k] = -(i + 1)
    return a, np.array([math.sqrt(2 * i + 1) for i in range(n)])


def test_hippo_legs_is_the_paper_s_matrix_with_the_exact_spectrum():
    n = 32
    a = np.asarray(jinit.hippo_legs()(None, (n, n)), np.float64)
    b = np.asarray(jinit.hippo_legs("B")(None, (3, n)), np.float64)
    paper_a, paper_b = paper_hippo_legs(n)
    np.testing.assert_allclose(a, paper_a, rtol=1e-6)
    np.testing.assert_allclose(b, np.broadcast_to(paper_b, (3, n)), rtol=1e-6)
    # Lower triangular: the spectrum is the diagonal, -1, ..., -N exactly.
    assert not np.triu(a, 1).any()
    np.testing.assert_array_equal(np.diag(a), -np.arange(1, n + 1))


def test_the_low_rank_term_makes_legs_normal_and_s4d_legs_is_its_spectrum():
    n = 64
    a = np.asarray(jinit.hippo_legs()(None, (n, n)), np.float64)
    p = np.asarray(jinit.hippo_legs("P")(None, (n,)), np.float64)
    normal = a + np.outer(p, p)
    # S = -I/2 + skew: S + S^T = -I, so S commutes with S^T.
    np.testing.assert_allclose(normal + normal.T, -np.eye(n), atol=2e-5)

    def departure_from_normal(m):
        return np.abs(m @ m.T - m.T @ m).max() / np.abs(m @ m.T).max()

    assert departure_from_normal(normal) < 1e-6
    assert departure_from_normal(a) > 0.1  # The control: A itself.
    # S4D-LegS: the eigenvalues of S with positive imaginary part.
    eigenvalues = np.linalg.eigvals(normal)
    upper = eigenvalues[eigenvalues.imag > 0]
    upper = upper[np.argsort(-upper.imag)]
    real = np.asarray(jinit.s4d("legs", "real")(None, (n // 2,)))
    imag = np.asarray(jinit.s4d("legs", "imag")(None, (n // 2,)))
    np.testing.assert_allclose(real, upper.real, atol=1e-4)
    np.testing.assert_allclose(imag, upper.imag, rtol=1e-4)


def test_s4d_lin_inv_and_real_are_the_paper_s_eigenvalues():
    m = 16
    size = 2 * m
    n = np.arange(m)
    expected = {
        "lin": (np.full(m, -0.5), math.pi * n),
        "inv": (np.full(m, -0.5), size / math.pi * (size / (2 * n + 1) - 1)),
        "real": (-(n + 1.0), np.zeros(m)),
    }
    for init, (real, imag) in expected.items():
        got = {
            part: np.asarray(jinit.s4d(init, part)(None, (4, m)))
            for part in ("real", "imag", "log")
        }
        np.testing.assert_allclose(got["real"], np.broadcast_to(real, (4, m)))
        np.testing.assert_allclose(
            got["imag"], np.broadcast_to(imag, (4, m)), rtol=1e-6
        )
        np.testing.assert_allclose(got["log"], np.log(-got["real"]), rtol=1e-6)
    np.testing.assert_array_equal(
        jinit.mamba_a_log()(None, (4, m)),
        jinit.s4d("real", "log")(None, (4, m)),
    )


def test_s4d_inv_approximates_s4d_legs():
    """S4D-Inv is the paper's closed-form approximation of LegS's spectrum.

    Median relative error 0.178 at N = 64; the other closed forms of the
    authors' code are far off: ``N/pi (N/(n+1) - 1)`` ("inv2") 1.243, Lin
    0.921.
    """
    m = 32
    legs = np.sort(np.asarray(jinit.s4d("legs")(None, (m,)), np.float64))

    def error(imag):
        return np.median(np.abs(np.sort(imag) - legs) / legs)

    inv = np.asarray(jinit.s4d("inv")(None, (m,)), np.float64)
    n, size = np.arange(m), 2 * m
    assert error(inv) < 0.25
    assert error(size / math.pi * (size / (n + 1) - 1)) > 1.0
    assert error(np.asarray(jinit.s4d("lin")(None, (m,)))) > 0.8


def lru_eigenvalues(key, n, **ring):
    keys = jax.random.split(key)
    r_min, r_max = ring.get("r_min", 0.0), ring.get("r_max", 1.0)
    max_phase = ring.get("max_phase", 6.28)
    nu_log = jinit.lru_nu_log(r_min, r_max)(keys[0], (n,))
    theta_log = jinit.lru_theta_log(max_phase)(keys[1], (n,))
    return nu_log, theta_log


def test_lru_eigenvalues_are_uniform_on_the_ring():
    r_min, r_max, max_phase = 0.4, 0.9, math.pi / 2
    nu_log, theta_log = lru_eigenvalues(
        KEY, 2**16, r_min=r_min, r_max=r_max, max_phase=max_phase
    )
    modulus = np.exp(-np.exp(np.asarray(nu_log, np.float64)))
    phase = np.exp(np.asarray(theta_log, np.float64))
    area = stats.uniform(r_min**2, r_max**2 - r_min**2)
    assert stats.kstest(modulus**2, area.cdf).pvalue > MIN_P
    assert stats.kstest(phase, stats.uniform(0, max_phase).cdf).pvalue > MIN_P
    # A control: moduli uniform in radius, not in area, fail the same test.
    radius = r_min + (r_max - r_min) * inputs.uniform(KEY, (2**16,))
    assert stats.kstest(np.asarray(radius) ** 2, area.cdf).pvalue < 1e-12
    # Never infinite, even at the paper's defaults r_min = 0, r_max = 1.
    nu_log, theta_log = lru_eigenvalues(KEY, 2**16)
    assert bool(jnp.isfinite(nu_log).all() & jnp.isfinite(theta_log).all())
    assert float(jnp.exp(-jnp.exp(nu_log)).max()) < 1.0


def lru_state_energy(gamma, lam, b, u):
    """``|x_T|^2 / |B|^2`` after ``x_{t+1} = lam x_t + gamma B u_t``."""
    powers = lam[:, None] ** np.arange(len(u))[::-1]
    state = gamma * b * (powers @ u)
    return float(np.sum(np.abs(state) ** 2) / np.sum(np.abs(b) ** 2))


def test_lru_state_neither_explodes_nor_vanishes_over_10000_steps():
    """The normalized LRU keeps the state's energy at ``|B|^2``.

    Measured: 0.92 with gamma; 5.5 with gamma = 1; a plain Gaussian
    recurrence ``N(0, 1/N)`` grows by 10^82 over the same steps.
    """
    n = 256
    keys = jax.random.split(KEY, 5)
    nu_log, theta_log = lru_eigenvalues(keys[0], n)
    nu, theta = (np.exp(np.asarray(v, np.float64)) for v in (nu_log, theta_log))
    lam = np.exp(-nu + 1j * theta)
    gamma = np.exp(np.asarray(jinit.lru_gamma_log(nu_log), np.float64))
    np.testing.assert_allclose(gamma**2 + np.abs(lam) ** 2, 1.0, atol=1e-6)
    b = (
        np.asarray(jinit.lru_input()(keys[1], (1, n)))[0]
        + 1j * np.asarray(jinit.lru_input()(keys[2], (1, n)))[0]
    )
    u = np.asarray(inputs.normal(keys[3], (STEPS,)), np.float64)
    assert 0.5 < lru_state_energy(gamma, lam, b, u) < 2.0
    assert lru_state_energy(1.0, lam, b, u) > 3.0  # No normalization.
    # The control: x_{t+1} = A x_t, A ~ N(0, 1/N), renormalized each step.
    a = np.asarray(inputs.normal(keys[4], (n, n)), np.float64) / n**0.5
    x, log_growth = np.ones(n) / n**0.5, 0.0
    for _ in range(STEPS):
        x = a @ x
        norm = np.linalg.norm(x)
        log_growth, x = log_growth + math.log10(norm), x / norm
    assert abs(log_growth) > 20


def test_softplus_of_mamba_s_dt_bias_recovers_the_log_uniform_step():
    bias = np.asarray(jinit.mamba_dt_bias()(KEY, (2**16,)), np.float64)
    log_dt = np.log(np.log1p(np.exp(bias)))  # log softplus
    law = stats.uniform(math.log(1e-3), math.log(0.1) - math.log(1e-3))
    assert stats.kstest(log_dt, law.cdf).pvalue > MIN_P
    # A control: the step itself as the bias (no inverse softplus).
    step = np.exp(np.asarray(jinit.ssm_step()(KEY, (2**16,)), np.float64))
    assert stats.kstest(np.log(np.log1p(np.exp(step))), law.cdf).pvalue < 1e-12
    # The floor: a quarter of U[log 1e-5, log 0.1) lies below 1e-4.
    floored = jinit.mamba_dt_bias(dt_min=1e-5)(KEY, (2**16,))
    dt = np.log1p(np.exp(np.asarray(floored, np.float64)))
    assert dt.min() == pytest.approx(1e-4, rel=1e-4)
    assert np.mean(dt < 1.0001e-4) == pytest.approx(0.25, abs=0.01)


def test_mamba_dt_proj_and_lru_matrices_are_the_authors_laws():
    w = jinit.mamba_dt_proj(dt_scale=2.0)(KEY, (48, 1536))
    bound = 2.0 / math.sqrt(48)
    assert float(jnp.abs(w).max()) <= bound
    assert float(jnp.abs(w).max()) > 0.999 * bound
    np.testing.assert_array_equal(
        w, jinit.variance_scaling(4.0 / 3, "fan_in", "uniform")(KEY, (48, 1536))
    )
    for init, variance in (
        (jinit.lru_input(), 1 / (2 * 512)),
        (jinit.lru_output(), 1 / 512),
    ):
        values = np.asarray(init(KEY, (512, 1024)), np.float64)
        assert values.var() == pytest.approx(variance, rel=0.01)


@pytest.mark.parametrize(
    "make, error",
    [
        (lambda: jinit.hippo_legs("C"), "`part` must be one of 'A', 'B', 'P'"),
        (lambda: jinit.s4d("fourier"), "`init` must be one of"),
        (lambda: jinit.lru_nu_log(0.9, 0.5), "r_min=0.9, r_max=0.5"),
        (lambda: jinit.lru_nu_log(1.0, 1.0), "r_min < 1"),
        (lambda: jinit.lru_theta_log(0.0), "`max_phase` must be > 0"),
        (lambda: jinit.ssm_step(0.1, 0.01), "`dt_max` must be >= `dt_min`"),
        (lambda: jinit.ssm_step(parametrization="exp"), "`parametrization`"),
        (
            lambda: jinit.mamba_dt_bias(dt_init_floor=-1.0),
            "`floor` must be >= 0",
        ),
    ],
)
def test_bad_arguments_fail_when_the_initializer_is_built(make, error):
    with pytest.raises(ValueError, match=error.replace("(", r"\(")):
        make()


def test_bad_shapes_and_arrays_are_refused():
    with pytest.raises(ValueError, match=r"square \(N, N\)"):
        jinit.hippo_legs()(None, (4, 5))
    with pytest.raises(TypeError, match="`nu_log` must be a real floating"):
        jinit.lru_gamma_log(jnp.arange(3))
