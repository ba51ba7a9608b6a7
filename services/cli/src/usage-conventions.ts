import { CommanderError, Help, type Command, type Option } from 'commander';
import { UsageError } from '@rag/core';

/** `rag snapshot build` for a command deep in the tree. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every command of the tree, root first. */
export function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

const baseOptionDescription = Help.prototype.optionDescription;

/**
 * One behaviour for every usage mistake, whichever layer catches it: commander's own errors
 * (unknown option or command, missing or invalid value) become our UsageError, printed as one
 * line with a pointer to the command's --help and exit status 2 - the same as the errors our
 * commands throw - instead of commander's full help page and exit 1. Help marks required options.
 */
export function applyUsageConventions(root: Command): void {
  for (const cmd of allCommands(root)) {
    const where = `./${commandPath(cmd)}`;
    cmd.showHelpAfterError(false)
      // Commander writes its message before calling exitOverride; we print it ourselves, once.
      .configureOutput({ outputError: () => {} })
      .configureHelp({
        optionDescription(this: Help, option: Option) {
          const text = baseOptionDescription.call(this, option);
          return option.mandatory ? `${text} (required)` : text;
        },
      })
      .exitOverride((err: CommanderError) => {
        // --help, --version and a bare command group (help on stderr) are not mistakes in a flag.
        if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') throw err;
        throw new UsageError(err.message.replace(/^error: /, ''), { hint: `see ${where} --help`, cause: err });
      });
  }
}
