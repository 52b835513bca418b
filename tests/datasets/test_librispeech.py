"""LibriSpeech loader on utterances written in AlgoPerf's preprocessed .npy form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from autotune.datasets import librispeech
from tests.datasets.conftest import one_error_line

PARTS = [p for parts in librispeech.SPLITS.values() for p in parts]


def _utterance(folder: Path, uid: str, n_samples: int, n_targets: int) -> None:
    t = np.arange(n_samples) / 16_000
    audio = (3000 * np.sin(2 * np.pi * 220 * t)).astype(np.int64)
    np.save(folder / f"{uid}_audio.npy", audio)
    np.save(folder / f"{uid}_targets.npy", np.arange(1, n_targets + 1, dtype=np.int64))


def write_fixture(root: Path) -> Path:
    """Seven utterances over the six parts, and a 30-piece SentencePiece tokenizer."""
    import sentencepiece as spm

    lengths = {"train-clean-100": [(16000, 5), (8000, 3)], "train-clean-360": [(4000, 2)]}
    for k, part in enumerate(PARTS):
        (root / part).mkdir()
        ids = []
        for i, (n, m) in enumerate(lengths.get(part, [(2000 + k, 1 + k)])):
            uid = f"{100 + k}-{i}-000{i}"
            _utterance(root / part, uid, n, m)
            ids.append(uid)
        (root / f"{part}.csv").write_text("id,transcript\n" + "".join(f"{u},hello\n" for u in ids))
    text = "the quick brown fox jumps over the lazy dog and hello world again\n" * 20
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(text.splitlines()), model_prefix=str(root / "spm"), vocab_size=30,
        model_type="unigram", character_coverage=1.0, num_threads=1, minloglevel=2,
    )  # fmt: skip
    (root / "spm.model").rename(root / librispeech.TOKENIZER)
    (root / "spm.vocab").unlink()
    return root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return write_fixture(tmp_path)


def test_train_batch_is_padded_audio_and_targets(root: Path) -> None:
    batch = next(librispeech.batches(root, "train", 2, seed=0))
    assert batch["inputs"].shape == (2, 320_000) and batch["inputs"].dtype == torch.float32
    assert batch["targets"].shape == (2, 256) and batch["target_paddings"].shape == (2, 256)
    real = (1 - batch["input_paddings"]).sum(1).tolist()
    assert sorted(real)[0] in (16000, 8000, 4000, 2003, 2004, 2005)
    n = (1 - batch["target_paddings"]).sum(1).long()
    for row, k in zip(batch["targets"], n, strict=True):
        assert row[:k].tolist() == list(range(1, int(k) + 1)) and not row[k:].any()
    again = next(librispeech.batches(root, "train", 2, seed=0))
    assert torch.equal(batch["inputs"], again["inputs"])


def test_eval_split_in_order_with_padding_rows(root: Path) -> None:
    out = list(librispeech.batches(root, "validation", 4))
    assert len(out) == 1 and out[0]["weights"].tolist() == [1, 1, 0, 0]  # dev-clean + dev-other
    assert out[0]["input_paddings"][2:].min() == 1


def test_check_counts(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    code, out = data_check("librispeech_conformer", root)
    assert code == 0, out
    assert "train: 4" in out and "validation: 2" in out and "test: 1" in out
    assert "vocab: 30" in out
    (root / librispeech.TOKENIZER).unlink()
    assert "spm_model.vocab is missing" in one_error_line(
        data_check("librispeech_conformer", root)[1]
    )


def test_check_names_missing_and_malformed(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    (root / "dev-other" / "104-0-0000_targets.npy").unlink()
    line = one_error_line(data_check("librispeech_deepspeech", root)[1])
    assert "dev-other/104-0-0000_targets.npy is missing (listed in dev-other.csv)" in line
    (root / "dev-other.csv").write_text("utt\n104-0-0000\n")
    line = one_error_line(data_check("librispeech_deepspeech", root)[1])
    assert "dev-other.csv has no 'id' column" in line
    (root / "test-clean.csv").unlink()
    (root / "dev-other.csv").write_text("id\n")
    np.save(root / "train-clean-100" / "100-0-0000_audio.npy", np.zeros(4, np.float32))
    line = one_error_line(data_check("librispeech_conformer", root)[1])
    assert "100-0-0000_audio.npy holds float32[4], expected a 1-d integer array" in line
