export { createCompiler, DEFAULT_PUBLIC_URL, type Compiler, type CompilerOptions, type CompiledEdition, type Finding, type IssueSummary, type TemplateSummary } from './compiler.ts';
export { compileMerge, fillMerge, sampleMergeValues, greetingFor, mergeMarker, MERGE_FIELDS, type MergeField, type MergeValues, type MergeTemplate } from './merge.ts';
export { fillSample } from './sample.ts';
