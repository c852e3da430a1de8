import { open, writeFile } from 'node:fs/promises';

/**
 * A secret the local plane keeps in its data directory, readable by its owner only (mode 0600). Created on first
 * start with `create`, then read back and checked with `parse` on every start.
 *
 * A file found accessible to group or others is refused rather than tightened: whoever could read it may have copied
 * it, so the operator decides (`chmod 600` if nobody could have, or delete it for a new one, with `consequence`).
 *
 * @throws Error naming the file and what to do when it is not a regular file, is accessible to group or others, or
 *   `parse` refuses its content (`parse` throws an Error whose message says what is wrong).
 */
export async function loadOrCreateOwnerOnlyFile<T>(options: {
  readonly path: string;
  readonly create: () => Buffer;
  readonly parse: (content: Buffer) => T;
  /** What deleting the file costs, for the error messages: e.g. "stored answers can no longer be replayed". */
  readonly consequence: string;
}): Promise<{ value: T; created: boolean }> {
  const existing = await readOwnerOnly(options);
  if (existing !== undefined) return { value: existing, created: false };
  try {
    // 'wx' refuses to overwrite a file another process created meanwhile; that one is then read instead.
    await writeFile(options.path, options.create(), { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const created = await readOwnerOnly(options);
  if (created === undefined) throw new Error(`${options.path} vanished as it was created; start again.`);
  return { value: created, created: true };
}

/** The parsed content, or undefined when there is no file yet. Checks what was opened, not the path again (no race). */
async function readOwnerOnly<T>(options: {
  readonly path: string;
  readonly parse: (content: Buffer) => T;
  readonly consequence: string;
}): Promise<T | undefined> {
  const { path } = options;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new Error(`${path} is not a regular file: move it away so that a new one is created.`);
    const mode = info.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `${path} is accessible to group or others (mode ${mode.toString(8)}), so it may have been copied: run ` +
          `chmod 600 ${path} if nobody else could have read it, or delete it to start with a new one ` +
          `(${options.consequence}).`,
      );
    }
    const content = await handle.readFile();
    try {
      return options.parse(content);
    } catch (error) {
      throw new Error(
        `${path}: ${(error as Error).message}; restore it from a backup, or delete it to start with a new one ` +
          `(${options.consequence}).`,
      );
    }
  } finally {
    await handle.close();
  }
}
