/** Markup that is already safe: what `html` returns, never a value from outside. */
export class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text and attribute values: every character that could end a text node or an attribute. */
export const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ENTITY[c]!);

type Value = Markup | string | number | boolean | null | undefined | readonly Value[];

function render(value: Value): string {
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * The one way the report makes markup: every interpolated value is escaped unless it is Markup made
 * by this same function, so no certificate name, path or message can open a tag or an attribute.
 */
export function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  values.forEach((v, i) => {
    out += render(v) + strings[i + 1]!;
  });
  return new Markup(out);
}

/** The id of an item's card, for links inside the page: "cert-master-1/apiserver" (instance names have no spaces). */
export const anchor = (kind: 'cert' | 'kubeconfig' | 'keypair' | 'node', name: string) => `${kind}-${name}`;
