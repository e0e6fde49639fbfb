// One load of the file provider's dynamic config: read the file (or every config file of the directory),
// validate each, merge them, cross-check the result. Either a config that the gateway can compile as it
// is, or one ConfigError with every problem, each pointing at its file and line.
import { readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { DynamicConfig } from './schema/dynamic.ts';
import { ConfigError, configIssue, locateIssue, type ConfigIssue } from './config-error.ts';
import { crossCheckDynamic, type DynamicCrossCheckOptions } from './cross-check.ts';
import { mergeDynamicConfigs, originKey, type DynamicFragment } from './merge-dynamic.ts';
import { configFormatOf, locateIssues, readConfigFile, type ParsedConfigFile } from './parse-file.ts';
import { resolveDynamicPaths } from './resolve-paths.ts';
import { validateDynamicDocument } from './validate.ts';

/** Where the dynamic config is: exactly one of them, as in `providers.file`. */
export interface DynamicSource {
  readonly filename?: string;
  readonly directory?: string;
}

export interface LoadedDynamicConfig {
  readonly config: DynamicConfig;
  /** The files read, in the order they were merged. */
  readonly files: readonly string[];
  /** The directories read (the directory and its subdirectories), for the watcher. Empty for `filename`. */
  readonly directories: readonly string[];
}

/** Loads, validates, merges and cross-checks; throws a ConfigError with every problem found. */
export async function loadDynamicConfig(source: DynamicSource, options: DynamicCrossCheckOptions = {}): Promise<LoadedDynamicConfig> {
  const origin = sourcePath(source);
  const listing = source.directory !== undefined ? await listConfigFiles(source.directory) : { files: [origin], directories: [] };

  const issues: ConfigIssue[] = [];
  const parsed = new Map<string, ParsedConfigFile>();
  const fragments: DynamicFragment[] = [];
  for (const file of listing.files) {
    let parsedFile: ParsedConfigFile;
    try {
      parsedFile = await readConfigFile(file);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      issues.push(...err.issues);
      continue;
    }
    parsed.set(file, parsedFile);
    const result = validateDynamicDocument(parsedFile.document);
    if (!result.ok) {
      issues.push(...locateIssues(result.issues, parsedFile));
      continue;
    }
    fragments.push({ file, config: resolveDynamicPaths(result.value, dirname(file)) });
  }
  // Cross-checking a partial config would report the broken file's names as missing: stop here.
  if (issues.length > 0) throw new ConfigError(issues, origin);

  const merged = mergeDynamicConfigs(fragments);
  const locate = (issue: ConfigIssue): ConfigIssue => {
    const file = issue.file ?? merged.origins.get(originKey(issue.segments)) ?? (listing.files.length === 1 ? listing.files[0] : undefined);
    const position = file === undefined ? undefined : parsed.get(file)?.locate(issue.segments);
    return locateIssue(issue, { file, line: position?.line, column: position?.column });
  };
  issues.push(...merged.issues.map(locate));
  if (issues.length > 0) throw new ConfigError(issues, origin);

  issues.push(...crossCheckDynamic(merged.config, options).map(locate));
  if (issues.length > 0) throw new ConfigError(issues, origin);

  return { config: merged.config, files: listing.files, directories: listing.directories };
}

/**
 * The config files of a directory and of its subdirectories (Traefik reads subdirectories too), sorted by
 * name as Traefik reads them. Hidden entries are skipped: editors' swap files, and the `..data` links
 * of a Kubernetes ConfigMap mount, whose files would otherwise be read twice.
 */
export async function listConfigFiles(directory: string): Promise<{ files: string[]; directories: string[] }> {
  const files: string[] = [];
  const directories: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const reason = code === 'ENOENT' ? 'no such directory' : code === 'ENOTDIR' ? 'not a directory' : code === 'EACCES' ? 'permission denied' : String(err);
      throw new ConfigError([configIssue([], `cannot read the directory: ${reason}`, { file: dir })], directory);
    }
    directories.push(dir);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        await walk(path);
      } else if (configFormatOf(entry.name) !== undefined && (entry.isFile() || (entry.isSymbolicLink() && (await isFile(path))))) {
        files.push(path);
      }
    }
  };
  await walk(directory);
  return { files, directories };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function sourcePath(source: DynamicSource): string {
  if (source.filename !== undefined && source.directory !== undefined) throw new TypeError('the file provider takes a filename or a directory, not both');
  const path = source.filename ?? source.directory;
  if (path === undefined) throw new TypeError('the file provider needs a filename or a directory');
  return path;
}
