// Image references as docker reads them: `[host/]repository[:tag|@digest]`.

/** `host/repo[:tag|@digest]`; the first component is a host when it looks like one, as docker reads it. */
export function parseImageRef(ref: string): { host: string; repository: string; reference: string } {
  const slash = ref.indexOf('/');
  const first = slash < 0 ? '' : ref.slice(0, slash);
  const hasHost = /[.:]/.test(first) || first === 'localhost';
  const host = hasHost ? first : 'docker.io';
  const rest = hasHost ? ref.slice(slash + 1) : ref;
  const at = rest.indexOf('@');
  if (at >= 0) return { host, repository: rest.slice(0, at), reference: rest.slice(at + 1) };
  const colon = rest.lastIndexOf(':');
  return colon > rest.lastIndexOf('/')
    ? { host, repository: rest.slice(0, colon), reference: rest.slice(colon + 1) }
    : { host, repository: rest, reference: 'latest' };
}
