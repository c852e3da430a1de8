import { randomBytes } from 'node:crypto';
import { access, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { loadOrCreateOwnerOnlyFile } from './owner-only-file.ts';

/** Where the local plane's DynamoDB Local access key id is kept, in the data directory. */
export const DYNAMODB_ACCESS_KEY_FILE = 'dynamodb-access-key';

/** The region every local client uses: part of DynamoDB Local's database file name. */
export const LOCAL_DYNAMODB_REGION = 'local';

/** The database file of data directories from before: DynamoDB Local with `-sharedDb`, visible to every client. */
const LEGACY_DATABASE_FILE = 'shared-local-instance.db';

/** DynamoDB Local accepts access key ids of letters and digits only. */
const ACCESS_KEY_ID = /^[A-Za-z0-9]{16,128}$/;

/**
 * The credentials the local plane signs its DynamoDB Local requests with. DynamoDB Local listens on every interface
 * and cannot be bound to loopback, but without `-sharedDb` it keeps one database per access key id and region
 * (`<accessKeyId>_<region>.db`) and shows a client only the database of its own key: a random key id, kept 0600 in
 * the data directory, means anyone else who reaches the port finds an empty DynamoDB. (It is an access control by
 * obscurity of the key id, against casual access on the network, not against someone who can read the data
 * directory: they can read the database file anyway.)
 *
 * DynamoDB Local must then run without `-sharedDb` (`perAccessKey`). A data directory from before (one shared
 * database, `shared-local-instance.db`, no key file) keeps its data: its database file is renamed to the key's
 * database, before DynamoDB Local starts.
 */
export async function loadOrCreateDynamoDbAccessKey(
  dataDir: string,
  dbPath: string,
): Promise<{ credentials: { accessKeyId: string; secretAccessKey: string }; created: boolean; migrated: boolean }> {
  const { value: accessKeyId, created } = await loadOrCreateOwnerOnlyFile({
    path: join(dataDir, DYNAMODB_ACCESS_KEY_FILE),
    create: () => Buffer.from(`mim${randomBytes(20).toString('hex')}\n`),
    parse: (content) => {
      const id = content.toString('utf8').trim();
      if (!ACCESS_KEY_ID.test(id)) throw new Error('must hold one access key id of 16 to 128 letters or digits');
      return id;
    },
    consequence: 'the inventory then starts empty; the old database file stays in the dynamodb/ folder',
  });
  // Also after a start that stopped between creating the key and renaming: the legacy file is moved only when the
  // key has no database yet, so nothing is ever overwritten.
  const legacy = join(dbPath, LEGACY_DATABASE_FILE);
  const current = join(dbPath, `${accessKeyId}_${LOCAL_DYNAMODB_REGION}.db`);
  const migrated = (await exists(legacy)) && !(await exists(current));
  if (migrated) await rename(legacy, current);
  // DynamoDB Local ignores the secret; the SDK needs one to sign.
  return { credentials: { accessKeyId, secretAccessKey: accessKeyId }, created, migrated };
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
