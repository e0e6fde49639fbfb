// The config layer's public surface, for the gateway, the control plane and the CLI. Each module can
// also be imported by itself.
export * from './schema/common.ts';
export * from './schema/static.ts';
export * from './schema/dynamic.ts';
export { ConfigError, configIssue, formatIssue, formatPath, locateIssue, type ConfigIssue, type IssueLocation, type PathSegment } from './config-error.ts';
export { DurationError, durationMs, parseDuration } from './duration.ts';
export { CONFIG_EXTENSIONS, configFormatOf, locateIssues, parseConfigText, readConfigFile, type ConfigFormat, type ParsedConfigFile, type SourcePosition } from './parse-file.ts';
export { describeValue, validateDocument, validateDynamicDocument, validateStaticDocument, type Validation } from './validate.ts';
export {
  DEFAULT_TLS_OPTIONS,
  INTERNAL_SERVERS_TRANSPORTS,
  INTERNAL_SERVICES,
  SUPPORTED_PROVIDERS,
  crossCheckDynamic,
  crossCheckStatic,
  localName,
  splitProvider,
  type DynamicCrossCheckOptions,
  type QualifiedName,
} from './cross-check.ts';
export { mergeDynamicConfigs, type DynamicFragment, type MergedDynamicConfig } from './merge-dynamic.ts';
export { listConfigFiles, loadDynamicConfig, type DynamicSource, type LoadedDynamicConfig } from './load-dynamic.ts';
export { STATIC_DEFAULTS, applyStaticDefaults, loadStaticConfig } from './load-static.ts';
export { resolveDynamicPaths, resolveStaticPaths } from './resolve-paths.ts';
export { FileProvider, type FileProviderEvents, type FileProviderOptions, type FileProviderStatus, type ReloadResult } from './file-provider.ts';
