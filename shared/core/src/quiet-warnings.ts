/**
 * Drops the AWS SDK's notice that future releases will need Node 22: it is about SDK
 * versions we do not use yet and would otherwise break one-line CLI errors. Import first.
 */
const original = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const text = typeof warning === 'string' ? warning : `${warning.name} ${warning.message}`;
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (/NodeVersionSupportWarning/.test(text) || type === 'NodeVersionSupportWarning') return;
  (original as (...a: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;
export {};
