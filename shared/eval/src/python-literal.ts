/**
 * Parses a Python list-of-strings literal, as DPR writes its answers column (`['a', "b's"]`): single or double
 * quotes, backslash escapes, optional trailing comma. Returns null for anything else.
 */
export function parsePythonStringList(src: string): string[] | null {
  let i = 0;
  const ws = () => { while (i < src.length && /\s/.test(src[i]!)) i++; };
  const str = (): string | null => {
    let q = src[i];
    if (q === 'u' || q === 'U') { i++; q = src[i]; } // u'...' from Python 2 era dumps
    if (q !== "'" && q !== '"') return null;
    i++;
    let out = '';
    while (i < src.length) {
      const c = src[i]!;
      if (c === q) { i++; return out; }
      if (c === '\\') {
        const e = src[i + 1];
        if (e === undefined) return null;
        const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"', '0': '\0' };
        if (e in simple) { out += simple[e]; i += 2; continue; }
        const hex = e === 'x' ? 2 : e === 'u' ? 4 : e === 'U' ? 8 : 0;
        if (hex) {
          const h = src.slice(i + 2, i + 2 + hex);
          if (!new RegExp(`^[0-9a-fA-F]{${hex}}$`).test(h)) return null;
          out += String.fromCodePoint(parseInt(h, 16));
          i += 2 + hex;
          continue;
        }
        out += c + e; // Python keeps unknown escapes verbatim
        i += 2;
        continue;
      }
      out += c;
      i++;
    }
    return null;
  };
  ws();
  if (src[i] !== '[') return null;
  i++;
  const items: string[] = [];
  ws();
  if (src[i] === ']') { i++; ws(); return i === src.length ? items : null; }
  for (;;) {
    ws();
    const s = str();
    if (s === null) return null;
    items.push(s);
    ws();
    if (src[i] === ',') {
      i++;
      ws();
      if (src[i] === ']') { i++; break; }
      continue;
    }
    if (src[i] === ']') { i++; break; }
    return null;
  }
  ws();
  return i === src.length ? items : null;
}
