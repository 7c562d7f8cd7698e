import { createHash, randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

// Passwords are low-entropy: scrypt at N=2^14 (~50 ms). Device secrets are 256
// random bits, so a cheap N=2^10 is as safe and keeps 2,000 devices reconnecting
// at once from costing minutes of CPU (docs/decisions.md).
export const PASSWORD_COST: ScryptOptions = { N: 2 ** 14, r: 8, p: 1 };
export const DEVICE_SECRET_COST: ScryptOptions = { N: 2 ** 10, r: 8, p: 1 };
const KEY_LENGTH = 32;

function scryptAsync(secret: string, salt: Buffer, cost: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEY_LENGTH, { ...cost, maxmem: 64 * 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** `scrypt$N$r$p$salt$hash`, all parameters kept so costs can change later. */
export async function hashSecret(secret: string, cost: ScryptOptions = PASSWORD_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await scryptAsync(secret, salt, cost);
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const key = await scryptAsync(secret, Buffer.from(salt, 'base64'), { N: Number(n), r: Number(r), p: Number(p) });
  return key.length === expected.length && timingSafeEqual(key, expected);
}

export function newSecret(): string {
  return randomBytes(32).toString('base64url');
}

/** Session tokens are stored only as their SHA-256: a leaked database holds no usable token. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
