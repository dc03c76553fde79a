"""The fused threefry kernel: the same bits and draws as jax.random.

It is chosen only where that is certain, the self-check included.

The kernel's pieces are checked one by one against JAX (the hash against
JAX's own threefry2x32 primitive on arbitrary words, the row-major index
against Python integers, beyond 2**32 included), then whole draws against
jax.random over many shapes, typed and raw keys, eager, jit and vmap; the
self-check that turns the kernel off where its bits differ, both ways.
"""

import json
import math
import os
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.extend.random import threefry2x32_p

import jinit
from jinit import _cache, _draws, _threefry

SHAPES = [
    (),
    (1,),
    (7,),
    (1023,),
    (0,),
    (3, 0),
    (37, 19),
    (19, 37),
    (4, 1, 3, 2),
    (2, 3, 5, 7),
]
KEYS = {"typed": jax.random.key(11), "raw": jax.random.PRNGKey(11)}


def words(n, seed):
    """``n`` arbitrary uint32 words, fixed by ``seed``."""
    rng = np.random.default_rng(seed)
    return jnp.asarray(
        rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    )


def test_hash_equals_jax_threefry_on_arbitrary_words():
    key0, key1, x0, x1 = (words(64, seed) for seed in range(4))
    want = threefry2x32_p.bind(key0, key1, x0, x1)
    got = jax.jit(_threefry.hash2x32)(key0, key1, x0, x1)
    for ours, theirs in zip(got, want, strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_wide_index_equals_python_integers():
    strides = [2**64 - 1, 2**40 + 12345, 2**32, 2**32 - 1, 65537, 1]
    indices = [words(256, seed) for seed in range(len(strides))]
    high, low = jax.jit(lambda *i: _threefry.flat_index(i, strides, wide=True))(
        *indices
    )
    want = [
        sum(
            int(index[j]) * stride
            for index, stride in zip(indices, strides, strict=True)
        )
        % 2**64
        for j in range(256)
    ]
    np.testing.assert_array_equal(
        np.asarray(high, np.uint64), [n >> 32 for n in want]
    )
    np.testing.assert_array_equal(
        np.asarray(low, np.uint64), [n % 2**32 for n in want]
    )


@pytest.mark.parametrize("shape", [(5, 7, 3), (4096,), (2, 1, 9)])
def test_narrow_and_wide_index_agree_below_two_to_the_32(shape):
    strides = [math.prod(shape[a + 1 :]) for a in range(len(shape))]
    indices = [
        jax.lax.broadcasted_iota(np.uint32, shape, a) for a in range(len(shape))
    ]
    narrow = _threefry.flat_index(indices, strides, wide=False)
    wide = _threefry.flat_index(indices, strides, wide=True)
    for a, b in zip(narrow, wide, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        narrow[1], np.arange(math.prod(shape)).reshape(shape)
    )
    np.testing.assert_array_equal(narrow[0], 0)


def test_bits_beyond_two_to_the_32_elements():
    """The last elements of a (65539, 65541) draw, 4.3e9 elements: the
    high counter word is 1 there. Only the slice is computed."""
    shape = (2**16 + 3, 2**16 + 5)
    data = jax.random.key_data(jax.random.key(1))
    got = jax.jit(lambda d: _threefry.random_bits(d, 32, shape)[-1, -4:])(data)
    n = [(shape[0] - 1) * shape[1] + j for j in range(shape[1] - 4, shape[1])]
    assert n[0] > 2**32
    x0, x1 = threefry2x32_p.bind(
        data[0],
        data[1],
        jnp.asarray([i >> 32 for i in n], jnp.uint32),
        jnp.asarray([i % 2**32 for i in n], jnp.uint32),
    )
    np.testing.assert_array_equal(got, x0 ^ x1)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_bits_equal_jax_random_bits(shape, x64):
    key = jax.random.key(5)
    data = jax.random.key_data(key)
    for width, dtype in ((32, jnp.uint32), (64, jnp.uint64)):
        np.testing.assert_array_equal(
            jax.jit(_threefry.random_bits, static_argnums=(1, 2))(
                data, width, shape
            ),
            jax.random.bits(key, shape, dtype),
        )


def draws(dtype):
    """(name, jinit unit draw, jax.random draw) for ``dtype``."""
    return [
        (
            "uniform",
            lambda k, s: _draws.uniform(k, s, dtype, -0.5, 2.0),
            lambda k, s: jax.random.uniform(k, s, dtype, -0.5, 2.0),
        ),
        (
            "normal",
            lambda k, s: _draws.normal(k, s, dtype),
            lambda k, s: jax.random.normal(k, s, dtype),
        ),
        (
            "truncated_normal",
            lambda k, s: _draws.truncated_normal(k, -2.0, 2.0, s, dtype),
            lambda k, s: jax.random.truncated_normal(k, -2.0, 2.0, s, dtype),
        ),
        (
            "truncated_normal(-1, 3)",
            lambda k, s: _draws.truncated_normal(k, -1.0, 3.0, s, dtype),
            lambda k, s: jax.random.truncated_normal(k, -1.0, 3.0, s, dtype),
        ),
    ]


def kernel_draws(dtype):
    """(name, the kernel's draw, jax.random draw), kernel used or not.

    A JAX release that changes its stream fails here, besides the warning
    of the self-check. Bounds are traced, as in jax.random, and the kernel
    is compiled as the public draws compile it.
    """

    def kernel(unit, *bounds):
        def ours(key, shape):
            def draw(key, bounds):
                bits = _threefry.random_bits(
                    jax.random.key_data(key), jnp.finfo(dtype).bits, shape
                )
                return _draws.from_bits(unit, bits, dtype, bounds)

            return jax.jit(draw)(
                key, tuple(jnp.asarray(bound, dtype) for bound in bounds)
            )

        return ours

    return [
        (
            "uniform",
            kernel("uniform", -0.5, 2.0),
            lambda k, s: jax.random.uniform(k, s, dtype, -0.5, 2.0),
        ),
        (
            "normal",
            kernel("normal"),
            lambda k, s: jax.random.normal(k, s, dtype),
        ),
        (
            "truncated_normal(-1, 3)",
            kernel("truncated_normal", -1.0, 3.0),
            lambda k, s: jax.random.truncated_normal(k, -1.0, 3.0, s, dtype),
        ),
    ]


@pytest.fixture(params=["float32", "float64"])
def dtype(request):
    if request.param == "float64":
        request.getfixturevalue("x64")
    return jnp.dtype(request.param)


_REFERENCES = {}


def references(dtype, key_kind="typed", shapes=tuple(SHAPES)):
    """jax.random's draws of ``draws(dtype)`` at ``shapes``, keyed by
    (name, shape): one compiled program, made once per dtype, key kind and
    shapes (a program per draw and shape would cost seconds)."""
    at = (dtype, key_kind, shapes, jax.config.read("jax_enable_x64"))
    if at not in _REFERENCES:
        cases = [
            (name, shape) for name, _, _ in draws(dtype) for shape in shapes
        ]

        def draw_all(key):
            theirs = {name: f for name, _, f in draws(dtype)}
            return [theirs[name](key, shape) for name, shape in cases]

        values = jax.jit(draw_all)(KEYS[key_kind])
        _REFERENCES[at] = dict(zip(cases, values, strict=True))
    return _REFERENCES[at]


def test_kernel_equals_jax_random_at_every_shape(dtype):
    key = KEYS["typed"]
    want = references(dtype)
    for name, ours, _ in kernel_draws(dtype):
        for shape in SHAPES:
            got = ours(key, shape)
            assert got.dtype == want[name, shape].dtype, name
            np.testing.assert_array_equal(got, want[name, shape], err_msg=name)


@pytest.mark.parametrize("key_kind", KEYS)
def test_draws_equal_jax_random_eagerly(dtype, key_kind):
    key = KEYS[key_kind]
    typed = key if key_kind == "typed" else jax.random.wrap_key_data(key)
    shapes = ((), (7,), (0,), (19, 37), (4, 1, 3, 2))
    # The typed key's references are shared with the test above.
    want = references(
        dtype, key_kind, *([] if key_kind == "typed" else [shapes])
    )
    for name, ours, _ in draws(dtype):
        for shape in shapes:
            np.testing.assert_array_equal(
                ours(typed, shape), want[name, shape], err_msg=name
            )


@pytest.mark.parametrize("transform", ["jit", "vmap"])
def test_draws_equal_jax_random_under_transforms(dtype, transform):
    shape = (2, 5, 7)
    if transform == "jit":
        key = KEYS["typed"]

        def apply(f):
            return jax.jit(f, static_argnums=1)(key, shape)
    else:
        keys = jax.random.split(KEYS["typed"], 5)

        def apply(f):
            return jax.vmap(lambda k: f(k, shape))(keys)

    cases = draws(dtype) + kernel_draws(dtype)

    def every(side):  # One program for all draws of a side.
        return lambda k, s: [case[side](k, s) for case in cases]

    for (name, _, _), got, want in zip(
        cases, apply(every(1)), apply(every(2)), strict=True
    ):
        np.testing.assert_array_equal(got, want, err_msg=name)


@pytest.mark.parametrize(
    "n, batch, m",
    [(8, (), 8), (9, (), 4), (3, (), 7), (5, (3,), 5), (6, (2, 2), 3)],
)
def test_orthogonal_equals_jax_random(n, batch, m, dtype):
    key = KEYS["typed"]
    np.testing.assert_array_equal(
        _draws.orthogonal(key, n, batch, dtype, m),
        jax.random.orthogonal(key, n, batch, dtype, m),
    )


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_normal_equals_jax_random(dtype, x64):
    key = KEYS["typed"]
    np.testing.assert_array_equal(
        _draws.normal(key, (9, 4), dtype), jax.random.normal(key, (9, 4), dtype)
    )


def lowered_for_cpu(f, *args):
    return jax.jit(f).lower(*args).compile().as_text()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_kernel_is_what_runs_on_cpu(dtype, x64):
    """The compiled draw has no loop: the kernel runs, not jax.random.

    JAX's CPU threefry is a rolled loop (an HLO while); the kernel is
    straight-line code.
    """
    key = KEYS["typed"]
    assert _draws.uses_kernel(key, jnp.dtype(dtype))
    assert _draws.uses_kernel(
        jax.random.wrap_key_data(KEYS["raw"]), jnp.dtype(dtype)
    )
    ours = lowered_for_cpu(lambda k: _draws.normal(k, (64, 64), dtype), key)
    theirs = lowered_for_cpu(
        lambda k: jax.random.normal(k, (64, 64), dtype), key
    )
    assert "while" in theirs
    assert "while" not in ours


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg", "threefry2x32"])
def test_other_key_implementations_draw_with_jax_random(impl):
    key = jax.random.key(3, impl=impl)
    assert _draws.uses_kernel(key, jnp.float32) == (impl == "threefry2x32")
    for name, ours, theirs in draws(jnp.dtype(jnp.float32)):
        np.testing.assert_array_equal(
            ours(key, (6, 5)), theirs(key, (6, 5)), err_msg=name
        )
    np.testing.assert_array_equal(
        jinit.he_normal()(key, (6, 5)),
        jax.nn.initializers.he_normal()(key, (6, 5)),
    )


def test_non_partitionable_threefry_draws_with_jax_random():
    key = KEYS["typed"]
    with jax.threefry_partitionable(False):
        assert not _draws.uses_kernel(key, jnp.float32)
        for name, ours, theirs in draws(jnp.dtype(jnp.float32)):
            np.testing.assert_array_equal(
                ours(key, (6, 5)), theirs(key, (6, 5)), err_msg=name
            )
        compiled = lowered_for_cpu(
            lambda k: _draws.normal(k, (64, 64), jnp.float32), key
        )
        assert "while" in compiled  # JAX's rolled threefry loop.


@pytest.fixture
def fresh_self_check(monkeypatch, tmp_path):
    """Clears the self-check's cache before and after the test, and
    remembers its verdicts in a directory of the test's own."""
    monkeypatch.setenv("JINIT_CACHE_DIR", str(tmp_path))
    _draws._self_check.cache_clear()
    yield
    _draws._self_check.cache_clear()


def checks_done():
    return _draws._self_check.cache_info().misses


def test_a_release_whose_bits_agree_keeps_the_kernel(
    monkeypatch, fresh_self_check, dtype
):
    """Any release, listed nowhere, keeps the kernel: no warning
    (``filterwarnings = error``), one check, cached."""
    monkeypatch.setattr(jax, "__version_info__", (0, 99, 0))
    monkeypatch.setattr(jax, "__version__", "0.99.0")
    assert _draws.kernel_agrees(dtype)
    assert _draws.uses_kernel(KEYS["typed"], dtype)
    assert checks_done() == 1
    assert "while" not in lowered_for_cpu(
        lambda k: _draws.normal(k, (61, 3), dtype), KEYS["typed"]
    )


def test_the_self_check_runs_when_first_asked_in_a_trace(
    fresh_self_check, dtype
):
    def draw(key):
        assert _draws.uses_kernel(key, dtype)  # key is a tracer.
        return _draws.normal(key, (5, 3, 2), dtype)

    for transform in (jax.jit, jax.vmap):
        keys = (
            KEYS["typed"]
            if transform is jax.jit
            else jax.random.split(KEYS["typed"], 2)
        )
        np.testing.assert_array_equal(
            transform(draw)(keys),
            transform(lambda k: jax.random.normal(k, (5, 3, 2), dtype))(keys),
        )
    assert checks_done() == 1


def test_the_self_check_is_cached_per_dtype_and_configuration(
    fresh_self_check, x64
):
    float32, float64 = jnp.dtype("float32"), jnp.dtype("float64")
    for _ in range(2):
        assert _draws.kernel_agrees(float32)
        assert _draws.kernel_agrees(float64)
    assert checks_done() == 2
    jax.config.update("jax_enable_x64", False)  # The fixture restores it.
    assert _draws.kernel_agrees(float32)
    assert not _draws.kernel_agrees(float64)  # No float64 draws at all.
    assert checks_done() == 3


def test_a_release_whose_bits_differ_falls_back_with_one_warning(
    monkeypatch, fresh_self_check, dtype
):
    """The kernel's bits made wrong: one warning naming the JAX release,
    then jax.random's values, from jax.random's loop."""
    random_bits = _threefry.random_bits
    monkeypatch.setattr(
        _threefry, "random_bits", lambda *args: ~random_bits(*args)
    )
    monkeypatch.setattr(jax, "__version__", "0.99.0")
    key, shape = KEYS["typed"], (3, 7, 2)  # Drawn nowhere else: traced anew.
    for name, ours, theirs in kernel_draws(dtype):  # The test can fail.
        assert not np.array_equal(ours(key, shape), theirs(key, shape)), name
    message = (
        rf"JAX 0\.99\.0.* {dtype.name} uniform, normal, "
        rf"truncated_normal draws differ from jax\.random's; "
        rf"{dtype.name} draws fall back to jax\.random"
    )
    with pytest.warns(RuntimeWarning, match=message) as warned:
        assert not _draws.uses_kernel(key, dtype)
        assert not _draws.uses_kernel(key, dtype)
        for name, ours, theirs in draws(dtype):
            np.testing.assert_array_equal(
                ours(key, shape), theirs(key, shape), err_msg=name
            )
        np.testing.assert_array_equal(
            jinit.he_normal(dtype=dtype)(key, shape),
            jax.nn.initializers.he_normal(dtype=dtype)(key, shape),
        )
        assert "while" in lowered_for_cpu(
            lambda k: _draws.normal(k, (67, 3), dtype), key
        )
    assert len(warned) == 1
    assert checks_done() == 1


def test_a_check_that_raises_falls_back_with_one_warning(
    monkeypatch, fresh_self_check, dtype
):
    """Whatever the self-check raises (here: no program can be compiled for
    it) reaches the caller as one warning naming it, never as an error of
    the call; the draws are jax.random's."""

    def fails(*args, **kwargs):
        raise ValueError("Received incompatible devices for jitted computation")

    monkeypatch.setattr(_draws, "_units_that_differ", fails)
    key, shape = KEYS["typed"], (5, 4, 3)
    message = (
        r"the check failed \(ValueError: Received incompatible "
        rf"devices.*\); {dtype.name} draws fall back to jax\.random"
    )
    with pytest.warns(RuntimeWarning, match=message) as warned:
        for law in ("he_normal", "he_uniform", "lecun_normal"):
            np.testing.assert_array_equal(
                getattr(jinit, law)(dtype=dtype)(key, shape),
                getattr(jax.nn.initializers, law)(dtype=dtype)(key, shape),
            )
        assert not _draws.uses_kernel(key, dtype)
    assert len(warned) == 1
    assert checks_done() == 1


@pytest.mark.parametrize("name", ["float32", "float64"])
def test_the_self_check_runs_outside_the_callers_context(
    fresh_self_check, name
):
    """The check's program is traced in a thread of its own: not inside the
    caller's trace (a tracer leaking into it would fail), with the caller's
    x64 setting even where it is thread-local (``jax.enable_x64``), and the
    kernel is then used."""
    seen = []
    units_that_differ = _draws._units_that_differ

    def spy(dtype):
        seen.append(
            (
                dtype.name,
                jax.config.read("jax_enable_x64"),
                jnp.zeros(()).dtype.name,
            )
        )
        return units_that_differ(dtype)

    x64 = name == "float64"
    with pytest.MonkeyPatch.context() as patch, jax.enable_x64(x64):
        patch.setattr(_draws, "_units_that_differ", spy)
        drawn = jax.jit(lambda k: jinit.he_normal(dtype=name)(k, (4, 4)))(
            KEYS["typed"]
        )
        np.testing.assert_array_equal(
            drawn,
            jax.nn.initializers.he_normal(dtype=name)(KEYS["typed"], (4, 4)),
        )
        assert _draws.uses_kernel(KEYS["typed"], jnp.dtype(name))
    assert seen == [(name, x64, "float64" if x64 else "float32")]


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "complex64"])
def test_other_dtypes_are_not_drawn_by_the_kernel(dtype):
    assert not _draws.uses_kernel(KEYS["typed"], jnp.dtype(dtype))


