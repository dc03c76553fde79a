"""Threefry-2x32 random bits written as straight-line ``lax`` operations.

``jax.random`` with the default ``threefry2x32`` key implementation, in its
default partitionable mode, gives the element at row-major index ``n`` of a
``shape`` the bits ``threefry2x32(key, (n >> 32, n & 0xFFFFFFFF))``: the
Threefry-2x32 block cipher with 20 rounds (Salmon et al. 2011) applied to the
element's 64-bit index, split into two 32-bit words, and the two output words
xored (32-bit draws) or concatenated (64-bit draws).

On CPU, JAX lowers the hash as a rolled loop over whole arrays, so every round
reads and writes memory and nothing fuses with the conversion to floats. Here
the same hash is plain elementwise arithmetic: XLA fuses it with whatever
consumes the bits (the float conversion, ``erf_inv``, the scaling) into one
loop that writes each output element once.

References:
  Salmon, Moraes, Dror & Shaw (2011), Parallel random numbers: as easy as
  1, 2, 3, SC '11.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
KEY_PARITY = 0x1BD11BDA  # Threefry's key-schedule constant.
WORD = 2**32
# Words hashed on the device (JAX arrays) or on the host (NumPy arrays).
Words = TypeVar("Words", jax.Array, np.ndarray)


def _rotate_left(x: Words, bits: int) -> Words:
    return (x << np.uint32(bits)) | (x >> np.uint32(32 - bits))


def hash2x32(
    key0: Words, key1: Words, x0: Words, x1: Words
) -> tuple[Words, Words]:
    """Threefry-2x32 (20 rounds) of the words ``(x0, x1)``.

    Under the key ``(key0, key1)``; all ``uint32``, broadcast together: JAX
    arrays, or NumPy arrays (not NumPy scalars, which warn on the wrap-around)
    to hash on the host.
    """
    schedule = (key0, key1, key0 ^ key1 ^ np.uint32(KEY_PARITY))
    x0, x1 = x0 + schedule[0], x1 + schedule[1]
    for block in range(5):
        for rotation in ROTATIONS[block % 2]:
            x0 = x0 + x1
            x1 = _rotate_left(x1, rotation) ^ x0
        x0 = x0 + schedule[(block + 1) % 3]
        x1 = x1 + schedule[(block + 2) % 3] + np.uint32(block + 1)
    return x0, x1


def _multiply_wide(
    index: jax.Array, factor: int
) -> tuple[jax.Array, jax.Array]:
    """``index * factor mod 2**64`` as (high, low) ``uint32`` words.

    For a ``uint32`` array ``index`` and a Python int ``factor`` in [0, 2**64),
    from 16-bit limbs so that no partial product overflows.
    """
    factor_low, factor_high = factor % WORD, factor // WORD
    i0, i1 = (
        index & np.uint32(0xFFFF),
        lax.shift_right_logical(index, np.uint32(16)),
    )
    f0, f1 = np.uint32(factor_low & 0xFFFF), np.uint32(factor_low >> 16)
    middle_a, middle_b = i0 * f1, i1 * f0
    middle = middle_a + middle_b
    middle_carry = (middle < middle_a).astype(np.uint32)
    low_part = i0 * f0
    low = low_part + lax.shift_left(middle, np.uint32(16))
    low_carry = (low < low_part).astype(np.uint32)
    high = (
        i1 * f1
        + lax.shift_right_logical(middle, np.uint32(16))
        + lax.shift_left(middle_carry, np.uint32(16))
        + low_carry
        + index * np.uint32(factor_high)
    )
    return high, low


def flat_index(
    indices: Sequence[jax.Array], strides: Sequence[int], *, wide: bool
) -> tuple[jax.Array, jax.Array]:
    """The row-major index ``sum(indices[a] * strides[a])`` as two words.

    The (high, low) ``uint32`` words.

    Args:
      indices: ``uint32`` arrays of per-axis indices, broadcast together.
      strides: the row-major stride of each axis (Python ints).
      wide: whether the index can reach 2**32; if not, the high word is 0
        and the low word is computed without carries.
    """
    if not wide:
        low = sum(
            (
                index * np.uint32(stride)
                for index, stride in zip(indices, strides, strict=True)
            ),
            start=np.uint32(0),
        )
        return lax.full_like(low, 0, np.uint32), jnp.asarray(low)
    high = low = np.uint32(0)
    for index, stride in zip(indices, strides, strict=True):
        part_high, part_low = _multiply_wide(index, stride)
        total = low + part_low
        high = high + part_high + (total < low).astype(np.uint32)
        low = total
    return jnp.asarray(high), jnp.asarray(low)


def counters(shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """The (high, low) words of every element's row-major index in ``shape``.

    Exact for any size below 2**64.
    """
    strides = [math.prod(shape[axis + 1 :]) for axis in range(len(shape))]
    indices = [
        lax.broadcasted_iota(np.uint32, shape, axis)
        for axis in range(len(shape))
    ]
    if not shape:
        indices, strides = [lax.full((), 0, np.uint32)], [1]
    return flat_index(indices, strides, wide=math.prod(shape) > WORD)


def bits_at(
    key_data: jax.Array, bit_width: int, high: jax.Array, low: jax.Array
) -> jax.Array:
    """The random words of the elements at given row-major indices.

    The ``bit_width``-bit words (32 or 64) that a ``threefry2x32`` key with
    data ``key_data`` (``uint32[2]``) gives the elements whose row-major
    indices have the (high, low) words ``(high, low)``, in partitionable mode.
    """
    x0, x1 = hash2x32(key_data[0], key_data[1], high, low)
    if bit_width == 32:
        return x0 ^ x1
    if bit_width == 64:
        wide = np.dtype(np.uint64)
        return lax.shift_left(x0.astype(wide), np.uint64(32)) | x1.astype(wide)
    raise ValueError(f"`bit_width` must be 32 or 64; got {bit_width!r}.")


def random_bits(
    key_data: jax.Array, bit_width: int, shape: tuple[int, ...]
) -> jax.Array:
    """The words that ``jax.random.bits`` draws for a ``threefry2x32`` key.

    ``bit_width``-bit words (32 or 64), for the key with data ``key_data``
    (``uint32[2]``), in partitionable mode.
    """
    return bits_at(key_data, bit_width, *counters(shape))
