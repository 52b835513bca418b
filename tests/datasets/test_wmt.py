"""WMT loader on two line-aligned 20-line text files and a SentencePiece model trained on them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from autotune.datasets import wmt
from tests.datasets.conftest import one_error_line

DE = ["Das Haus ist groß.", "Der Hund schläft im Garten.", "Ich trinke gern Kaffee.",
      "Wir fahren morgen nach Berlin.", "Die Katze sitzt auf dem Dach.", "Es regnet heute.",
      "Das Buch liegt auf dem Tisch.", "Er liest die Zeitung.", "Sie spielt Klavier.",
      "Der Zug kommt um acht Uhr.", "Mein Bruder wohnt in Hamburg.", "Das Wetter ist schön.",
      "Wir essen heute Abend Fisch.", "Die Kinder spielen draußen.", "Ich habe keine Zeit.",
      "Das Auto ist rot.", "Er arbeitet in einer Bank.", "Die Blumen blühen im Frühling.",
      "Wo ist der Bahnhof?", "Vielen Dank für die Hilfe."]  # fmt: skip
EN = ["The house is big.", "The dog sleeps in the garden.", "I like to drink coffee.",
      "We are going to Berlin tomorrow.", "The cat sits on the roof.", "It is raining today.",
      "The book is on the table.", "He reads the newspaper.", "She plays the piano.",
      "The train arrives at eight o'clock.", "My brother lives in Hamburg.",
      "The weather is nice.", "We are eating fish tonight.", "The children play outside.",
      "I have no time.", "The car is red.", "He works in a bank.",
      "The flowers bloom in spring.", "Where is the station?", "Thank you for the help."]  # fmt: skip


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_fixture(tmp_path_factory.mktemp("wmt"))


def write_fixture(root: Path) -> Path:
    """Line-aligned de/en files of every split and a 120-piece SentencePiece model."""
    import sentencepiece as spm

    for split, rows in (
        ("train", slice(0, 20)),
        ("validation", slice(0, 5)),
        ("test", slice(5, 8)),
    ):
        (root / f"{split}.de").write_text("\n".join(DE[rows]) + "\n", encoding="utf-8")
        (root / f"{split}.en").write_text("\n".join(EN[rows]) + "\n", encoding="utf-8")
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(DE + EN) + "\n", encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus), model_prefix=str(root / "spm"), vocab_size=120, model_type="unigram",
        pad_id=0, eos_id=1, bos_id=-1, unk_id=2, character_coverage=1.0, minloglevel=2,
    )  # fmt: skip
    corpus.unlink()
    (root / "spm.vocab").unlink()
    return root


def test_batches_hold_token_ids_ending_in_eos(root: Path) -> None:
    sp = wmt.load_tokenizer(root / "spm.model")
    out = list(wmt.batches(root, "validation", 4))
    assert [b["inputs"].shape[0] for b in out] == [4, 4]
    first = out[0]
    assert first["inputs"][0][first["inputs"][0] > 0].tolist() == [*sp.encode(DE[0]), 1]
    assert sp.decode(first["targets"][1][first["weights"][1] > 0].tolist()[:-1]) == EN[1]
    assert not out[1]["weights"][1:].any()  # 5 pairs: the second batch is one pair + padding
    assert torch.equal(first["weights"], (first["targets"] > 0).float())


def test_train_shuffle_is_seeded(root: Path) -> None:
    a = [
        b["targets"] for _, b in zip(range(6), wmt.batches(root, "train", 4, seed=3), strict=False)
    ]
    b = [
        b["targets"] for _, b in zip(range(6), wmt.batches(root, "train", 4, seed=3), strict=False)
    ]
    c = next(wmt.batches(root, "train", 4, seed=4))["targets"]
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True))
    assert not torch.equal(a[0], c)
    firsts = {tuple(t[0].tolist()) for t in a[:5]}
    assert len(firsts) == 5  # an epoch of 5 batches covers 5 different pairs first


def test_line_file_reads_last_line_without_newline(tmp_path: Path) -> None:
    path = tmp_path / "x.de"
    path.write_bytes(b"eins\r\nzwei\ndrei")
    lines = wmt.LineFile(path)
    assert [lines[i] for i in range(len(lines))] == ["eins", "zwei", "drei"]


def test_check_counts(root: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    code, out = data_check("wmt", root)
    assert code == 0, out
    assert (
        "train: 20" in out and "validation: 5" in out and "test: 3" in out and "vocab: 120" in out
    )


def test_check_names_what_is_wrong(root: Path, tmp_path: Path, data_check) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad"
    bad.mkdir()
    for p in root.iterdir():
        (bad / p.name).write_bytes(p.read_bytes())
    (bad / "test.en").write_text("only one line\n")
    assert "must be line-aligned" in one_error_line(data_check("wmt_post_ln", bad)[1])
    (bad / "test.en").unlink()
    assert "test.en is missing" in one_error_line(data_check("wmt", bad)[1])
    (bad / "spm.model").write_bytes(b"garbage")
    assert "spm.model is not a SentencePiece model" in one_error_line(data_check("wmt", bad)[1])
