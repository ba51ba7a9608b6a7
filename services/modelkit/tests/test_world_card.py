"""The world generator's model card says what it knows; `rag qa run` reads it (shared/generator/src/generator-card.ts)."""

from __future__ import annotations

import json
import re

from conftest import REPO_ROOT
from modelkit.world_export import WORLD_ONLY_KNOWLEDGE


def test_committed_world_generator_card_marks_it_world_only():
    card = json.loads((REPO_ROOT / "models" / "world-generator" / "PROVENANCE.json").read_text())
    assert card["knowledge"] == WORLD_ONLY_KNOWLEDGE


def test_the_typescript_reader_looks_for_the_same_value():
    ts = (REPO_ROOT / "shared" / "generator" / "src" / "generator-card.ts").read_text()
    assert re.search(rf"WORLD_ONLY_KNOWLEDGE = '{re.escape(WORLD_ONLY_KNOWLEDGE)}'", ts)
