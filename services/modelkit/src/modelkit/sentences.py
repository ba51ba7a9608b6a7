"""Reference inputs for encoder conformance, written for this project.

They cover what the pipeline will feed the encoder: short queries, 100-word passages
with a title, text longer than max_seq_length (truncation), non-Latin scripts,
numbers and punctuation. Order and text are part of the fixture contract: append only.
"""

from __future__ import annotations

_VOLCANO = (
    "Volcano\n"
    "A volcano is an opening in a planet's crust through which molten rock, ash and gases "
    "escape from below the surface. Most volcanoes on Earth sit along the edges of tectonic "
    "plates, where one plate sinks beneath another or where two plates pull apart. Eruptions "
    "range from slow flows of fluid lava, as seen on many oceanic islands, to violent "
    "explosions that throw ash high into the stratosphere and can cool the climate for "
    "several years. Scientists monitor ground swelling, small earthquakes and gas emissions "
    "to estimate when an eruption may begin, although precise forecasts remain difficult."
)

_HONEY_BEE = (
    "Honey bee\n"
    "Honey bees are social insects that live in colonies of a single queen, many thousands "
    "of female workers and, during the warmer months, a few hundred males called drones. "
    "Workers collect nectar and pollen from flowers, turn the nectar into honey, and store "
    "it in wax cells that they build themselves. A returning forager can tell her sisters "
    "where food is found by performing a waggle dance whose angle and duration encode the "
    "direction and distance of the source. Beekeeping has been practised for thousands of "
    "years, and managed colonies now pollinate a large share of the world's crops."
)

_LIGHTHOUSE = (
    "Harbour Point Lighthouse\n"
    "The Harbour Point Lighthouse is a fictional stone tower used here as test material. "
    "Construction began in 1871 after two cargo ships ran aground on the reef during a winter "
    "storm. The tower stands 34 metres tall and its original lamp burned whale oil before it "
    "was converted to kerosene in 1904 and to electricity in 1952. A keeper and two assistants "
    "lived on site until the light was automated in 1987. Today the building houses a small "
    "museum with logbooks, lenses and photographs, and visitors can climb 162 steps to the "
    "lantern room on clear days between April and October."
)

# A long article-like text: well above 256 word pieces, so truncation is exercised.
_LONG_RIVER = (
    "Silverbend River\n"
    "The Silverbend is an imaginary river invented for testing text encoders. It rises in a "
    "high moorland basin fed by snowmelt and several small springs, then descends through a "
    "narrow gorge where the water has cut more than two hundred metres into layered sandstone. "
    "Below the gorge the valley widens, and the river meanders across a broad floodplain "
    "farmed for wheat, barley, potatoes and sugar beet. Medieval settlers built water mills "
    "at every second bend, and the remains of fourteen mill races can still be traced in the "
    "fields. During the industrial period a canal was dug parallel to the lower river so that "
    "barges could carry coal, lime and timber to the coast without waiting for high water. "
    "The canal fell out of use after a railway opened along the same route, and most locks "
    "were filled in, although a restored section near the estuary is now popular with "
    "walkers and anglers. The river supports brown trout in its upper reaches and grayling, "
    "chub and barbel further downstream; otters returned in the late twentieth century after "
    "pollution controls improved water quality. Flooding remains a concern for the market "
    "towns on the floodplain, and engineers have built embankments, storage basins and a "
    "relief channel that diverts peak flows around the largest town. Annual rainfall in the "
    "catchment varies from about eight hundred millimetres near the coast to more than two "
    "thousand millimetres on the moors, which explains the rapid rise of the river after "
    "autumn storms. Local historians have collected records of great floods going back five "
    "centuries, including marks carved into church walls showing the height the water "
    "reached. A long distance footpath now follows the river from source to sea, passing "
    "through villages, woodland, old quarries and salt marshes, and it takes most walkers "
    "about a week to complete."
)

REFERENCE_SENTENCES: list[tuple[str, str]] = [
    ("short-word", "photosynthesis"),
    ("short-greeting", "Hello, world!"),
    ("query-lowercase", "who wrote the novel about the white whale"),
    ("query-question", "When did the first powered flight take place?"),
    ("query-nq-style", "how many moons does the planet jupiter have"),
    ("numbers-date", "On 2016-03-01 the temperature dropped to -12.5 degrees at 06:45, a 40-year low."),
    ("numbers-large", "The bridge cost $4,250,000,000 and carries 118,000 vehicles per day across 2.7 km."),
    ("math-symbols", "The ratio \u03c0 \u2248 3.14159 and Euler's number e \u2248 2.71828 appear in many formulas."),
    ("accents-latin", "Caf\u00e9 au lait, na\u00efve fa\u00e7ade, and Z\u00fcrich's \u00e9cole on the Stra\u00dfe."),
    ("accents-decomposed", "e\u0301cole, cafe\u0301 and nai\u0308ve written with combining marks"),
    ("cjk-japanese", "\u6771\u4eac\u306f\u65e5\u672c\u306e\u9996\u90fd\u3067\u3001\u4eba\u53e3\u304c\u591a\u3044\u90fd\u5e02\u3067\u3059\u3002"),
    ("cjk-chinese", "\u957f\u57ce\u662f\u4e2d\u56fd\u53e4\u4ee3\u7684\u9632\u5fa1\u5de5\u7a0b\u3002"),
    ("cyrillic", "\u041c\u043e\u0441\u043a\u0432\u0430 \u2014 \u043a\u0440\u0443\u043f\u043d\u0435\u0439\u0448\u0438\u0439 \u0433\u043e\u0440\u043e\u0434 \u0420\u043e\u0441\u0441\u0438\u0438."),
    ("arabic", "\u0627\u0644\u0644\u063a\u0629 \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0644\u063a\u0629 \u062c\u0645\u064a\u0644\u0629"),
    ("devanagari", "\u0939\u093f\u0928\u094d\u0926\u0940 \u092d\u093e\u0930\u0924 \u0915\u0940 \u090f\u0915 \u092d\u093e\u0937\u093e \u0939\u0948\u0964"),
    ("emoji", "I love pizza \U0001f355 and tacos \U0001f32e, but not on Mondays \U0001f605!"),
    ("all-caps", "BREAKING NEWS: RIVER FLOODS VALLEY AFTER RECORD RAINFALL"),
    ("punctuation", "Wait... what?! (Really?) \u2014 yes; no: maybe [citation needed]."),
    ("whitespace", "  leading spaces,\ttabs\tand\n\nblank lines   inside  the text  "),
    ("code", "def add(a, b):\n    return a + b  # returns the sum"),
    ("url-email", "Write to support@example.org or open https://example.org/docs?page=2#install."),
    ("repetition", "buffalo " * 12),
    ("people", "Marie Curie won Nobel Prizes in Physics (1903) and Chemistry (1911)."),
    ("passage-volcano", _VOLCANO),
    ("passage-honey-bee", _HONEY_BEE),
    ("passage-lighthouse", _LIGHTHOUSE),
    ("long-river", _LONG_RIVER),
    ("long-concatenated", "\n\n".join([_VOLCANO, _HONEY_BEE, _LONG_RIVER])),
]


def reference_texts() -> list[str]:
    return [text for _, text in REFERENCE_SENTENCES]
