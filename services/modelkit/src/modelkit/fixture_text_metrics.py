"""Reference scores for the answer-quality metrics of the paper's other tasks (Lewis et al. 2020, Tables 1-3):
BLEU-1 as sacrebleu computes it (13a tokenizer, max_ngram_order=1) and ROUGE-L as Google's rouge-score computes
it (default tokenizer, no stemming), over a fixed list of awkward strings.

`python -m modelkit text-metrics-fixture` writes test/fixtures/text-metrics-reference.json. shared/eval's
bleu.test.ts and rouge-l.test.ts check the TypeScript metrics against it to four decimals;
tests/test_text_metrics_fixture.py recomputes it, so a fixture that no longer matches the pinned packages fails.

Scores are recorded as each package reports them: sacrebleu's BLEU on its 0-100 scale, rouge-score's precision,
recall and F-measure in [0, 1]. Floats are rounded to SCORE_DECIMALS so the bytes do not depend on the last ulp
of the C library's exp/log.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import platform
from pathlib import Path
from typing import Any

from modelkit.json_io import write_text

FIXTURE_SCHEMA = "rag.text-metrics-reference/v1"
COMMAND = "python -m modelkit text-metrics-fixture"
REPO_ROOT = Path(__file__).resolve().parents[4]
DEFAULT_OUT = REPO_ROOT / "test" / "fixtures" / "text-metrics-reference.json"
REFERENCE_PACKAGES = ("sacrebleu", "rouge-score")
SCORE_DECIMALS = 12

# (id, hypothesis, references). Each case exercises one thing a re-implementation can get wrong.
CASES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("identical", "The cat sat on the mat.", ("The cat sat on the mat.",)),
    ("punctuation", "Hello, world! (really?) Yes; no: maybe...", ("Hello world, really. Yes/no -- maybe!",)),
    ("hyphens", "state-of-the-art, well-known results from 1990-2000", ("state of the art results, well known since 1990 - 2000",)),
    ("numbers", "It cost $1,000.50 in 2019, up 3.5% from 1,200.", ("The cost was 1,000.50 dollars in 2019 , up from 1,200 .",)),
    ("decimals-and-commas", "3.14 vs 3. 14 and .5 and 5. then 1,2,3 and a,b,c.", ("pi is 3.14 , and 1,2,3 counts",)),
    ("digit-dash", "pages 10-20 and x-1 and -5 and 7- 8", ("pages 10 - 20 and x-1 and -5",)),
    ("accents", "Café crème à Zürich — naïve façade, Ærøskøbing", ("café crème in Zurich, naïve facade; Aeroskobing",)),
    ("empty-hypothesis", "", ("a reference with five words",)),
    ("whitespace-only-hypothesis", " \t\n ", ("something",)),
    ("multiple-references", "the quick brown fox", ("a quick brown fox jumps over", "the fast brown fox", "quick fox")),
    ("repeated-words", "the the the the the the the", ("The cat is on the mat.", "There is a cat on the mat.")),
    ("case-differences", "PARIS is the Capital of France", ("Paris is the capital of France",)),
    ("longer-hypothesis", "the capital of France is Paris , a large city on the Seine", ("Paris",)),
    ("closest-length-tie", "one two three", ("one two", "one two three four")),
    ("empty-reference-among-several", "new york city", ("", "New York City is big")),
    ("html-entities", "Tom &amp; Jerry &quot;cartoon&quot; &lt;b&gt; &amp;amp;", ('Tom & Jerry "cartoon" <b>',)),
    ("skipped-and-newlines", "a hyphen-\nated word\nnext line <skipped> end", ("a hyphenated word next line end",)),
    ("trailing-hyphen-newline", "ends with a dash-\n", ("ends with a dash -",)),
    ("unicode-whitespace", "tabs\tand\u00a0nbsp\u2003em\u3000ideographic\u200bzero\ufeffbom\x1cfs\x85nel", ("tabs and nbsp em ideographic zero bom fs nel",)),
    ("apostrophes", "Don't stop: it's O'Neil's 'book' — isn't it?", ("don't stop , it is O'Neil's book",)),
    ("symbols", "x[i]={a|b}~c^d`e@f#g$h%i&j*k+l<m>n=o/p\\q_r", ("x [ i ] = { a | b } ~ c",)),
    ("already-tokenized", "the end .", ("The end.",)),
    ("emoji-and-astral", "I ❤️ 🍕 pizza! 𝔘𝔫𝔦𝔠𝔬𝔡𝔢", ("I love pizza!",)),
    ("greek-cyrillic-case", "ΑΘΗΝΑ Москва İstanbul straße", ("αθηνα москва istanbul STRASSE",)),
    ("rouge-lowercase-quirks", "K Kelvin İzmir ﬁne １２３ ǅemal 12a", ("k kelvin izmir fine 123 dzemal 12 a",)),
    ("rouge-tie-between-references", "a b c d", ("a b", "a b c d e f g h")),
    ("no-overlap", "completely different words", ("nothing shared here",)),
    ("both-empty", "", ("",)),
    ("long-answer", "The Eiffel Tower, completed in 1889, is a wrought-iron lattice tower on the Champ de Mars in Paris, France.", (
        "The Eiffel Tower is a wrought iron lattice tower located on the Champ de Mars in Paris.",
        "Completed in 1889 , the Eiffel Tower stands in Paris , France .",
    )),
)

# Corpus-level BLEU-1 (and mean ROUGE-L) over groups of cases; references of different counts per item are
# padded with None, as sacrebleu expects for a variable number of references.
CORPORA: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("msmarco-like", ("identical", "punctuation", "numbers", "accents", "case-differences", "long-answer")),
    ("variable-reference-counts", ("multiple-references", "repeated-words", "closest-length-tie", "hyphens", "empty-reference-among-several")),
    ("with-empty-hypotheses", ("empty-hypothesis", "identical", "both-empty", "no-overlap")),
    ("all", tuple(case_id for case_id, _, _ in CASES)),
)

# Strings checked for tokenisation only, beyond those in CASES.
EXTRA_TOKENIZE: tuple[str, ...] = (
    "U.S. Route 66, est. 1926.",
    "e.g. 1.5.3 and 1..2 and a..b,,c",
    "-\n",
    "x-\ny",
    "&amp;quot; &AMP; &gt&lt;",
    "trailing spaces and tab \t ",
    "“curly quotes” ‘single’ «guillemets» – en – dash — em",
    "50% off: $9.99/month (US$120/yr)",
)


def reference_versions() -> dict[str, str]:
    """Like versions.toolchain_versions, for the reference packages of this fixture."""
    out = {"python": platform.python_version()}
    for name in REFERENCE_PACKAGES:
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            out[name] = "absent"
    return out


def _round(value: float) -> float:
    return round(float(value), SCORE_DECIMALS) + 0.0


def _bleu(lowercase: bool, sentence: bool):
    from sacrebleu.metrics import BLEU

    # effective_order only matters above order 1; sentence level uses it as sacrebleu.sentence_bleu does.
    return BLEU(max_ngram_order=1, lowercase=lowercase, tokenize="13a", effective_order=sentence)


def _bleu_record(score) -> dict[str, Any]:
    return {
        "score": _round(score.score),
        "matches": int(score.counts[0]),
        "hypLen": int(score.sys_len),
        "refLen": int(score.ref_len),
        "bp": _round(score.bp),
    }


def _rouge_record(score) -> dict[str, float]:
    return {"precision": _round(score.precision), "recall": _round(score.recall), "fmeasure": _round(score.fmeasure)}


def _strings() -> list[str]:
    seen: dict[str, None] = {}
    for _, hyp, refs in CASES:
        for text in (hyp, *refs):
            seen.setdefault(text, None)
    for text in EXTRA_TOKENIZE:
        seen.setdefault(text, None)
    return list(seen)


def token_records() -> list[dict[str, Any]]:
    from rouge_score import rouge_scorer

    cased, lower = _bleu(False, True), _bleu(True, True)
    rouge_tokenizer = rouge_scorer.RougeScorer(["rougeL"])._tokenizer
    # _preprocess_segment is exactly what BLEU scores: optional lowercase, rstrip, then the 13a tokenizer.
    return [
        {
            "text": text,
            "bleu13a": cased._preprocess_segment(text),
            "bleu13aLowercase": lower._preprocess_segment(text),
            "rouge": rouge_tokenizer.tokenize(text),
        }
        for text in _strings()
    ]


def sentence_records() -> list[dict[str, Any]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    cased, lower = _bleu(False, True), _bleu(True, True)
    out = []
    for case_id, hyp, refs in CASES:
        out.append(
            {
                "id": case_id,
                "hypothesis": hyp,
                "references": list(refs),
                "bleu": _bleu_record(cased.sentence_score(hyp, list(refs))),
                "bleuLowercase": _bleu_record(lower.sentence_score(hyp, list(refs))),
                # score_multi keeps the reference with the highest F (the first one on a tie).
                "rougeL": _rouge_record(scorer.score_multi(list(refs), hyp)["rougeL"]),
                "rougeLPerReference": [_rouge_record(scorer.score(ref, hyp)["rougeL"]) for ref in refs],
            }
        )
    return out


def _reference_streams(refs: list[tuple[str, ...]]) -> list[list[str | None]]:
    """Per-item reference lists -> sacrebleu's streams (stream j holds every item's j-th reference or None)."""
    width = max(len(r) for r in refs)
    return [[r[j] if j < len(r) else None for r in refs] for j in range(width)]


def corpus_records() -> list[dict[str, Any]]:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"])
    by_id = {case_id: (hyp, refs) for case_id, hyp, refs in CASES}
    out = []
    for corpus_id, case_ids in CORPORA:
        hyps = [by_id[c][0] for c in case_ids]
        refs = [by_id[c][1] for c in case_ids]
        streams = _reference_streams(refs)
        fs = [scorer.score_multi(list(r), h)["rougeL"].fmeasure for h, r in zip(hyps, refs)]
        out.append(
            {
                "id": corpus_id,
                "cases": list(case_ids),
                "bleu": _bleu_record(_bleu(False, False).corpus_score(hyps, streams)),
                "bleuLowercase": _bleu_record(_bleu(True, False).corpus_score(hyps, streams)),
                "rougeLMean": _round(sum(fs) / len(fs)),
            }
        )
    return out


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def dumps_fixture(header: dict[str, Any], sections: dict[str, list[dict[str, Any]]]) -> str:
    """Pretty header, then each section's records one per line (a changed score shows as a one-line diff)."""
    lines = ["{"]
    for key, value in header.items():
        lines.append(f"  {json.dumps(key)}: {_compact(value)},")
    for n, (key, records) in enumerate(sections.items()):
        body = ",\n".join("    " + _compact(r) for r in records)
        comma = "," if n < len(sections) - 1 else ""
        lines.append(f"  {json.dumps(key)}: [\n{body}\n  ]{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def build_text_metrics_fixture() -> str:
    """The fixture text (deterministic for the pinned sacrebleu / rouge-score)."""
    header = {
        "schema": FIXTURE_SCHEMA,
        "generator": {"command": COMMAND, **reference_versions()},
        "bleu": "sacrebleu BLEU(max_ngram_order=1, tokenize='13a'); score on sacrebleu's 0-100 scale; "
        "sentence_score per case, corpus_score per corpus",
        "rougeL": "rouge_score RougeScorer(['rougeL'], use_stemmer=False); score_multi over the references "
        "(highest F-measure wins, the first on a tie); rougeLMean is the mean F-measure over a corpus' cases",
    }
    sections = {"tokens": token_records(), "sentences": sentence_records(), "corpora": corpus_records()}
    return dumps_fixture(header, sections)


def write_text_metrics_fixture(out: Path = DEFAULT_OUT) -> dict[str, Any]:
    text = build_text_metrics_fixture()
    write_text(out, text)
    fixture = json.loads(text)
    return {"out": str(out), "sentences": len(fixture["sentences"]), "corpora": len(fixture["corpora"]), "generator": fixture["generator"]}
