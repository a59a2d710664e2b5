/**
 * RFC 5322 header fields, as they appear in the machine-readable parts of reports: the
 * per-message and per-recipient groups of a `message/delivery-status` part (RFC 3464), the
 * fields of a `message/feedback-report` (RFC 5965), and the header of a returned message.
 * Folded lines are unfolded; names are lower-cased; a name may repeat.
 */
export type Fields = Map<string, string[]>;

/** Splits text into groups of fields separated by blank lines (a delivery-status part has several). */
export function fieldGroups(text: string): Fields[] {
  const groups: Fields[] = [];
  let current: Fields | undefined;
  let last: { name: string; index: number } | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      current = undefined;
      last = undefined;
      continue;
    }
    if (/^[ \t]/.test(line) && current && last) {
      const values = current.get(last.name)!;
      values[last.index] = `${values[last.index]} ${line.trim()}`;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0 || /\s/.test(line.slice(0, colon).trim()) || line.slice(0, colon).trim() === '') continue;
    if (!current) {
      current = new Map();
      groups.push(current);
    }
    const name = line.slice(0, colon).trim().toLowerCase();
    const values = current.get(name) ?? [];
    values.push(line.slice(colon + 1).trim());
    current.set(name, values);
    last = { name, index: values.length - 1 };
  }
  return groups;
}

/** The header of a message (the first group, up to the first blank line). */
export function headerFields(text: string): Fields {
  const end = text.search(/\r?\n\r?\n/);
  return fieldGroups(end < 0 ? text : text.slice(0, end))[0] ?? new Map();
}

export function field(fields: Fields | undefined, name: string): string | undefined {
  return fields?.get(name)?.[0];
}

/** `rfc822; bob@example.com` → `bob@example.com` (the address type of RFC 3464 and 5965 dropped, brackets too). */
export function typedAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const address = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const clean = address.trim().replace(/^<|>$/g, '').trim();
  return clean.includes('@') ? clean : undefined;
}

/**
 * Addresses in a header value such as `"Bob" <bob@example.com>, carol@example.com`, or in
 * a mailto URL (`<mailto:unsubscribe+…@example.org?subject=unsubscribe>`: the query is not
 * part of the domain).
 */
export function addressesIn(value: string | undefined): string[] {
  if (!value) return [];
  return [...value.matchAll(/[^\s<>"',;:()[\]]+@[^\s<>"',;:()[\]?&/]+/g)].map((m) => m[0].replace(/\.$/, ''));
}
