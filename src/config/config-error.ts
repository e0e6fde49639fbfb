// One shape for every problem a config can have (parse, schema, cross-reference, duplicate across files),
// so that the CLI, the gateway's API and its metrics report them the same way: a path in the document,
// what is wrong there, and where in which file when that is known.

/** A segment of a path in a config document: an object key or an array index. */
export type PathSegment = string | number;

export interface ConfigIssue {
  /** The path in the document, dotted with brackets: `http.services.api.loadBalancer.servers[0].url`; '' for the whole document. */
  readonly path: string;
  /** The same path as segments, for tools that walk the document. */
  readonly segments: readonly PathSegment[];
  /** What is wrong, without the path: `expected a string, found 42`. */
  readonly detail: string;
  /** `path: detail` (or `detail` alone for the whole document): the line a user reads. */
  readonly message: string;
  readonly file?: string;
  /** 1-based, when the format lets us know it (YAML and JSON). */
  readonly line?: number;
  readonly column?: number;
}

export interface IssueLocation {
  readonly file?: string;
  readonly line?: number;
  readonly column?: number;
}

// A key prints bare when it cannot be confused with the path syntax; otherwise it is quoted in brackets.
const bareKey = /^[A-Za-z0-9_$-]+$/;

/** Formats path segments as `a.b[0].c`, quoting keys that contain dots, spaces or brackets: `routers["a.b"]`. */
export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (bareKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function configIssue(segments: readonly PathSegment[], detail: string, location: IssueLocation = {}): ConfigIssue {
  const path = formatPath(segments);
  return {
    path,
    segments: [...segments],
    detail,
    message: path === '' ? detail : `${path}: ${detail}`,
    ...(location.file !== undefined ? { file: location.file } : {}),
    ...(location.line !== undefined ? { line: location.line } : {}),
    ...(location.column !== undefined ? { column: location.column } : {}),
  };
}

/** The issue with a file (and position) attached, keeping what it already had. */
export function locateIssue(issue: ConfigIssue, location: IssueLocation): ConfigIssue {
  return configIssue(issue.segments, issue.detail, {
    file: issue.file ?? location.file,
    line: issue.line ?? location.line,
    column: issue.column ?? location.column,
  });
}

/** `file:line:column: message`, with whatever part of the location is known. */
export function formatIssue(issue: ConfigIssue, defaultFile?: string): string {
  const file = issue.file ?? defaultFile;
  if (file === undefined) return issue.message;
  let where = file;
  if (issue.line !== undefined) where += `:${issue.line}`;
  if (issue.line !== undefined && issue.column !== undefined) where += `:${issue.column}`;
  return `${where}: ${issue.message}`;
}

/**
 * A config that cannot be used, with every reason found (not only the first), so that one run of the
 * gateway or of `stampgate gateway --check` shows everything to fix.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];
  /** The file (or directory) the config came from; issues may name files inside a directory themselves. */
  readonly file: string | undefined;

  /** The issues are kept in document order: by file (first seen first), then line and column. */
  constructor(issues: readonly ConfigIssue[], file?: string) {
    const sorted = sortIssues(issues);
    super(formatIssues(sorted, file));
    this.issues = sorted;
    this.file = file;
  }

  /** One line per issue, each prefixed with its file and position; a heading when there are several. */
  format(): string {
    return formatIssues(this.issues, this.file);
  }

  /** For the gateway's API: plain data, no stack. */
  toJSON(): { file?: string; issues: ConfigIssue[] } {
    return { ...(this.file !== undefined ? { file: this.file } : {}), issues: [...this.issues] };
  }
}

/** A stable sort into reading order; issues without a line keep their order after those with one. */
export function sortIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  const fileOrder = new Map<string | undefined, number>();
  for (const issue of issues) if (!fileOrder.has(issue.file)) fileOrder.set(issue.file, fileOrder.size);
  return issues
    .map((issue, index) => ({ issue, index }))
    .sort((a, b) => {
      const byFile = (fileOrder.get(a.issue.file) ?? 0) - (fileOrder.get(b.issue.file) ?? 0);
      if (byFile !== 0) return byFile;
      const byLine = (a.issue.line ?? Infinity) - (b.issue.line ?? Infinity);
      if (byLine !== 0 && !Number.isNaN(byLine)) return byLine;
      const byColumn = (a.issue.column ?? 0) - (b.issue.column ?? 0);
      return byColumn !== 0 && a.issue.line === b.issue.line ? byColumn : a.index - b.index;
    })
    .map(({ issue }) => issue);
}

function formatIssues(issues: readonly ConfigIssue[], file: string | undefined): string {
  if (issues.length === 0) return `${file ?? 'config'}: invalid configuration`;
  if (issues.length === 1 && issues[0] !== undefined) return formatIssue(issues[0], file);
  const heading = `${file ?? 'config'}: ${issues.length} errors`;
  return [heading, ...issues.map((issue) => `  ${formatIssue(issue, file)}`)].join('\n');
}
