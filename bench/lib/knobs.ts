// Benchmark settings from the environment: whole numbers within bounds, or the default.

/** `name` as a whole number from `min` to `max`; `fallback` when unset or empty. Throws naming the variable. */
export function knob(name: string, fallback: number, min: number, max: number): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name}: must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}