def test_a_passed_check_is_remembered_until_its_key_changes(
    monkeypatch, fresh_self_check, tmp_path
):
    """A later process (here: the in-process cache cleared) with the same
    key skips the check; another ``XLA_FLAGS`` or JAX release runs it."""
    float32 = jnp.dtype("float32")
    assert _draws.kernel_agrees(float32)
    assert len(json.loads((tmp_path / _cache.FILE).read_text())) == 1
    _draws._self_check.cache_clear()
    ran = []
    kernel = _draws._kernel
    monkeypatch.setattr(
        _draws, "_kernel", lambda *args: ran.append(1) or kernel(*args)
    )
    assert _draws.kernel_agrees(float32)
    assert not ran  # Remembered: not checked again.
    for change in (
        lambda: monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to="),
        lambda: monkeypatch.setattr(jax, "__version__", "0.99.1"),
    ):
        change()
        _draws._self_check.cache_clear()
        assert _draws.kernel_agrees(float32)
        assert ran, "a new key must run the check"
        ran.clear()
    assert len(json.loads((tmp_path / _cache.FILE).read_text())) == 3


def test_a_failed_check_is_not_remembered(
    monkeypatch, fresh_self_check, tmp_path
):
    random_bits = _threefry.random_bits
    monkeypatch.setattr(
        _threefry, "random_bits", lambda *args: ~random_bits(*args)
    )
    with pytest.warns(RuntimeWarning, match="differ from jax.random"):
        assert not _draws.kernel_agrees(jnp.dtype("float32"))
    assert not (tmp_path / _cache.FILE).exists()


@pytest.mark.parametrize("setting", ["", "unwritable"])
def test_no_record_where_the_directory_is_off_or_unwritable(
    monkeypatch, fresh_self_check, tmp_path, setting
):
    """``JINIT_CACHE_DIR=""`` reads and writes nothing; a directory that
    cannot be written costs the check, never an error."""
    if setting == "unwritable":
        blocker = tmp_path / "a-file"
        blocker.write_text("not a directory")
        setting = str(blocker / "jinit")
    monkeypatch.setenv("JINIT_CACHE_DIR", setting)
    assert _cache.directory() == (Path(setting) if setting else None)
    assert _draws.kernel_agrees(jnp.dtype("float32"))
    assert not _cache.passed(
        _draws.check_key(jnp.dtype("float32"), x64=False, partitionable=True)
    )
    assert sorted(path.name for path in tmp_path.iterdir()) == (
        ["a-file"] if setting else []
    )


def test_the_suite_records_nothing_like_a_fresh_machine():
    """Every test process, and every process a test starts, runs with the
    record off: each process's first draw runs the check, as on a new
    machine, and no test reads or writes the user's cache."""
    assert os.environ["JINIT_CACHE_DIR"] == ""
    assert _cache.directory() is None
