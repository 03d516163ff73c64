/** Reads `read()` until `done` accepts it or `ms` pass; returns the last value either way. */
export async function waitFor<T>(read: () => T, done: (value: T) => boolean, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
