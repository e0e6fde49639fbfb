// Verification of htpasswd password hashes, the formats Traefik's basicAuth accepts:
// `{SHA}` (base64 SHA-1), `$apr1$` (Apache MD5) and `$1$` (MD5-crypt), with node:crypto, and
// bcrypt (`$2y$`, `$2b$`, `$2a$`, `$2x$`) through the `bcryptjs` package.
// Every comparison of a computed hash with the stored one is constant-time. Plain-text passwords
// are refused: a users list is a secret that leaks into config stores, logs and backups.
import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';

export type PasswordVerifier =
  | { readonly async: false; readonly scheme: string; verify(password: Buffer): boolean }
  | { readonly async: true; readonly scheme: string; verify(password: Buffer): Promise<boolean> };

/** A verifier for `hash`, or why the hash cannot be used (a sentence). */
export function passwordVerifier(hash: string): PasswordVerifier | string {
  if (hash.startsWith('{SHA}')) return shaVerifier(hash);
  if (hash.startsWith('$apr1$') || hash.startsWith('$1$')) return md5CryptVerifier(hash);
  if (/^\$2[abxy]\$/.test(hash)) return bcryptVerifier(hash);
  if (/^\$[0-9a-z]+\$/.test(hash)) return `the hash scheme ${hash.slice(0, hash.indexOf('$', 1) + 1)} is not supported; use bcrypt ($2y$), apr1 ($apr1$) or SHA1 ({SHA})`;
  return 'the password is not hashed, and plain-text passwords are not accepted; hash it with htpasswd (htpasswd -nB user for bcrypt, -nm for apr1)';
}

// ---- {SHA} -----------------------------------------------------------------------------------

function shaVerifier(hash: string): PasswordVerifier | string {
  const encoded = hash.slice(5);
  if (!/^[A-Za-z0-9+/]{27}=$/.test(encoded)) return 'a {SHA} hash is 28 base64 characters after {SHA}';
  const expected = Buffer.from(encoded, 'base64');
  return {
    async: false,
    scheme: 'sha1',
    verify: (password) => timingSafeEqual(createHash('sha1').update(password).digest(), expected),
  };
}

// ---- $apr1$ and $1$ (MD5-crypt, as FreeBSD and Apache define it) -----------------------------

function md5CryptVerifier(hash: string): PasswordVerifier | string {
  const match = /^(\$apr1\$|\$1\$)([^$]{0,8})\$([./0-9A-Za-z]{22})$/.exec(hash);
  if (match === null) return 'an MD5 hash is $apr1$salt$ (or $1$salt$) followed by 22 characters of [./0-9A-Za-z], with a salt of up to 8 characters';
  const magic = match[1]!;
  const salt = match[2]!;
  const expected = Buffer.from(hash, 'latin1');
  return {
    async: false,
    scheme: magic === '$1$' ? 'md5-crypt' : 'apr1',
    verify: (password) => {
      const computed = Buffer.from(md5Crypt(password, salt, magic), 'latin1');
      return computed.length === expected.length && timingSafeEqual(computed, expected);
    },
  };
}

const itoa64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** MD5-crypt of `password` with `salt` and `magic` (`$apr1$` or `$1$`): the whole `magic salt $ hash` string. */
export function md5Crypt(password: Buffer, salt: string, magic: string): string {
  const saltBytes = Buffer.from(salt, 'latin1');
  const alternate = createHash('md5').update(password).update(saltBytes).update(password).digest();
  const context = createHash('md5').update(password).update(magic, 'latin1').update(saltBytes);
  for (let left = password.length; left > 0; left -= 16) context.update(alternate.subarray(0, Math.min(16, left)));
  const zero = Buffer.alloc(1);
  const first = password.subarray(0, 1);
  for (let bits = password.length; bits > 0; bits >>= 1) context.update(bits & 1 ? zero : first);
  let final = context.digest();
  for (let round = 0; round < 1000; round++) {
    const step = createHash('md5');
    step.update(round & 1 ? password : final);
    if (round % 3 !== 0) step.update(saltBytes);
    if (round % 7 !== 0) step.update(password);
    step.update(round & 1 ? final : password);
    final = step.digest();
  }
  const b = final;
  const encoded =
    to64((b[0]! << 16) | (b[6]! << 8) | b[12]!, 4) +
    to64((b[1]! << 16) | (b[7]! << 8) | b[13]!, 4) +
    to64((b[2]! << 16) | (b[8]! << 8) | b[14]!, 4) +
    to64((b[3]! << 16) | (b[9]! << 8) | b[15]!, 4) +
    to64((b[4]! << 16) | (b[10]! << 8) | b[5]!, 4) +
    to64(b[11]!, 2);
  return magic + salt + '$' + encoded;
}

function to64(value: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out += itoa64[value & 0x3f];
    value >>= 6;
  }
  return out;
}

// ---- bcrypt ----------------------------------------------------------------------------------

function bcryptVerifier(hash: string): PasswordVerifier | string {
  if (!/^\$2[abxy]\$[0-9]{2}\$[./A-Za-z0-9]{53}$/.test(hash)) return 'a bcrypt hash is $2y$NN$ followed by 53 characters of [./A-Za-z0-9]';
  // $2y$ and $2b$ are the same algorithm; Traefik's go-http-auth reads $2a$ and $2x$ as $2y$ too.
  const normalised = hash[2] === 'y' || hash[2] === 'x' ? '$2b' + hash.slice(3) : hash;
  return {
    async: true,
    scheme: 'bcrypt',
    verify: (password) => bcrypt.compare(password.toString('utf8'), normalised),
  };
}
