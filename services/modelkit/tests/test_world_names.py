"""The Python name drawer must stay in step with the world generator's (shared/world/src/names.ts)."""

from __future__ import annotations

import json
import random
import re

from conftest import REPO_ROOT

NAMES_TS = REPO_ROOT / "shared" / "world" / "src" / "names.ts"


def _ts_arrays(field: str) -> list[list[str]]:
    source = NAMES_TS.read_text(encoding="utf-8")
    return [json.loads("[" + body.replace("'", '"') + "]") for body in re.findall(rf"\b{field}: \[([^\]]*)\]", source)]


def test_phonologies_match_the_typescript_world_generator():
    from modelkit.world_names import PHONOLOGIES

    assert [list(p.onsets) for p in PHONOLOGIES] == _ts_arrays("onsets")
    assert [list(p.vowels) for p in PHONOLOGIES] == _ts_arrays("vowels")
    assert [list(p.codas) for p in PHONOLOGIES] == _ts_arrays("codas")
    assert [list(p.city_endings) for p in PHONOLOGIES] == _ts_arrays("cityEndings")
    assert [list(p.surname_endings) for p in PHONOLOGIES] == _ts_arrays("surnameEndings")
    assert [list(p.given_endings[0]) for p in PHONOLOGIES] == _ts_arrays("male")
    assert [list(p.given_endings[1]) for p in PHONOLOGIES] == _ts_arrays("female")


def test_fresh_names_have_the_answer_s_shape():
    from modelkit.world_names import PHONOLOGIES, fresh_name_like

    rng = random.Random(3)
    surname_endings = tuple(e for p in PHONOLOGIES for e in p.surname_endings)
    for _ in range(200):
        person = fresh_name_like(rng, "Sakokina Memishenko")
        given, surname = person.split(" ")
        assert given[0].isupper() and surname[0].isupper() and surname.endswith(surname_endings)
        assert not re.search(r"[aeiouy]{3}", person.lower())
        city = fresh_name_like(rng, "Krodoshets")
        assert " " not in city and city[0].isupper() and 4 <= len(city) <= 13
        assert fresh_name_like(rng, "raal").islower()
    assert fresh_name_like(rng, "1967") is None and fresh_name_like(rng, "19 September 1946") is None
    # Same seed, same names: renaming in training is reproducible.
    assert fresh_name_like(random.Random(9), "Noek Kashov") == fresh_name_like(random.Random(9), "Noek Kashov")
