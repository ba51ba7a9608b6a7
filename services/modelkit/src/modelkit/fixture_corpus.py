"""The fixed text of the hf-rag reference fixtures: passages, questions, gold answers.

Written for these fixtures. Two passages carry deliberate quirks that HF's RagRetriever handles and
a TypeScript port must copy: a quoted title (quotes are stripped) and a double space in the body
(collapsed to one in the generator input).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answer: str


PASSAGES: tuple[Passage, ...] = (
    Passage("p0", "Paris", "Paris is the capital of France. The Seine river flows through the city."),
    Passage("p1", "Berlin", "Berlin is the capital of Germany. The Spree river flows through the city."),
    Passage("p2", "Rome", "Rome is the capital of Italy. The Tiber river flows through the city."),
    Passage("p3", "Madrid", "Madrid is the capital of Spain. It is the largest city in the country."),
    Passage("p4", "Seine", "The Seine is a river in France. It flows into the English Channel."),
    Passage("p5", '"Danube"', "The Danube is a long river in Europe. It flows into the Black Sea."),
    Passage("p6", "Mont Blanc", "Mont Blanc is the highest mountain in the Alps. It lies between France and Italy."),
    Passage("p7", "Eiffel Tower", "The Eiffel Tower is a tower in Paris. It was built in  1889."),
)

QUESTIONS: tuple[Question, ...] = (
    Question("q0", "What is the capital of France?", "Paris"),
    Question("q1", "Which river flows through Berlin?", "Spree"),
    Question("q2", "Where does the Danube flow into?", "the Black Sea"),
    Question("q3", "When was the Eiffel Tower built?", "1889"),
)

# WordPiece pieces: these words are left out of the question-encoder vocabulary so that the
# tokenizer must split them (exercises "##" continuation pieces in a TypeScript port).
WORDPIECE_SPLITS: dict[str, tuple[str, ...]] = {
    "flows": ("flow", "##s"),
    "largest": ("large", "##st"),
    "highest": ("high", "##est"),
    "mountain": ("mount", "##ain"),
}
