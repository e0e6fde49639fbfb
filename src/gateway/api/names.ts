// Names in the API carry Traefik's provider suffix (`web@file`), so tools written for Traefik's API
// read them as they expect. Stampgate has one provider for now: everything comes from `file`.

export const provider = 'file';
const suffix = '@' + provider;

/** `api` → `api@file`. */
export function qualified(name: string): string {
  return name + suffix;
}

/** `api` or `api@file` → `api`; a name of another provider (`api@docker`) → null: not ours. */
export function unqualified(name: string): string | null {
  const at = name.indexOf('@');
  if (at < 0) return name;
  return name.slice(at) === suffix ? name.slice(0, at) : null;
}
