"""Fourier kernels: the short-time Fourier transform as a convolution."""

from __future__ import annotations

import typing
from collections.abc import Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from jinit import _dtypes, _shapes, _validation
from jinit._about import About
from jinit._choices import Scaling, Side
from jinit._contract import Deterministic, factory

SIDES: tuple[Side, ...] = typing.get_args(Side)
SCALINGS: tuple[Scaling, ...] = typing.get_args(Scaling)


def _window_values(
    window: str | Sequence[float], frames: int, periodic: bool
) -> np.ndarray:
    """The window's ``frames`` values in float64, as Keras 3 takes them.

    A name is ``scipy.signal.get_window(window, frames, fftbins=periodic)``.
    """
    if not isinstance(window, str):
        return np.asarray(window, np.float64)
    try:
        from scipy import signal
    except ImportError as error:
        raise ImportError(
            f"`window` {window!r} is a window of scipy.signal.windows, which "
            "needs scipy: pip install scipy, or give the window's values."
        ) from error
    try:
        return np.asarray(
            signal.get_window(window, frames, fftbins=periodic), np.float64
        )
    except ValueError as error:
        raise ValueError(
            f"`window` must be None, a window of scipy.signal.windows (such "
            f"as 'hann' or 'hamming') or its values; got {window!r}: "
            f"{error}"
        ) from None


def _norm(xp: Any, window: Any, scaling: Scaling | None) -> Any:
    """What the window is divided by: its L2 or L1 norm, or ``None``."""
    if scaling == "density":
        return xp.sqrt(xp.sum(xp.square(window)))
    if scaling == "spectrum":
        return xp.sum(xp.abs(window))
    return None


def _stft_moments(
    config: Mapping[str, Any], shape: tuple[int, ...]
) -> tuple[float, float]:
    """The mean and standard deviation of the kernel, exact (in float64)."""
    frames, _, frequencies = shape
    angle = (
        -np.pi
        * np.arange(frames)[:, None]
        * np.arange(frequencies)[None, :]
        / (frequencies - 1)
    )
    kernel = np.cos(angle) if config["side"] == "real" else np.sin(angle)
    if config["window"] is not None:
        window = _window_values(config["window"], frames, config["periodic"])
        norm = _norm(np, window, config["scaling"])
        kernel = kernel * window[:, None] / (1.0 if norm is None else norm)
    return float(kernel.mean()), float(kernel.std())


def _check_stft(
    shape: tuple[int, ...], config: Mapping[str, Any], initializer: str
) -> None:
    _shapes.check_rank(shape, 3, 3, initializer)
    if shape[-1] == 1:  # 0 frequencies: no elements.
        raise ValueError(
            f"`shape` must be (frame_length, channels, fft_length // 2 + 1) "
            f"with at least 2 frequencies for `{initializer}`; got {shape}."
        )
    window = config["window"]
    if isinstance(window, tuple) and len(window) != shape[0]:
        raise ValueError(
            f"`window` has {len(window)} values; the shape {shape} needs one "
            f"per frame, {shape[0]}."
        )


