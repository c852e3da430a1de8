import { randomUUID } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { StreamCheckpoints } from './stream-pump.ts';

const checkpointFile = z.record(z.string().min(1), z.string().regex(/^\d+$/));

/**
 * Stream checkpoints in a JSON file (`{ "<shard id>": "<sequence number>" }`), so that a restart of `npm start` goes on
 * where the last run stopped. Each save writes a temporary file beside it (mode 0600), flushes it to disk and renames
 * it over the old one: a crash leaves either the old or the new checkpoint, never half of one. The directory is
 * created (mode 0700) when missing. A missing file means no checkpoint: the stream is read from its oldest record.
 */
export function createFileCheckpointStore(path: string): StreamCheckpoints {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw error;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      const parsed = checkpointFile.safeParse(json);
      if (!parsed.success) {
        throw new Error(
          `The stream checkpoint file ${path} is not a map of shard ids to sequence numbers. Delete it to read the ` +
            'stream again from its oldest record (events already published are then published again).',
        );
      }
      return parsed.data;
    },

    async save(positions) {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const temporary = `${path}.${randomUUID()}.tmp`;
      try {
        const file = await open(temporary, 'wx', 0o600);
        try {
          await file.writeFile(`${JSON.stringify(positions, null, 2)}\n`, 'utf8');
          await file.sync();
        } finally {
          await file.close();
        }
        await rename(temporary, path);
      } catch (error) {
        await rm(temporary, { force: true });
        throw error;
      }
    },
  };
}
