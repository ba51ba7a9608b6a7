from __future__ import annotations

import json

import numpy as np

from conftest import COMMITTED_FIXTURE, PACKAGE
from modelkit.pooling import cosine_rows
from modelkit.reference import build_reference, write_reference


def test_reference_is_deterministic_and_matches_the_committed_fixture(tmp_path):
    first = build_reference(PACKAGE)
    second = write_reference(PACKAGE, tmp_path / "ref.json").read_text(encoding="utf-8")
    assert first == second
    fresh = json.loads(first)
    committed = json.loads(COMMITTED_FIXTURE.read_text(encoding="utf-8"))
    assert [(s["id"], s["text"], s["inputIds"]) for s in fresh["sentences"]] == [
        (s["id"], s["text"], s["inputIds"]) for s in committed["sentences"]
    ]
    a = np.array([s["embedding"] for s in fresh["sentences"]])
    b = np.array([s["embedding"] for s in committed["sentences"]])
    assert cosine_rows(a, b).min() > 0.99999


def test_reference_covers_the_cases_the_encoder_must_handle():
    ref = json.loads(COMMITTED_FIXTURE.read_text(encoding="utf-8"))
    assert ref["maxSeqLength"] == 256 and ref["dimension"] == 384
    assert ref["pooling"] == "mean" and ref["normalize"] is True
    sentences = ref["sentences"]
    assert len(sentences) >= 24
    assert len({s["id"] for s in sentences}) == len(sentences)
    truncated = [s for s in sentences if s["truncated"]]
    assert truncated and all(len(s["inputIds"]) == 256 and s["tokenCount"] > 256 for s in truncated)
    assert any(ord(ch) > 0x2FFF for s in sentences for ch in s["text"])  # CJK / emoji
    assert any("\n" in s["text"] and s["id"].startswith("passage") for s in sentences)  # title + passage
    vectors = np.array([s["embedding"] for s in sentences])
    assert vectors.shape == (len(sentences), 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Different inputs must not collapse to one vector.
    sims = vectors @ vectors.T
    assert sims[np.triu_indices(len(sentences), 1)].max() < 0.99
