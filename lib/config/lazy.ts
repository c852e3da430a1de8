/**
 * Loads a value on first use and shares it afterwards (one load per Lambda container). A failed load is not cached,
 * so the next request tries again instead of failing until the container is recycled.
 */
export function lazy<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
