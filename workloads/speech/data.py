"""Speech for the librispeech proxies: spoken English number phrases, as log-mel features.

Transcripts are English number phrases from ``num2words`` (cardinals below 1,000,
years, ordinals below 100), normalised to LibriSpeech's character set (lower-case
letters, space, apostrophe). Each is spoken by espeak-ng (:mod:`workloads.speech.synth`) with a random
voice variant, rate and pitch, trimmed of silence and mixed with white noise at a
random SNR. Features are 80-bin log-mel filterbanks (25 ms Hann frames, 10 ms hop),
normalised with the training split's per-bin mean and deviation. Each split draws
its utterances (with new voices) from its own share of the texts, so no validation
or test sentence is heard in training. Everything is built once per seed and
cached (synthesis takes tens of seconds), so trials never pay for it.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from autotune.data_cache import cached_arrays
from autotune.errors import UserError
from workloads.speech.synth import SAMPLE_RATE, speaker

__all__ = [
    "ALPHABET", "DATA_VERSION", "N_MELS", "decode_text", "encode_text", "load_speech",
    "load_splits", "padded_utterances", "trim",
]  # fmt: skip

DATA_VERSION = "speech-espeak-v2"
SPLIT_SIZES = {"train": 2400, "validation": 300, "test": 300}
ALPHABET = " abcdefghijklmnopqrstuvwxyz'"  # CTC ids: 0 = blank, then these
N_MELS, N_FFT, HOP = 80, 552, 220  # 25 ms frames, 10 ms hop at 22,050 Hz
VOICES = ("en-us", "en")
VARIANTS = ("", "+m1", "+m2", "+m3", "+m4", "+m5", "+m6", "+m7", "+f1", "+f2", "+f3", "+f4",
            "+klatt", "+klatt2", "+klatt3")  # fmt: skip


def encode_text(text: str) -> list[int]:
    return [ALPHABET.index(c) + 1 for c in text]


def decode_text(ids: list[int]) -> str:
    return "".join(ALPHABET[i - 1] for i in ids if 0 < i <= len(ALPHABET))


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^a-z' ]", " ", text.lower())).strip()


def _texts() -> list[str]:
    """Every transcript: cardinals below 1000, years 1100-2099, ordinals below 100."""
    try:
        from num2words import num2words
    except ImportError:
        raise UserError(
            "the librispeech proxies need num2words: pip install 'autotune[proxies]'"
        ) from None
    texts = [num2words(n) for n in range(1000)]
    texts += [num2words(n, to="year") for n in range(1100, 2100)]
    texts += [num2words(n, to="ordinal") for n in range(1, 100)]
    return sorted({_normalise(t) for t in texts})


def _transcripts(rng: np.random.Generator) -> dict[str, list[str]]:
    """Per split, utterance transcripts drawn from its own share of the texts."""
    texts = [str(t) for t in rng.permutation(_texts())]
    total = sum(SPLIT_SIZES.values())
    out, start = {}, 0
    for name, size in SPLIT_SIZES.items():
        pool = texts[start : start + round(len(texts) * size / total)]
        start += len(pool)
        out[name] = [str(t) for t in rng.choice(pool, size)]
    return out


def _mel_filterbank(n_mels: int = N_MELS, fmin: float = 20.0, fmax: float = 8000.0) -> np.ndarray:
    def to_mel(f: np.ndarray) -> np.ndarray:
        return 2595.0 * np.log10(1.0 + f / 700.0)

    edges = 700.0 * (10 ** (np.linspace(to_mel(np.array(fmin)), to_mel(np.array(fmax)),
                                         n_mels + 2) / 2595.0) - 1.0)  # fmt: skip
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE)
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (freqs - lower) / (centre - lower)
    falling = (upper - freqs) / (upper - centre)
    return np.maximum(0.0, np.minimum(rising, falling)).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """``[frames, N_MELS]`` log-mel energies of mono ``samples`` at SAMPLE_RATE."""
    samples = np.pad(samples, (0, max(0, N_FFT - len(samples))))
    n_frames = 1 + (len(samples) - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    power = np.abs(np.fft.rfft(samples[idx] * np.hanning(N_FFT), axis=-1)) ** 2
    return np.log(power @ _mel_filterbank().T + 1e-6).astype(np.float32)


def _utterance(text: str, rng: np.random.Generator) -> np.ndarray:
    voice = f"{rng.choice(VOICES)}{rng.choice(VARIANTS)}"
    audio = speaker().say(text, voice, rate=int(rng.integers(130, 191)),
                          pitch=int(rng.integers(25, 76)))  # fmt: skip
    voiced = np.flatnonzero(np.abs(audio) > 0.01)
    if len(voiced):
        margin = SAMPLE_RATE // 20
        audio = audio[max(0, voiced[0] - margin) : voiced[-1] + margin]
    snr_db = rng.uniform(15, 35)
    noise_std = np.sqrt(np.mean(audio**2) / 10 ** (snr_db / 10))
    return audio + rng.normal(0, noise_std, len(audio)).astype(np.float32)


def _build(seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    texts = [t for split in _transcripts(rng).values() for t in split]
    feats = [log_mel(_utterance(t, rng)) for t in texts]
    n_train = SPLIT_SIZES["train"]
    train = np.concatenate(feats[:n_train])
    mean, std = train.mean(0), train.std(0) + 1e-5
    labels = [encode_text(t) for t in texts]
    targets = np.zeros((len(texts), max(map(len, labels))), np.int8)
    for i, lab in enumerate(labels):
        targets[i, : len(lab)] = lab
    return {
        "features": np.concatenate([(f - mean) / std for f in feats]).astype(np.float16),
        "frames": np.array([len(f) for f in feats], np.int32),
        "targets": targets,
        "split": np.repeat(np.arange(3, dtype=np.int8), list(SPLIT_SIZES.values())),
    }


def load_speech(seed: int = 0) -> dict[str, np.ndarray]:
    """The synthesised utterances (flat features, frame counts, padded char ids), cached."""
    return cached_arrays(f"{DATA_VERSION}-seed{seed}", lambda: _build(seed))


def padded_utterances(arrays: dict[str, np.ndarray], rows: np.ndarray) -> dict[str, np.ndarray]:
    """The utterances ``rows`` of the cache arrays as one padded batch: ``inputs``
    (float16 features ``[B, T_max, N_MELS]``, 0 on padding), ``input_paddings`` (1.0 on
    padded frames) and ``targets`` (int32 character ids, 0 = padding)."""
    frames = arrays["frames"]
    starts = np.concatenate([[0], np.cumsum(frames)])
    t_max = int(frames[rows].max()) if len(rows) else 1
    feats = np.zeros((len(rows), t_max, arrays["features"].shape[1]), np.float16)
    for out, r in enumerate(rows):
        feats[out, : frames[r]] = arrays["features"][starts[r] : starts[r + 1]]
    paddings = (np.arange(t_max)[None, :] >= frames[rows][:, None]).astype(np.float32)
    return {"inputs": feats, "input_paddings": paddings,
            "targets": arrays["targets"][rows].astype(np.int32)}  # fmt: skip


def trim(batch: dict[str, Any]) -> dict[str, Any]:
    """Drop the trailing frames and target columns that are padding in every row (numpy
    arrays or torch tensors); other keys pass through."""
    t = max(int((batch["input_paddings"] == 0).sum(1).max()), 1)
    n = max(int((batch["targets"] > 0).sum(1).max()), 1)
    return {**batch, "inputs": batch["inputs"][:, :t],
            "input_paddings": batch["input_paddings"][:, :t], "targets": batch["targets"][:, :n]}  # fmt: skip


def load_splits(
    seed: int, sizes: dict[str, int], num_eval_train: int
) -> dict[str, dict[str, np.ndarray]]:
    """Padded utterances per split (``train``, ``validation``, ``test`` cut to ``sizes``,
    0 = all; ``eval_train`` = the first ``num_eval_train`` training utterances, 0 = as
    many as validation), for either framework."""
    arrays = load_speech(seed)
    out = {}
    for code, (name, size) in enumerate(sizes.items()):
        rows = np.flatnonzero(arrays["split"] == code)[: size or None]
        out[name] = padded_utterances(arrays, rows)
    n_eval = num_eval_train or len(out["validation"]["targets"])
    out["eval_train"] = {k: v[:n_eval] for k, v in out["train"].items()}
    return out
