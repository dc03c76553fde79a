"""State-space initializers at the edges: range, abstract evaluation, layouts.

Extreme arguments are refused or give the true, finite values; tracing
(``jax.eval_shape``, ``jit``) computes no values on the host; the kernels
take ``variance_scaling``'s axis arguments; and S4's DPLR form of HiPPO-LegS
is the authors' ``nplr`` (github.com/state-spaces/s4, ``models/s4/s4.py``),
written out here in NumPy from their code, never taken from jinit.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import jinit
from jinit.schemes import _state_space

KEY = jax.random.key(0)
SHAPE = (4096,)
MIN_P = 1e-3  # KS p-values of the right law, on these fixed keys.


def authors_nplr(n, b_clip=2.0):
    """``nplr("legs", N)`` of the authors' code, in NumPy (float64).

    ``transition("legs")`` built as they build it (``T M T^-1``), the rank
    correction ``P``, ``eigh`` of ``-i (A + P P^T)``, the eigenvalues sorted
    by imaginary part with the lower half kept, ``B = V^* B`` with its
    imaginary part clamped, ``P = V^* P``.
    """
    q = np.arange(n, dtype=np.float64)
    col, row = np.meshgrid(q, q)
    m = -(np.where(row >= col, 2 * q + 1, 0) - np.diag(q))
    t = np.sqrt(np.diag(2 * q + 1))
    a = t @ m @ np.linalg.inv(t)
    b = np.diag(t).copy()
    p = np.sqrt(0.5 + q)
    ap = a + np.outer(p, p)
    w_re = np.mean(np.diagonal(ap))
    w_im, v = np.linalg.eigh(ap * -1j)
    w = w_re + 1j * w_im
    order = np.argsort(w.imag, kind="stable")
    w, v = w[order][: n // 2], v[:, order][:, : n // 2]
    b_tilde = v.conj().T @ b
    p_tilde = v.conj().T @ p
    if b_clip is not None:
        b_tilde = np.real(b_tilde) + 1j * np.clip(
            np.imag(b_tilde), -b_clip, b_clip
        )
    return w, p_tilde, b_tilde, v


def complex_nplr(part, m, **kwargs):
    parts = (
        np.asarray(
            jinit.hippo_legs_nplr(part, component, **kwargs)(
                None, (2 * m, m) if part == "V" else (m,), jnp.float64
            ),
            np.float64,
        )
        for component in ("real", "imag")
    )
    real, imag = parts
    return real + 1j * imag


@pytest.mark.parametrize("m", [1, 4, 32])
def test_hippo_legs_nplr_is_the_authors_nplr(m):
    """The conjugate of theirs, each mode's phase fixed by a real V[0]."""
    with jax.enable_x64(True):
        b, p, v = (complex_nplr(part, m) for part in ("B", "P", "V"))
        unclipped = complex_nplr("B", m, b_clip=None)
        imag = np.asarray(jinit.s4d("legs")(None, (m,), jnp.float64))
    w, p_theirs, b_theirs, v_theirs = authors_nplr(2 * m)
    # Their eigenvector columns have a real first entry, of either sign.
    np.testing.assert_allclose(v_theirs[0].imag, 0, atol=1e-12)
    sign = np.sign(v_theirs[0].real)
    np.testing.assert_allclose(v, np.conj(v_theirs * sign), atol=1e-12)
    np.testing.assert_allclose(b, np.conj(b_theirs * sign), atol=1e-10)
    np.testing.assert_allclose(p, np.conj(p_theirs * sign), atol=1e-10)
    np.testing.assert_allclose(imag, -w.imag, rtol=1e-12)
    # Unclipped, B~ = sqrt(2) P~ (B = sqrt(2) P), and V diagonalizes S.
    np.testing.assert_allclose(unclipped, math.sqrt(2) * p, rtol=1e-10)
    a, _, p_hippo = (
        np.asarray(
            jinit.hippo_legs(part)(
                None, (2 * m, 2 * m) if part == "A" else (2 * m,)
            ),
            np.float64,
        )
        for part in ("A", "B", "P")
    )
    normal = a + np.outer(p_hippo, p_hippo)
    np.testing.assert_allclose(
        normal @ v, v * (-0.5 + 1j * imag), atol=1e-4 * (2 * m) ** 2
    )
    assert (v[0].real > 0).all()


