/**
 * What `fn` throws, or undefined when it returns. Assert on the result after the call:
 * an `expect.unreachable()` inside the `try` that guards the call is caught by its own
 * `catch`, so such a test passes when the call stops throwing.
 */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}
