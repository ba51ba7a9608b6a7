"""Made-up names drawn like the world generator draws them (shared/world/src/names.ts).

Renaming answers during training only teaches copying if the new names break into the same
BPE pieces as the names of an unseen world; names from another syllable inventory split into
pieces the held-out world never uses. So this mirrors the TypeScript phonologies.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Phonology:
    onsets: tuple[str, ...]
    vowels: tuple[str, ...]
    codas: tuple[str, ...]
    city_endings: tuple[str, ...]
    surname_endings: tuple[str, ...]
    given_endings: tuple[tuple[str, ...], tuple[str, ...]]  # male, female


PHONOLOGIES = (
    Phonology(("b", "c", "d", "f", "l", "m", "n", "p", "r", "s", "t", "v", "br", "tr", "gr", "cl"),
              ("a", "e", "i", "o", "u", "a", "e", "o"), ("", "", "", "n", "r", "l", "s"),
              ("a", "ino", "essa", "ona", "ento", "ara"), ("ini", "ez", "ari", "eira", "ano", "elli"),
              (("o", "io", "an", "el"), ("a", "ia", "ina", "ela"))),
    Phonology(("b", "d", "f", "g", "h", "k", "l", "m", "n", "r", "s", "t", "v", "sk", "st", "th"),
              ("a", "e", "i", "o", "u", "y", "ei", "a"), ("", "n", "r", "l", "k", "rd", "nd", ""),
              ("holm", "vik", "by", "stad", "berg", "fjord"), ("sen", "son", "berg", "dahl", "strom", "lund"),
              (("ar", "ulf", "ik", "en"), ("a", "hild", "rid", "ny"))),
    Phonology(("b", "d", "g", "k", "m", "n", "p", "r", "s", "t", "v", "z", "zh", "sl", "dr", "kr"),
              ("a", "e", "i", "o", "u", "ya", "a", "o"), ("", "", "v", "k", "n", "sh", "r"),
              ("grad", "ovo", "ets", "insk", "ava", "itsa"), ("ov", "enko", "escu", "ic", "ski", "ovic"),
              (("an", "ir", "ek", "omir"), ("a", "ina", "ka", "ena"))),
    Phonology(("h", "k", "l", "m", "n", "p", "t", "w", "ng", "r"),
              ("a", "e", "i", "o", "u", "ai", "au", "ei"), ("", "", "", "n"),
              ("ika", "ono", "ea", "iri", "apu", "ola"), ("aka", "ori", "ane", "ulu", "eka", "ita"),
              (("o", "u", "ai", "eke"), ("a", "e", "ani", "ina"))),
)
_CURRENCY_ENDINGS = ("ar", "en", "o", "ka", "ira", "mark", "al", "et")
_VOWEL = re.compile(r"[aeiouy]")


def _join(stem: str, ending: str) -> str:
    """"Tomo" + "ia" -> "Tomia": no stacked vowels at the seam."""
    if ending and _VOWEL.match(ending[0]):
        while len(stem) > 2 and _VOWEL.match(stem[-1]):
            stem = stem[:-1]
    return stem + ending


def _stem(rng: random.Random, p: Phonology, lo: int, hi: int) -> str:
    n = rng.randint(lo, hi)
    return "".join(rng.choice(p.onsets) + rng.choice(p.vowels) + (rng.choice(p.codas) if i == n - 1 or rng.random() < 0.3 else "") for i in range(n))


def _readable(name: str, lo: int, hi: int) -> bool:
    lower = name.lower()
    return (lo <= len(name) <= hi and not re.search(r"[^aeiouy\s]{4}", lower)
            and not re.search(r"(.)\1\1", lower) and not re.search(r"[aeiouy]{3}", lower))


def _draw(make, lo: int, hi: int) -> str:
    while True:
        name = make()
        if _readable(name, lo, hi):
            return name


def person_name(rng: random.Random, p: Phonology | None = None) -> str:
    p = p or rng.choice(PHONOLOGIES)
    endings = p.given_endings[rng.randrange(2)]
    given = _draw(lambda: _join(_stem(rng, p, 1, 2), rng.choice(endings)).capitalize(), 3, 10)
    return f"{given} {_draw(lambda: _join(_stem(rng, p, 1, 2), rng.choice(p.surname_endings)).capitalize(), 4, 12)}"


def city_name(rng: random.Random, p: Phonology | None = None) -> str:
    p = p or rng.choice(PHONOLOGIES)
    return _draw(lambda: _join(_stem(rng, p, 1, 2), rng.choice(p.city_endings)).capitalize(), 4, 13)


def currency_unit(rng: random.Random, p: Phonology | None = None) -> str:
    p = p or rng.choice(PHONOLOGIES)
    return _draw(lambda: _join(_stem(rng, p, 1, 1), rng.choice(_CURRENCY_ENDINGS)), 3, 9)


def fresh_name_like(rng: random.Random, answer: str) -> str | None:
    """A made-up name of the same kind as `answer` (person, place, currency unit); None for
    numbers and dates, which are copied digit pieces the model sees in every world."""
    if any(ch.isdigit() for ch in answer):
        return None
    words = answer.split(" ")
    if len(words) == 2 and all(w[:1].isupper() for w in words):
        return person_name(rng)
    out = []
    for w in words:
        if not w[:1].isupper():
            out.append(currency_unit(rng))
        else:
            out.append(city_name(rng))
    return " ".join(out)
