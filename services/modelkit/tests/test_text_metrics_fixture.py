"""test/fixtures/text-metrics-reference.json is what the pinned sacrebleu and rouge-score compute today: a fixture
recorded with other versions, or by hand, fails here before shared/eval's tests trust it."""

from __future__ import annotations

import json

from conftest import REPO_ROOT
from modelkit.fixture_text_metrics import (
    CASES,
    DEFAULT_OUT,
    build_text_metrics_fixture,
    reference_versions,
    write_text_metrics_fixture,
)

COMMITTED = REPO_ROOT / "test" / "fixtures" / "text-metrics-reference.json"
REGENERATE = "regenerate with: services/modelkit/.venv/bin/python -m modelkit text-metrics-fixture"


def _committed() -> dict:
    return json.loads(COMMITTED.read_text(encoding="utf-8"))


def test_committed_fixture_equals_a_fresh_recomputation():
    fresh = json.loads(build_text_metrics_fixture())
    committed = _committed()
    assert fresh["generator"] == committed["generator"], REGENERATE
    for section in ("tokens", "sentences", "corpora"):
        assert len(fresh[section]) == len(committed[section]), f"{section}: {REGENERATE}"
        for new, old in zip(fresh[section], committed[section]):
            assert new == old, f"{section} {old.get('id', old.get('text'))!r} is stale; {REGENERATE}"
    assert fresh == committed


def test_recorded_scores_are_the_packages_own_numbers():
    """Spot-check the fixture against direct calls, independent of the recorder's plumbing."""
    from rouge_score import rouge_scorer
    from sacrebleu.metrics import BLEU

    fixture = _committed()
    bleu = BLEU(max_ngram_order=1, effective_order=True)
    scorer = rouge_scorer.RougeScorer(["rougeL"])
    for case in fixture["sentences"]:
        got = bleu.sentence_score(case["hypothesis"], case["references"])
        assert abs(got.score - case["bleu"]["score"]) < 1e-9, case["id"]
        assert got.counts[0] == case["bleu"]["matches"], case["id"]
        best = max(scorer.score(ref, case["hypothesis"])["rougeL"].fmeasure for ref in case["references"])
        assert abs(best - case["rougeL"]["fmeasure"]) < 1e-9, case["id"]


def test_fixture_covers_the_tricky_cases():
    fixture = _committed()
    assert fixture["generator"] == {"command": "python -m modelkit text-metrics-fixture", **reference_versions()}
    ids = {c["id"] for c in fixture["sentences"]}
    for needed in ("punctuation", "hyphens", "numbers", "accents", "empty-hypothesis", "multiple-references",
                   "repeated-words", "case-differences"):
        assert needed in ids
    assert len(ids) == len(CASES)
    assert any(len(c["references"]) > 2 for c in fixture["sentences"])
    assert any(0 < c["bleu"]["bp"] < 1 for c in fixture["sentences"])  # the brevity penalty is exercised
    assert any(c["bleu"]["score"] != c["bleuLowercase"]["score"] for c in fixture["sentences"])


def test_writer_writes_the_built_text(tmp_path):
    out = tmp_path / "metrics.json"
    summary = write_text_metrics_fixture(out)
    assert out.read_text(encoding="utf-8") == build_text_metrics_fixture()
    assert summary["sentences"] == len(CASES)
    assert DEFAULT_OUT == COMMITTED
