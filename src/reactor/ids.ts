const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';
const POOL = 4096;

/**
 * Makes random ids: from an injected `random()` (seeded simulations) or from crypto. Crypto bytes
 * are drawn a pool at a time: one `getRandomValues` call serves hundreds of ids.
 */
export function createIdGenerator(random?: () => number): (length?: number) => string {
  if (random !== undefined) {
    return (length = 16) => {
      let id = '';
      for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * 36) % 36];
      return id;
    };
  }
  let pool = new Uint8Array(0);
  let offset = 0;
  return (length = 16) => {
    if (offset + length > pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(POOL));
      offset = 0;
    }
    let id = '';
    // 252 = 7 × 36: bytes at or above it are skipped so every character is equally likely.
    while (id.length < length) {
      if (offset >= pool.length) {
        pool = crypto.getRandomValues(new Uint8Array(POOL));
        offset = 0;
      }
      const byte = pool[offset++] as number;
      if (byte < 252) id += ALPHABET[byte % 36];
    }
    return id;
  };
}
