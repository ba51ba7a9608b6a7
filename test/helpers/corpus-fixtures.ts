import { writeFileSync } from 'node:fs';

/**
 * A small plain-text corpus with distinct topics, so that search has a right answer.
 * Each document is long enough for several 100-word passages.
 */
export function writeTopicCorpus(path: string, docs = 12): { titles: string[] } {
  const topics = [
    ['Volcano', 'magma lava eruption crater ash tectonic plate pyroclastic flow caldera basalt'],
    ['Honeybee', 'hive pollen nectar queen worker drone wax comb colony swarm'],
    ['Lighthouse', 'beacon lamp lens keeper coast ship signal tower fog rocks'],
    ['Chess', 'king queen rook bishop knight pawn checkmate opening gambit endgame'],
    ['Glacier', 'ice snow moraine crevasse meltwater valley fjord iceberg polar advance'],
    ['Violin', 'strings bow bridge fingerboard orchestra sonata tuning pegs rosin concerto'],
    ['Bread', 'flour yeast dough oven crust knead loaf sourdough bake rise'],
    ['Comet', 'nucleus coma tail orbit sun dust ice periodic perihelion astronomer'],
    ['Submarine', 'hull periscope sonar ballast torpedo dive depth navy crew pressure'],
    ['Orchid', 'petal bloom epiphyte tropical flower pollinator seed greenhouse species stem'],
    ['Railway', 'track locomotive station signal freight passenger gauge sleeper carriage timetable'],
    ['Coral reef', 'polyp algae lagoon atoll bleaching fish snorkel limestone tropical ocean'],
  ];
  const lines: string[] = [];
  const titles: string[] = [];
  for (let d = 0; d < docs; d++) {
    const [title, vocab] = topics[d % topics.length]!;
    const words = vocab!.split(' ');
    const t = d < topics.length ? title! : `${title} ${Math.floor(d / topics.length) + 1}`;
    titles.push(t);
    const sentences: string[] = [];
    for (let s = 0; s < 30; s++) {
      const a = words[(s * 3 + d) % words.length];
      const b = words[(s * 7 + 1) % words.length];
      const c = words[(s * 5 + 2) % words.length];
      sentences.push(`The ${t.toLowerCase()} article sentence ${s} mentions ${a}, ${b} and ${c} in detail.`);
    }
    lines.push(JSON.stringify({ id: `doc${d}`, title: t, text: sentences.join(' ') }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
  return { titles };
}
