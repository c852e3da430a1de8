import { z } from 'zod';
import { configPath, loadMimConfig } from '../config/load-config.ts';
import { startLocalControlPlane } from './start-local.ts';

/** `npm start`: the local control plane, until Ctrl-C. */

const env = z
  .object({
    PORT: z.coerce.number().int().min(0).max(65535).default(8080),
    MIM_DATA_DIR: z.string().min(1).default('.mim'),
    MIM_ADMIN_TOKEN: z.string().optional(),
    MIM_QUIET: z.string().optional(),
    MIM_DISCOVERY_SCHEDULE: z.string().min(1).optional(),
    AWS_REGION: z.string().min(1).optional(),
    AWS_DEFAULT_REGION: z.string().min(1).optional(),
  })
  .safeParse(process.env);
if (!env.success) {
  console.error(
    `mim: invalid environment: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
  process.exit(2);
}
const settings = env.data;
// The SDK warns that its 2027 releases need Node 22; Lambda runs Node 22, and locally the warning is only noise.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const say = (message: string) => console.log(`mim: ${message}`);
/** What an event line shows: its id and subject, never names or other details. */
const eventSummary = (detail: unknown): string => {
  const d = z
    .object({
      eventId: z.string(),
      actor: z.string(),
      serialNumber: z.string(),
      policy: z.string(),
      tokenId: z.string(),
    })
    .partial()
    .parse(detail);
  return `${d.serialNumber ?? d.tokenId ?? d.policy ?? ''} (event ${d.eventId}, by ${d.actor})`;
};

try {
  const path = configPath();
  const config = await loadMimConfig(path);
  say(`configuration ${path}: ${config.policies.length} policies`);
  const plane = await startLocalControlPlane({
    config,
    port: settings.PORT,
    dataDir: settings.MIM_DATA_DIR,
    adminToken: settings.MIM_ADMIN_TOKEN,
    awsRegion: settings.AWS_REGION ?? settings.AWS_DEFAULT_REGION ?? 'us-east-1',
    discoverySchedule: settings.MIM_DISCOVERY_SCHEDULE,
    progress: say,
    ...(settings.MIM_QUIET
      ? {}
      : {
          onRequest: (r) => say(`${r.method} ${r.path} → ${r.status} (${r.durationMs} ms)`),
          onEvent: (e) => say(`event ${e['detail-type']} ${eventSummary(e.detail)}`),
        }),
  });
  const tokenCommand = plane.adminTokenSource.startsWith('the ')
    ? '$MIM_ADMIN_TOKEN'
    : `$(cat ${plane.adminTokenSource})`;
  console.log(`
Machine identity control plane listening on ${plane.url}
Admin token: ${plane.adminTokenSource}
Other local principals' tokens: ${plane.tokenDir}/<name>

Try it (needs openssl, curl and jq):
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout api.key \\
    -subj /CN=api.local.test -addext subjectAltName=DNS:api.local.test -out api.csr
  curl -s ${plane.url}/v1/ca > ca-chain.pem
  jq -n --rawfile csr api.csr '{csr: $csr, validity: "24h"}' | curl -s ${plane.url}/v1/certificates \\
    -H "Authorization: Bearer ${tokenCommand}" -H 'Content-Type: application/json' -d @- \\
    | jq -r .certificate > api.pem
  openssl verify -CAfile ca-chain.pem api.pem

Ctrl-C stops the server and DynamoDB Local.
`);
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: stopping…`);
    plane.stop().then(
      () => {
        say('stopped');
        process.exit(0);
      },
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
} catch (error) {
  console.error(`mim: could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
