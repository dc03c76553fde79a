"""What ``jinit.diagnose`` costs on a GPT-2-small-shaped model, against one
forward and backward pass of the same model on the same batch.

The model is GPT-2 (pre-layer-norm blocks, causal attention, GELU MLP, the
readout tied to the token embedding) in plain JAX over the parameters of
:func:`benchmarks.models.gpt2`; the pass is ``jax.value_and_grad`` of the
next-token cross-entropy, jitted; ``jinit.diagnose`` runs on the same
function with the same loss, jitted. Both are timed side by side
(:func:`benchmarks.measure.medians`), and their memory is XLA's own account
of each compiled program's temporary and output buffers (the pass's
gradients are its outputs; the diagnosis's, one float per statistic).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

import jinit
from benchmarks import measure, models

# GPT-2 small's shapes; a batch of BATCH sequences of SEQUENCE tokens (the
# full 1024-token context would take seconds per pass on a CPU).
BATCH, SEQUENCE = 2, 128
TINY = {"d_model": 64, "vocab": 512, "context": 64, "layers": 2}
HEADS = {768: 12, 64: 4}


def _last(v: jax.Array, like: jax.Array) -> jax.Array:
    """``v`` along the last axis of ``like`` (explicit broadcasting)."""
    return v.reshape((1,) * (like.ndim - v.ndim) + v.shape)


def _layer_norm(x: jax.Array, p: dict[str, jax.Array]) -> jax.Array:
    mean = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.var(x, axis=-1, keepdims=True)
    normal = (x - mean) * jax.lax.rsqrt(var + 1e-5)
    return normal * _last(p["g"], x) + _last(p["b"], x)


def _dense(x: jax.Array, p: dict[str, jax.Array]) -> jax.Array:
    y = x @ p["w"]
    return y + _last(p["b"], y)


def gpt2_logits(params: dict[str, Any], tokens: jax.Array) -> jax.Array:
    """GPT-2's logits ``(batch, sequence, vocab)`` for int32 ``tokens``."""
    d_model = params["wte"].shape[1]
    heads = HEADS[d_model]
    length = tokens.shape[1]
    x = params["wte"][tokens]
    x = x + _last(params["wpe"][:length], x)
    causal = jnp.tril(jnp.ones((length, length), bool))
    for block in params["h"]:
        q, k, v = jnp.split(
            _dense(_layer_norm(x, block["ln_1"]), block["attn"]["c_attn"]),
            3,
            axis=-1,
        )
        split = lambda t: t.reshape(*t.shape[:2], heads, -1)  # noqa: E731
        scores = jnp.einsum("bqhd,bkhd->bhqk", split(q), split(k))
        scores = jnp.where(
            _last(causal, scores), scores / math.sqrt(d_model // heads), -1e9
        )
        attended = jnp.einsum(
            "bhqk,bkhd->bqhd", jax.nn.softmax(scores), split(v)
        ).reshape(x.shape)
        x = x + _dense(attended, block["attn"]["c_proj"])
        hidden = jax.nn.gelu(
            _dense(_layer_norm(x, block["ln_2"]), block["mlp"]["c_fc"])
        )
        x = x + _dense(hidden, block["mlp"]["c_proj"])
    return _layer_norm(x, params["ln_f"]) @ params["wte"].T


def _cross_entropy(logits: jax.Array, targets: jax.Array) -> jax.Array:
    chosen = jnp.take_along_axis(logits, targets[..., None], axis=-1)
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - chosen[..., 0])


def _bytes(compiled: Any) -> int | None:
    """XLA's temporary and output buffers of a compiled program."""
    analysis = compiled.memory_analysis()
    return (
        None
        if analysis is None
        else int(analysis.temp_size_in_bytes + analysis.output_size_in_bytes)
    )


def cost(repeats: int, min_seconds: float, tiny: bool) -> dict[str, Any]:
    """Seconds per call and bytes (XLA's temporary and output buffers) of
    the forward and backward pass and of ``jinit.diagnose`` with the same
    loss; the records found, the parameters and the tokens; ``tiny``: at
    the smoke test's sizes."""
    sizes = TINY if tiny else {}
    params = jinit.materialize(jax.random.key(0), models.gpt2(**sizes))
    vocab = params["wte"].shape[0]
    sequence = min(SEQUENCE, params["wpe"].shape[0])
    tokens = jax.random.randint(
        jax.random.key(1), (BATCH, sequence + 1), 0, vocab
    )
    inputs, targets = tokens[:, :-1], tokens[:, 1:]

    def loss(logits: jax.Array) -> jax.Array:
        return _cross_entropy(logits, targets)

    def pass_(params: Any, inputs: jax.Array) -> Any:
        return jax.value_and_grad(lambda p: loss(gpt2_logits(p, inputs)))(
            params
        )

    def diagnosis(params: Any, inputs: jax.Array) -> jinit.Diagnosis:
        return jinit.diagnose(gpt2_logits, params, inputs, loss=loss)

    compiled = {
        name: jax.jit(fn).lower(params, inputs).compile()
        for name, fn in (("forward+backward", pass_), ("diagnose", diagnosis))
    }
    seconds = measure.medians(
        {name: lambda c=c: c(params, inputs) for name, c in compiled.items()},
        repeats,
        min_seconds,
    )
    records = len(compiled["diagnose"](params, inputs).names)
    return {
        "seconds": seconds,
        "bytes": {name: _bytes(c) for name, c in compiled.items()},
        "records": records,
        "parameters": sum(x.size for x in jax.tree.leaves(params)),
        "tokens": BATCH * sequence,
    }
