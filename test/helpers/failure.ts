// A call a test expects to fail: its error, typed, or the test fails if it resolved.
export async function failure<E extends Error>(promise: Promise<unknown>): Promise<E> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (err: unknown) => err as E,
  );
}
