"""AlgoPerf's WMT encoder-decoder Transformer in Flax, mirroring ``workloads/wmt/models.py``.

Same computation and knobs as the PyTorch model (shared scaled embedding, sinusoidal
positions, pre- or post-LN blocks, ReLU or GLU MLPs, ``attention_temp``, bias-free
attention projections, LayerNorm epsilon 1e-5), with module names that follow the
PyTorch ones (``encoder_<i>``/``decoder_<i>`` blocks of ``self_attn``, ``cross_attn``,
``mlp`` and ``layernorm_<j>``), so PyTorch weights map onto it by name.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

__all__ = ["Transformer", "greedy_decode", "sinusoidal"]

_ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": nn.relu, "tanh": jnp.tanh, "gelu": functools.partial(nn.gelu, approximate=False),
}  # fmt: skip
LN_EPS = 1e-5  # torch.nn.LayerNorm's default


def sinusoidal(length: int, dim: int) -> jax.Array:
    pos = jnp.arange(length, dtype=jnp.float32)[:, None]
    rates = jnp.exp(jnp.arange(0, dim // 2) * (-math.log(10_000.0) / max(dim // 2 - 1, 1)))
    return jnp.concatenate([jnp.sin(pos * rates), jnp.cos(pos * rates)], -1)


class Attention(nn.Module):
    heads: int
    dropout: float
    temperature: float

    @nn.compact
    def __call__(self, x: jax.Array, memory: jax.Array, mask: jax.Array, train: bool) -> jax.Array:
        """``mask``: True where a query may attend a key, broadcastable to [B, H, Q, K]."""
        dim = x.shape[-1]
        split = lambda t: t.reshape(*t.shape[:2], self.heads, -1)  # noqa: E731
        q = split(nn.Dense(dim, use_bias=False, name="query")(x))
        k = split(nn.Dense(dim, use_bias=False, name="key")(memory))
        v = split(nn.Dense(dim, use_bias=False, name="value")(memory))
        scale = 1.0 / (math.sqrt(q.shape[-1]) * self.temperature)
        logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) * scale
        weights = jax.nn.softmax(jnp.where(mask, logits, jnp.finfo(logits.dtype).min), -1)
        weights = nn.Dropout(self.dropout, deterministic=not train)(weights)
        y = jnp.einsum("bhqk,bkhd->bqhd", weights, v).reshape(*x.shape[:2], dim)
        return nn.Dense(dim, use_bias=False, name="out")(y)


class Mlp(nn.Module):
    hidden: int
    dropout: float
    activation: str
    glu: bool

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        h = _ACTIVATIONS[self.activation](nn.Dense(self.hidden, name="fc")(x))
        if self.glu:
            h = h * nn.Dense(self.hidden, name="gate")(x)
        h = nn.Dropout(self.dropout, deterministic=not train)(h)
        return nn.Dense(x.shape[-1], name="proj")(h)


class Block(nn.Module):
    """Self-attention, optional cross-attention, MLP; each a residual with a LayerNorm."""

    heads: int
    mlp_dim: int
    dropout: float
    attn_dropout: float
    temperature: float
    activation: str
    glu: bool
    post_ln: bool
    cross: bool

    def _residual(self, x: jax.Array, i: int, fn: Callable[[jax.Array], jax.Array],
                  train: bool) -> jax.Array:  # fmt: skip
        norm = nn.LayerNorm(epsilon=LN_EPS, name=f"layernorm_{i}")
        drop = nn.Dropout(self.dropout, deterministic=not train)
        if self.post_ln:
            return norm(x + drop(fn(x)))
        return x + drop(fn(norm(x)))

    @nn.compact
    def __call__(self, x: jax.Array, self_mask: jax.Array, train: bool,
                 memory: jax.Array | None = None,
                 memory_mask: jax.Array | None = None) -> jax.Array:  # fmt: skip
        attn = functools.partial(Attention, self.heads, self.attn_dropout, self.temperature)
        self_attn = attn(name="self_attn")
        x = self._residual(x, 0, lambda h: self_attn(h, h, self_mask, train), train)
        if self.cross:
            assert memory is not None and memory_mask is not None
            cross_attn = attn(name="cross_attn")
            x = self._residual(x, 1, lambda h: cross_attn(h, memory, memory_mask, train), train)
        mlp = Mlp(self.mlp_dim, self.dropout, self.activation, self.glu, name="mlp")
        return self._residual(x, 2 if self.cross else 1, lambda h: mlp(h, train), train)


class Transformer(nn.Module):
    """Encoder-decoder Transformer: ``({"inputs", "targets_in"}) -> per-token logits``."""

    vocab_size: int
    d_model: int = 1024
    num_heads: int = 16
    mlp_dim: int = 1024
    num_layers: int = 6
    dropout_rate: float = 0.1
    attention_dropout_rate: float = 0.1
    attention_temp: float = 1.0
    activation: str = "relu"
    glu: bool = False
    post_ln: bool = False

    def setup(self) -> None:
        self.embed = nn.Embed(self.vocab_size, self.d_model,
                              embedding_init=nn.initializers.normal(1.0))  # fmt: skip
        args = (self.num_heads, self.mlp_dim, self.dropout_rate, self.attention_dropout_rate,
                self.attention_temp, self.activation, self.glu, self.post_ln)  # fmt: skip
        # named encoder_<i> / decoder_<i> (Flax names list members by index)
        self.encoder = [Block(*args, cross=False) for _ in range(self.num_layers)]
        self.decoder = [Block(*args, cross=True) for _ in range(self.num_layers)]
        if not self.post_ln:
            self.enc_layernorm = nn.LayerNorm(epsilon=LN_EPS)
            self.dec_layernorm = nn.LayerNorm(epsilon=LN_EPS)
        self.drop = nn.Dropout(self.dropout_rate)

    def _embed(self, tokens: jax.Array, train: bool) -> jax.Array:
        x = self.embed(tokens)
        return self.drop(x + sinusoidal(tokens.shape[1], x.shape[-1]), deterministic=not train)

    def encode(self, src: jax.Array, train: bool = False) -> tuple[jax.Array, jax.Array]:
        mask = (src > 0)[:, None, None, :]
        x = self._embed(src, train)
        for block in self.encoder:
            x = block(x, mask, train)
        return (x if self.post_ln else self.enc_layernorm(x)), mask

    def decode(self, memory: jax.Array, memory_mask: jax.Array, tgt_in: jax.Array,
               train: bool = False) -> jax.Array:  # fmt: skip
        y = self._embed(tgt_in, train)
        n = tgt_in.shape[1]
        causal = jnp.tril(jnp.ones((n, n), bool))[None, None]
        for block in self.decoder:
            y = block(y, causal, train, memory=memory, memory_mask=memory_mask)
        y = y if self.post_ln else self.dec_layernorm(y)
        return self.embed.attend(y) / math.sqrt(y.shape[-1])

    def __call__(self, batch: dict[str, jax.Array], train: bool = False) -> jax.Array:
        memory, mask = self.encode(batch["inputs"], train)
        return self.decode(memory, mask, batch["targets_in"], train)


@functools.partial(jax.jit, static_argnames=("model", "max_len", "eos"))
def greedy_decode(model: Transformer, params: dict, src: jax.Array, max_len: int,
                  eos: int) -> jax.Array:  # fmt: skip
    """Greedy decodes of ``src``, ``[B, max_len]``, 0 (padding) after each EOS; as the
    PyTorch model's, on a fixed-size buffer (causal attention ignores its tail) and
    stopping once every row has ended."""
    variables = {"params": params}
    memory, mask = model.apply(variables, src, method=Transformer.encode)
    buf = jnp.zeros((src.shape[0], max_len + 1), jnp.int32)
    done = jnp.zeros(src.shape[0], bool)

    def step(state: tuple[jax.Array, jax.Array, jax.Array]) -> tuple:
        i, buf, done = state
        logits: jax.Array = model.apply(variables, memory, mask, buf, method=Transformer.decode)  # type: ignore[assignment]
        nxt = jnp.where(done, 0, logits[:, i].argmax(-1).astype(jnp.int32))
        return i + 1, buf.at[:, i + 1].set(nxt), done | (nxt == eos)

    def more(state: tuple[jax.Array, jax.Array, jax.Array]) -> jax.Array:
        i, _, done = state
        return (i < max_len) & ~done.all()

    _, buf, _ = jax.lax.while_loop(more, step, (jnp.asarray(0), buf, done))
    return buf[:, 1:]