def test_s4d_legs_b_is_the_clipped_hippo_b_not_ones():
    """|B~| spans 0.59 to 2.0 at N = 64 (the authors' B_clip = 2.0)."""
    with jax.enable_x64(True):
        modulus = np.abs(complex_nplr("B", 32))
        unclipped = np.abs(complex_nplr("B", 32, b_clip=None))
    assert modulus.min() == pytest.approx(0.5945, abs=1e-3)
    assert modulus.max() == pytest.approx(2.0, abs=1e-3)
    assert unclipped.max() > 40


def test_hippo_legs_nplr_repeats_over_leading_axes_and_checks_shapes():
    v = jinit.hippo_legs_nplr("V")(None, (3, 8, 4))
    np.testing.assert_array_equal(v[0], v[2])
    with pytest.raises(ValueError, match=r"must end in \(N, N/2\)"):
        jinit.hippo_legs_nplr("V")(None, (8, 8))
    with pytest.raises(ValueError, match="`component` must be one of"):
        jinit.hippo_legs_nplr(component="abs")  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="`b_clip` must be > 0"):
        jinit.hippo_legs_nplr(b_clip=0.0)


@pytest.fixture
def no_host_values(monkeypatch):
    """Any eigensolve or HiPPO matrix computed on the host fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("values computed on the host")

    for name in ("eig", "eigh", "eigvals", "eigvalsh"):
        monkeypatch.setattr(np.linalg, name, refuse)
    monkeypatch.setattr(_state_space, "hippo_legs_matrices", refuse)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: jinit.s4d("legs"), (1, 4096)),
        (lambda: jinit.s4d("legs", "real"), (1, 2**20)),
        (lambda: jinit.hippo_legs(), (40000, 40000)),  # 12.8 GB in float64
        (lambda: jinit.hippo_legs("P"), (40000,)),
        (lambda: jinit.hippo_legs_nplr("V"), (8192, 4096)),
        (lambda: jinit.hippo_legs_nplr("B", "imag"), (2, 4096)),
    ],
    ids=[
        "s4d(legs)",
        "s4d(legs, real)",
        "hippo_legs",
        "hippo_legs(P)",
        "nplr(V)",
        "nplr(B, imag)",
    ],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_abstract_evaluation_computes_no_values(
    no_host_values, make, shape, dtype
):
    init = make()
    out = jax.eval_shape(lambda: init(None, shape, dtype))
    assert out == jax.ShapeDtypeStruct(shape, jnp.dtype(dtype))
    traced = jax.jit(lambda: init(None, shape, dtype)).trace()
    assert traced.out_info.shape == shape


def test_every_deterministic_initializer_traces_without_host_values(
    no_host_values,
):
    """Identity, Dirac, ZerO, constants and the state-space matrices."""
    from registry import CASES

    for case in CASES:
        if case.random:
            continue
        out = jax.eval_shape(lambda case=case: case.init(None, case.shape))
        assert out.shape == case.shape, case.id


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda: jinit.s4d("legs"), (3, 16)),
        (lambda: jinit.hippo_legs(), (2, 8, 8)),
        (lambda: jinit.hippo_legs_nplr("V", "imag"), (16, 8)),
        (lambda: jinit.mamba_a_log(), (4, 16)),
    ],
    ids=["s4d(legs)", "hippo_legs", "nplr(V, imag)", "mamba_a_log"],
)
@pytest.mark.parametrize("dtype", ["float32", "bfloat16", "float16"])
def test_traced_values_are_the_eager_ones(make, shape, dtype):
    init = make()
    eager = init(None, shape, dtype)
    np.testing.assert_array_equal(
        jax.jit(lambda: init(None, shape, dtype))(), eager
    )
    batched = jax.vmap(lambda key: init(key, shape, dtype))(
        jax.random.split(KEY, 2)
    )
    np.testing.assert_array_equal(batched[1], eager)


@pytest.mark.parametrize(
    "make, n",
    [
        (lambda: jinit.hippo_legs(), 40000),  # max |A| = 79998
        (lambda: jinit.s4d("legs"), 240),  # w_0 ~ N^2 / pi = 73340
        (lambda: jinit.s4d("inv"), 240),  # N (N - 1) / pi = 73185
        (lambda: jinit.s4d("real", "real"), 65505),
    ],
    ids=["hippo_legs", "s4d(legs)", "s4d(inv)", "s4d(real, real)"],
)
def test_analytic_bounds_refuse_float16_overflow_without_values(
    no_host_values, make, n
):
    shape = (n, n) if n == 40000 else (n,)
    with pytest.raises(ValueError, match="largest finite float16 value"):
        jax.eval_shape(lambda: make()(None, shape, "float16"))


@pytest.mark.parametrize(
    "make, error",
    [
        (
            lambda: jinit.lru_theta_log(1e39),
            r"`max_phase` must be between 1\.97215e-31 and 3\.40282e\+38 for "
            r"`lru_theta_log` in float32.*got 1e\+39",
        ),
        (
            lambda: jinit.lru_theta_log(1e-50),
            r"`max_phase` must be between .* in float32.*got 1e-50",
        ),
        (
            lambda: jinit.ssm_step(1e-3, 1e39, "softplus"),
            r"dt_max=1e\+39.*beyond the largest finite float32 value",
        ),
        (
            lambda: jinit.mamba_dt_bias(1.0, 1e39),
            r"dt_max=1e\+39.*beyond the largest finite float32 value",
        ),
    ],
    ids=[
        "theta_log(1e39)",
        "theta_log(1e-50)",
        "ssm_step(1e39)",
        "mamba_dt_bias(1e39)",
    ],
)
def test_non_finite_values_are_refused_at_call_time(make, error):
    init = make()  # The dtype is known only at call time.
    with pytest.raises(ValueError, match=error):
        init(KEY, SHAPE)


def test_16_bit_outputs_are_checked_too():
    with pytest.raises(ValueError, match="largest finite float16 value"):
        jinit.ssm_step(1e3, 7e4, "softplus")(KEY, SHAPE, "float16")
    # Drawn in float32, theta_log of phases up to 7e4 fits float16.
    theta_log = jinit.lru_theta_log(7e4)(KEY, SHAPE, "float16")
    assert bool(jnp.isfinite(theta_log).all())


def test_mamba_dt_proj_refuses_a_scale_whose_square_overflows():
    with pytest.raises(
        ValueError,
        match=r"`dt_scale` must be at most "
        r"1\.34078e\+154.*got 1e\+200",
    ):
        jinit.mamba_dt_proj(1e200)


@pytest.mark.parametrize(
    "dt_min, dt_max, floor",
    [
        (1e-300, 1e-299, 0.0),
        (1e-50, 1e-49, 0.0),
        (1e-40, 1e-39, 0.0),
        (1e-70, 1e-60, 1e-65),
    ],
)
def test_softplus_inverse_of_tiny_steps_is_log_dt(dt_min, dt_max, floor):
    """softplus^-1(dt) = log dt + dt/2 + ..., finite however small dt is."""
    bias = np.asarray(
        jinit.ssm_step(dt_min, dt_max, "softplus", floor)(KEY, SHAPE),
        np.float64,
    )
    log_dt = np.asarray(
        jinit.ssm_step(dt_min, dt_max, "log", floor)(KEY, SHAPE), np.float64
    )
    assert np.isfinite(bias).all()
    np.testing.assert_allclose(bias, log_dt, rtol=1e-6)
    low = math.log(max(dt_min, floor))
    assert low - 1e-3 <= bias.min() and bias.max() <= math.log(dt_max)


def test_mamba_dt_bias_of_the_issue_is_finite():
    bias = np.asarray(
        jinit.mamba_dt_bias(1e-50, 1e-49, dt_init_floor=0.0)(KEY, SHAPE),
        np.float64,
    )
    law = stats.uniform(math.log(1e-50), math.log(10))
    assert stats.kstest(bias, law.cdf).pvalue > MIN_P


def test_ordinary_softplus_steps_keep_the_authors_formula():
    bias = jinit.mamba_dt_bias()(KEY, SHAPE)
    log_dt = jinit.ssm_step(1e-3, 0.1, "log", 1e-4)(KEY, SHAPE)
    dt = jnp.exp(log_dt)
    np.testing.assert_allclose(bias, dt + jnp.log(-jnp.expm1(-dt)), rtol=1e-6)


@pytest.mark.parametrize(
    "r_min, r_max",
    [(0.0, 1e-5), (1e-5, 1e-5), (0.0, 1e-30), (1e-3, 2e-3), (0.0, 0.5)],
)
def test_lru_rings_of_small_radius_are_finite_and_uniform(r_min, r_max):
    """|lambda|^2 = exp(-2 exp(nu_log)) ~ U[r_min^2, r_max^2], in float64."""
    nu_log = np.asarray(
        jinit.lru_nu_log(r_min, r_max)(KEY, (2**16,)), np.float64
    )
    assert np.isfinite(nu_log).all()
    # (|lambda| / r_max)^2, from log |lambda|^2 = -2 exp(nu_log).
    scaled = np.exp(-2 * np.exp(nu_log) - 2 * math.log(r_max))
    ratio = (r_min / r_max) ** 2
    law = stats.uniform(ratio, 1 - ratio)
    if ratio == 1:
        np.testing.assert_allclose(scaled, 1, rtol=1e-5)
    else:
        assert stats.kstest(scaled, law.cdf).pvalue > MIN_P


def test_lru_nu_log_at_the_paper_s_ring_is_log_of_minus_half_log_u():
    """The default ring (0, 1): |lambda|^2 = u, to float32's precision."""
    u = np.asarray(jax.random.uniform(KEY, (2**16,)), np.float64)
    u = u + np.finfo(np.float32).eps / 2
    np.testing.assert_allclose(
        jinit.lru_nu_log()(KEY, (2**16,)),
        np.log(-0.5 * np.log(u)),
        rtol=1e-6,
        atol=1e-6,
    )


