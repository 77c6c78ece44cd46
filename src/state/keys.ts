/**
 * Storage keys are `namespace + escape(state name) + '/' + escape(record key)`. Escaping
 * makes the mapping one-to-one: '%' and '/' are percent-encoded (so a state name can't
 * reach into another state's prefix), and lone UTF-16 surrogates are written as %uXXXX
 * (UTF-8 would turn them all into U+FFFD, making different keys collide on disk).
 */
const NEEDS = /[%/\ud800-\udfff]/;
const SPECIAL = /%|\/|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function escapeKeyPart(s: string): string {
  if (!NEEDS.test(s)) return s;
  return s.replace(SPECIAL, (c) => (c === '%' ? '%25' : c === '/' ? '%2F' : `%u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`));
}

export function unescapeKeyPart(s: string): string {
  if (!s.includes('%')) return s;
  return s.replace(/%(?:u([0-9A-F]{4})|([0-9A-F]{2}))/g, (_m, u: string | undefined, h: string | undefined) => String.fromCharCode(parseInt((u ?? h)!, 16)));
}