@factory(
    random=False,
    floating=True,
    check=_check_stft,
    about=About(
        family="structured",
        formula=(
            "cos or sin(-2 pi t f / (2 (F - 1))) * window[t] / norm(window)"
        ),
        details="(frame_length T, channels, F = fft_length // 2 + 1) kernel: "
        "cos (`side='real'`) or sin (`'imag'`) of −2π·t·f / (2(F − 1)) "
        "at time t and frequency f, times the window, over its L2 "
        "(`scaling='density'`) or L1 (`'spectrum'`) norm; a `VALID` "
        "convolution with it, strided by the frame step, is one side of "
        "the STFT",
        reference="`keras.initializers.STFT`",
        shape=(64, 1, 33),
        moments=_stft_moments,
    ),
)
def stft(
    side: Side = "real",
    window: str | Sequence[float] | None = "hann",
    scaling: Scaling | None = "density",
    periodic: bool = False,
    *,
    dtype: DTypeLike | None = None,
) -> Deterministic:
    """Initializer of convolution kernels for a short-time Fourier transform.

    The law: ``cos or sin(-2 pi t f / (2 (F - 1))) * window[t] /
    norm(window)``.

    For a ``(T, channels, F)`` kernel (``T`` the frame length, ``F`` half
    the FFT length plus one), with ``w`` the window's ``T`` values:
    ``W[t, c, f] = cos(-2 pi t f / (2 (F - 1))) * w[t] / s`` for ``side``
    ``"real"`` (``sin`` for ``"imag"``), where ``s`` is ``sqrt(sum(w**2))``
    for ``scaling="density"``, ``sum(|w|)`` for ``"spectrum"`` and 1 for
    ``None`` (or no window); each channel is the same. A ``VALID``
    convolution of a signal with it gives one side of the signal's STFT, as
    in ``keras.layers.STFTSpectrogram``. The values are Keras 3's ``STFT``
    initializer's, bit for bit: they are computed as Keras computes them on
    its JAX backend, with the same ``jax.numpy`` operations in float32 (in
    float64 for float64; 16-bit dtypes are computed in float32 and rounded
    once, where Keras computes in them), so unlike the other deterministic
    initializers an eager call compiles those few operations for its shape.
    The key is ignored.

    Args:
      side: ``"real"`` or ``"imag"``, the side of the transform computed.
      window: the name of a window of ``scipy.signal.windows`` (``"hann"``,
        ``"hamming"``, which need scipy), its ``T`` values, or ``None`` for
        no window.
      scaling: ``"density"`` (L2 norm of the window), ``"spectrum"`` (L1
        norm) or ``None``: what the window is divided by.
      periodic: whether a named window is periodic (``fftbins`` of
        ``scipy.signal.get_window``), as for a spectrogram, or symmetric.
      dtype: the initializer's default dtype (floating).

    Returns:
      An initializer ``init(key, shape, dtype=None, *, out_sharding=None)``.

    Raises:
      ValueError: an unknown ``side``, ``scaling`` or window name, window
        values that are not finite; at call time, a shape that is not 3-D
        with at least 2 frequencies, or window values not one per frame.
      ImportError: a named window without scipy installed.

    Examples:
      >>> import jinit
      >>> w = jinit.stft(window=None)(None, (4, 1, 3))
      >>> w[:, 0, 0].tolist(), w[:, 0, 2].tolist()  # Frequencies 0 and 1/2.
      ([1.0, 1.0, 1.0, 1.0], [1.0, -1.0, 1.0, -1.0])
      >>> jinit.stft("imag", "hann", periodic=True)(None, (256, 1, 129)).shape
      (256, 1, 129)

    References:
      ``keras.initializers.STFT`` (Keras 3).
    """
    _validation.check_choice("side", side, SIDES)
    if scaling is not None:
        _validation.check_choice("scaling", scaling, SCALINGS)
    if not isinstance(periodic, (bool, np.bool_)):
        raise TypeError(
            f"`periodic` must be a bool; got "
            f"{type(periodic).__name__} {periodic!r}."
        )
    if isinstance(window, str):
        _window_values(window, 1, bool(periodic))  # A valid name.
    elif window is not None:
        given = np.asarray(window, np.float64)
        if given.ndim != 1 or not np.isfinite(given).all():
            raise ValueError(
                f"`window` values must be a 1-D sequence of "
                f"finite numbers; got {window!r}."
            )

    def values(xp, shape, dtype):
        # Keras's operations in its order, as Keras computes them on its JAX
        # backend: with jax.numpy (NumPy's cos rounds differently), op by op
        # even under jit (fused, or compiled for a sharding, XLA rounds some
        # of them differently, and a fused sum adds in another order).
        del xp
        work = _dtypes.sampling(np.dtype(dtype))
        frames, _, frequencies = shape
        with jax.ensure_compile_time_eval():
            freq = jnp.arange(frequencies, dtype=work).reshape(1, 1, -1) / (
                2 * (frequencies - 1)
            )
            time = jnp.arange(frames, dtype=work).reshape(-1, 1, 1)
            angle = -2 * time * freq * jnp.arccos(jnp.asarray(-1, work))
            kernel = jnp.cos(angle) if side == "real" else jnp.sin(angle)
            if window is not None:
                win = _window_values(window, frames, bool(periodic)).astype(
                    work
                )
                norm = _norm(jnp, win, scaling)
                kernel = kernel * win.reshape(-1, 1, 1)
                if norm is not None:
                    kernel = kernel / norm
        return jnp.broadcast_to(kernel, shape)

    return Deterministic(values)