@pytest.mark.parametrize(
    "make, scale, distribution",
    [
        (lambda **axes: jinit.mamba_dt_proj(**axes), 1 / 3, "uniform"),
        (lambda **axes: jinit.lru_input(**axes), 0.5, "untruncated_normal"),
        (lambda **axes: jinit.lru_output(**axes), 1.0, "untruncated_normal"),
    ],
    ids=["mamba_dt_proj", "lru_input", "lru_output"],
)
def test_kernels_take_variance_scaling_s_axis_arguments(
    make, scale, distribution
):
    """PyTorch's (out, in) = (d_inner, dt_rank) keeps fan-in dt_rank."""
    shape = (1536, 48)
    np.testing.assert_array_equal(
        make(in_axis=-1, out_axis=-2)(KEY, shape),
        jinit.variance_scaling(
            scale, "fan_in", distribution, in_axis=-1, out_axis=-2
        )(KEY, shape),
    )
    stacked = make(batch_axis=0)(KEY, (4, 48, 1536))
    np.testing.assert_array_equal(
        stacked,
        jinit.variance_scaling(scale, "fan_in", distribution, batch_axis=0)(
            KEY, (4, 48, 1536)
        ),
    )
    with pytest.raises(ValueError, match="out of range"):
        make(in_axis=3)(KEY, shape)


def test_mamba_dt_proj_bound_in_pytorch_layout():
    w = jinit.mamba_dt_proj(in_axis=-1, out_axis=-2)(KEY, (1536, 48))
    assert float(jnp.abs(w).max()) == pytest.approx(48**-0.5, rel=1e-3)
    assert float(jnp.abs(w).max()) <= 48**-0.5
