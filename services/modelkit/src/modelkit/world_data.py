"""Training data from a synthetic world: questions.jsonl + published snapshots in local storage.

The snapshot is the contract: passages and their (frozen) vectors are read exactly as the
pipeline published them, never re-split or re-encoded here.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelkit.errors import UsageError

YEARS = ("2016", "2018")
# How HF RAG joins a retrieved passage and the question for the generator
# (RagConfig.title_sep / doc_sep); the runtime must build inputs the same way.
TITLE_SEP = " / "
DOC_SEP = " // "
_CAPITALISED = re.compile(r"[A-Z][\w'\u2019-]+")


@dataclass
class Snapshot:
    snapshot_id: str
    ids: list[str]
    titles: list[str]
    texts: list[str]
    vectors: np.ndarray  # float32 [passages, dim], L2-normalised by the passage encoder
    storage: Path | None = None  # the storage root it was read from (its manifest names the encoder)

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class WorldQuestion:
    qid: str
    question: str
    answers: dict[str, list[str]]
    qtype: str
    relation: str

    @property
    def changed(self) -> bool:
        """The gold answer differs between the years."""
        golds = [sorted(a) for a in self.answers.values()]
        return any(g != golds[0] for g in golds[1:])


@dataclass
class Example:
    """One (question, year) pair; `positives` index passages of that year's snapshot."""

    question: WorldQuestion
    year: str
    answer: str
    positives: list[int] = field(default_factory=list)


def load_snapshot(storage: Path, snapshot_id: str) -> Snapshot:
    root = Path(storage) / "snapshots" / snapshot_id
    manifest_path = root / "manifest.json"
    if not manifest_path.is_file():
        raise UsageError(
            f"no snapshot manifest at {manifest_path}",
            hint=f"build it first: RAG_STORAGE={storage} ./rag snapshot build --source <dump> --snapshot {snapshot_id}",
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    if manifest.get("status") != "ready":
        raise UsageError(f"snapshot {snapshot_id} is not ready ({manifest.get('status')})", hint="rebuild the snapshot")
    dim = int(manifest["dim"])
    ids: list[str] = []
    titles: list[str] = []
    texts: list[str] = []
    blocks: list[np.ndarray] = []
    for shard in sorted(manifest["shards"], key=lambda s: s["shard"]):
        storage_root = Path(storage)
        for line in (storage_root / shard["passagesKey"]).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            ids.append(rec["id"])
            titles.append(rec["title"])
            texts.append(rec["text"])
        vec = np.fromfile(storage_root / shard["embeddingsKey"], dtype="<f4").reshape(-1, dim)
        blocks.append(vec)
    vectors = np.ascontiguousarray(np.concatenate(blocks, axis=0), dtype=np.float32)
    if vectors.shape[0] != len(ids):
        raise UsageError(
            f"snapshot {snapshot_id}: {len(ids)} passages but {vectors.shape[0]} vectors",
            hint="the snapshot is corrupt; rebuild it",
        )
    return Snapshot(snapshot_id, ids, titles, texts, vectors, Path(storage))


def load_questions(path: Path) -> list[WorldQuestion]:
    out: list[WorldQuestion] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            out.append(WorldQuestion(rec["id"], rec["question"], rec["answers"], rec["type"], rec["relation"]))
    return out


def question_entities(question: str) -> list[str]:
    """Capitalised words after the first: the named entities a question is about."""
    words = _CAPITALISED.findall(question)
    return [w for w in words[1:] if len(w) > 1]


def generator_input(title: str, text: str, question: str) -> str:
    return f"{title}{TITLE_SEP}{text}{DOC_SEP}{question}"


def find_positives(snapshot: Snapshot, question: WorldQuestion, year: str, limit: int = 4) -> list[int]:
    """Passages of `snapshot` holding a gold answer of `year` and an entity of the question.

    Passages whose title is named in the question come first (the entity's own article).
    Questions that need two passages (e.g. "the country whose capital is X") usually have none.
    """
    answers = question.answers[year]
    entities = question_entities(question.question)
    if not entities:
        return []
    scored: list[tuple[int, int]] = []
    for i, (title, text) in enumerate(zip(snapshot.titles, snapshot.texts)):
        if not any(a in text for a in answers):
            continue
        in_title = any(e in title for e in entities)
        if not in_title and not any(e in text for e in entities):
            continue
        # Prefer the title match, then the canonical (first) answer.
        scored.append((0 if in_title else 1, 0 if answers[0] in text else 1, i))
    scored.sort()
    return [i for *_, i in scored[:limit]]


def build_examples(snapshots: dict[str, Snapshot], questions: list[WorldQuestion], years=YEARS) -> list[Example]:
    out: list[Example] = []
    for year in years:
        snap = snapshots[year]
        for q in questions:
            out.append(Example(q, year, q.answers[year][0], find_positives(snap, q, year)))
    return out


@dataclass
class WorldSplit:
    """One world seed: both years' snapshots and its (question, year) examples."""

    seed: int
    snapshots: dict[str, Snapshot]
    examples: list[Example]


def load_world(world_dir: Path, seed: int, years=YEARS, max_questions: int | None = None) -> WorldSplit:
    world_dir = Path(world_dir)
    snapshots = {y: load_snapshot(world_dir / "storage", f"world-{y}") for y in years}
    questions = load_questions(world_dir / "questions.jsonl")
    if max_questions is not None:
        questions = questions[:max_questions]
    return WorldSplit(seed, snapshots, build_examples(snapshots, questions, years))
