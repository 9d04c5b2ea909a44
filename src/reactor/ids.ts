const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Makes random ids: from an injected `random()` (seeded simulations) or from crypto. */
export function createIdGenerator(random?: () => number): (length?: number) => string {
  if (random !== undefined) {
    return (length = 16) => {
      let id = '';
      for (let i = 0; i < length; i++) id += ALPHABET[Math.floor(random() * 36) % 36];
      return id;
    };
  }
  return (length = 16) => {
    const bytes = crypto.getRandomValues(new Uint8Array(length));
    let id = '';
    for (const byte of bytes) id += ALPHABET[byte % 36];
    return id;
  };
}
