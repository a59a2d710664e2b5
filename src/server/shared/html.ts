import { escapeHtml } from '../../core/escape.ts';

/** Markup that is already safe: interpolating it into `html` keeps it as it is. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

type Part = Html | string | number | null | undefined | false | Html[];

function part(value: Part): string {
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map(part).join('');
  if (value instanceof Html) return value.value;
  return escapeHtml(String(value));
}

/** Tagged template that escapes every interpolation unless it is already `Html`. */
export function html(strings: TemplateStringsArray, ...values: Part[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += part(values[i]) + strings[i + 1]!;
  return new Html(out);
}
