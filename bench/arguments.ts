/** The benchmark scripts' command-line options: `--name value` and bare `--flag`. */
const argumentsList = process.argv.slice(2);

/** The value after `--name`, or null when the option is not given. */
export function textOption(name: string): string | null {
  const index = argumentsList.indexOf(`--${name}`);
  return index >= 0 ? (argumentsList[index + 1] ?? null) : null;
}

/** The number after `--name` (NaN when it is not one), or `fallback` when the option is not given. */
export function numberOption(name: string, fallback: number): number {
  const text = textOption(name);
  return text === null ? fallback : Number(text);
}

export function flag(name: string): boolean {
  return argumentsList.includes(`--${name}`);
}
