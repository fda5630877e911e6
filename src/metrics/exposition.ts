// The Prometheus text exposition format (version 0.0.4), as node_exporter's textfile collector reads it.

export type Labels = Record<string, string>;

export interface Sample {
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: 'gauge';
  samples: Sample[];
}

/** A label value: backslash, double quote and line feed escaped, as the format requires. */
export const escapeLabelValue = (value: string): string => value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/** HELP text: backslash and line feed escaped (quotes stay). */
const escapeHelp = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

/** Go's float formatting for what we write: whole seconds and counts stay plain integers. */
const valueText = (value: number): string => (Number.isNaN(value) ? 'NaN' : Number.isFinite(value) ? String(value) : value > 0 ? '+Inf' : '-Inf');

function sampleLine(name: string, sample: Sample): string {
  const labels = Object.entries(sample.labels)
    .filter(([, v]) => v !== '')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return `${name}${labels.length ? `{${labels.join(',')}}` : ''} ${valueText(sample.value)}`;
}

/** Families in order, each with its HELP and TYPE lines; a family without samples is left out. */
export function exposition(families: readonly Family[]): string {
  return families
    .filter((f) => f.samples.length > 0)
    .map((f) => [`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`, ...f.samples.map((s) => sampleLine(f.name, s))].join('\n') + '\n')
    .join('');
}
