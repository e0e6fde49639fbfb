// Reads a config file in the format its extension names, as Traefik does (YAML, TOML; JSON as well, which
// Traefik's parser also reads). A syntax error becomes a ConfigError with file, line and column, and a
// parsed file can point at the line of any path in it, so that schema errors found later say where too.
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { parse as parseToml, TomlError } from 'smol-toml';
import { ConfigError, configIssue, locateIssue, type ConfigIssue, type PathSegment } from './config-error.ts';

export type ConfigFormat = 'yaml' | 'toml' | 'json';

export const CONFIG_EXTENSIONS: Readonly<Record<string, ConfigFormat>> = {
  '.yml': 'yaml',
  '.yaml': 'yaml',
  '.toml': 'toml',
  '.json': 'json',
};

export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

export interface ParsedConfigFile {
  readonly path: string;
  readonly format: ConfigFormat;
  /** The document as plain data; an empty file is `{}` (Traefik accepts an empty dynamic file). */
  readonly document: unknown;
  /**
   * Where a path is in the file: the key of the deepest entry of the path that exists. Keys match
   * case-insensitively when no exact match exists, as Traefik reads keys. Undefined for TOML.
   */
  locate(segments: readonly PathSegment[]): SourcePosition | undefined;
}

/** The format for a file name, from its extension (case-insensitive), or undefined. */
export function configFormatOf(path: string): ConfigFormat | undefined {
  return CONFIG_EXTENSIONS[extname(path).toLowerCase()];
}

/** Reads and parses a config file; throws a ConfigError naming the file (and the line and column of a syntax error). */
export async function readConfigFile(path: string): Promise<ParsedConfigFile> {
  const format = configFormatOf(path);
  if (format === undefined) {
    throw new ConfigError([configIssue([], `unsupported file extension "${extname(path)}" (use .yml, .yaml, .toml or .json)`, { file: path })], path);
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([configIssue([], `cannot read the file: ${describeFsError(err)}`, { file: path })], path);
  }
  return parseConfigText(text, path, format);
}

/** Parses config text; `path` names it in errors and chooses the format when `format` is not given. */
export function parseConfigText(text: string, path: string, format: ConfigFormat | undefined = configFormatOf(path)): ParsedConfigFile {
  if (format === undefined) throw new ConfigError([configIssue([], `unsupported file extension "${extname(path)}" (use .yml, .yaml, .toml or .json)`, { file: path })], path);
  // Editors on Windows save a byte-order mark that no parser here expects.
  const source = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  switch (format) {
    case 'yaml':
      return parseYaml(source, path);
    case 'toml':
      return parseTomlText(source, path);
    case 'json':
      return parseJson(source, path);
  }
}

/** The issues with this file's name and the position of their path attached. */
export function locateIssues(issues: readonly ConfigIssue[], file: ParsedConfigFile): ConfigIssue[] {
  return issues.map((issue) => {
    const position = file.locate(issue.segments);
    return locateIssue(issue, { file: file.path, line: position?.line, column: position?.column });
  });
}

function parseYaml(source: string, path: string): ParsedConfigFile {
  const lineCounter = new LineCounter();
  // merge: Traefik users share blocks with `<<: *anchor`, which go-yaml supports.
  // uniqueKeys: a key written twice is almost always a mistake, and go-yaml rejects it too.
  const doc = parseDocument(source, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((error) => {
      const position = error.linePos?.[0];
      return configIssue([], `invalid YAML: ${firstLine(error.message)}`, { file: path, line: position?.line, column: position?.col });
    });
    throw new ConfigError(issues, path);
  }
  let document: unknown;
  try {
    document = doc.toJS({ maxAliasCount: 10_000 });
  } catch (err) {
    throw new ConfigError([configIssue([], `invalid YAML: ${err instanceof Error ? err.message : String(err)}`, { file: path })], path);
  }
  return { path, format: 'yaml', document: document ?? {}, locate: yamlLocator(doc, lineCounter) };
}

function parseTomlText(source: string, path: string): ParsedConfigFile {
  let document: unknown;
  try {
    document = parseToml(source);
  } catch (err) {
    if (err instanceof TomlError) {
      const reason = firstLine(err.message).replace(/^Invalid TOML document: /, '');
      throw new ConfigError([configIssue([], `invalid TOML: ${reason}`, { file: path, line: err.line, column: err.column })], path);
    }
    throw err;
  }
  return { path, format: 'toml', document, locate: () => undefined };
}

function parseJson(source: string, path: string): ParsedConfigFile {
  let document: unknown;
  try {
    document = source.trim() === '' ? {} : JSON.parse(source);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const position = jsonErrorPosition(message, source);
    const reason = message.replace(/ in JSON at position \d+.*$/, '').replace(/\s*\(line \d+ column \d+\)$/, '');
    throw new ConfigError([configIssue([], `invalid JSON: ${reason}`, { file: path, line: position?.line, column: position?.column })], path);
  }
  // JSON is YAML: the YAML parser gives positions for error messages, built only when one is asked for.
  let locator: ((segments: readonly PathSegment[]) => SourcePosition | undefined) | undefined;
  const locate = (segments: readonly PathSegment[]): SourcePosition | undefined => {
    if (locator === undefined) {
      const lineCounter = new LineCounter();
      locator = yamlLocator(parseDocument(source, { lineCounter, uniqueKeys: false }), lineCounter);
    }
    return locator(segments);
  };
  return { path, format: 'json', document, locate };
}

function yamlLocator(doc: Document, lineCounter: LineCounter): (segments: readonly PathSegment[]) => SourcePosition | undefined {
  return (segments) => {
    let node: unknown = doc.contents;
    let offset: number | undefined = rangeStart(node);
    for (const segment of segments) {
      if (isMap(node)) {
        const pairs = node.items;
        const exact = pairs.find((pair) => isScalar(pair.key) && String(pair.key.value) === String(segment));
        const pair = exact ?? pairs.find((p) => isScalar(p.key) && String(p.key.value).toLowerCase() === String(segment).toLowerCase());
        if (pair === undefined) break;
        offset = rangeStart(pair.key) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item: unknown = node.items[segment];
        if (item === undefined) break;
        offset = rangeStart(item) ?? offset;
        node = item;
      } else {
        break;
      }
    }
    if (offset === undefined) return undefined;
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as YamlNode | null | undefined)?.range;
  return Array.isArray(range) ? range[0] : undefined;
}

function jsonErrorPosition(message: string, source: string): SourcePosition | undefined {
  const lineColumn = /\(line (\d+) column (\d+)\)/.exec(message);
  if (lineColumn?.[1] !== undefined && lineColumn[2] !== undefined) return { line: Number(lineColumn[1]), column: Number(lineColumn[2]) };
  const position = /at position (\d+)/.exec(message);
  if (position?.[1] !== undefined) {
    const offset = Number(position[1]);
    const before = source.slice(0, offset);
    const line = before.split('\n').length;
    return { line, column: offset - before.lastIndexOf('\n') };
  }
  if (/Unexpected end of JSON input/.test(message)) {
    const lines = source.split('\n');
    return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
  }
  return undefined;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '').trim();
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'it is a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    default:
      return err instanceof Error ? err.message : String(err);
  }
}
