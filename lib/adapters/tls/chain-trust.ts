import { X509Certificate } from 'node:crypto';

/** Which trust anchors a presented chain leads to: our CA, the system roots, or neither. */
export type ChainTrust = 'ours' | 'system' | 'none';

/** Longest path tried from the leaf to an anchor: real chains have two or three intermediates at most. */
const MAX_DEPTH = 8;

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The certificates of PEM texts (each may be a bundle).
 * @throws Error when a text holds no certificate, or one Node cannot parse: trust anchors are configuration, and a
 * broken one must not silently turn every verdict into `none`.
 */
export function parseCertificatePems(pems: readonly string[]): X509Certificate[] {
  return pems.flatMap((pem, index) => {
    const blocks = pem.match(PEM_CERTIFICATE) ?? [];
    if (blocks.length === 0) throw new Error(`trust anchor PEM #${index} holds no certificate`);
    return blocks.map((block) => new X509Certificate(block));
  });
}

function within(certificate: X509Certificate, at: Date): boolean {
  return new Date(certificate.validFrom) <= at && at <= new Date(certificate.validTo);
}

/** Whether `issuer` issued `subject`: names (and key identifiers, key usage) per OpenSSL, and the signature. */
function issued(issuer: X509Certificate, subject: X509Certificate): boolean {
  try {
    return subject.checkIssued(issuer) && subject.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function pathToAnchor(
  certificate: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  at: Date | undefined,
  used: Set<X509Certificate>,
): boolean {
  if (at && !within(certificate, at)) return false;
  if (anchors.some((anchor) => anchor.raw.equals(certificate.raw))) return true;
  if (anchors.some((anchor) => (!at || within(anchor, at)) && issued(anchor, certificate))) return true;
  if (used.size >= MAX_DEPTH) return false;
  for (const candidate of intermediates) {
    if (used.has(candidate) || !candidate.ca || !issued(candidate, certificate)) continue;
    used.add(candidate);
    if (pathToAnchor(candidate, intermediates, anchors, at, used)) return true;
    used.delete(candidate);
  }
  return false;
}

/**
 * Whether a presented chain (leaf first, then whatever else the peer sent, in any order) leads to one of `anchors`:
 * each link an issuer whose name matches and whose key verifies the signature, intermediates marked as CAs. With
 * `at`, every certificate on the path, the anchor included, must also be valid at that time (what a client decides
 * when it connects); without, only the signatures count (whose CA issued it, expired or not). Algorithm strength is
 * not judged here: SHA-1 and RSA-1024 are reported per certificate for the risk rules.
 */
export function chainLeadsTo(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  at?: Date,
): boolean {
  const [leaf, ...intermediates] = chain;
  if (!leaf || anchors.length === 0) return false;
  return pathToAnchor(leaf, intermediates, anchors, at, new Set());
}

/** `ours` when the chain leads to our CA, else `system` when it leads to a system root, else `none`. */
export function chainTrust(
  chain: readonly X509Certificate[],
  anchors: { readonly ours: readonly X509Certificate[]; readonly system: readonly X509Certificate[] },
  at?: Date,
): ChainTrust {
  if (chainLeadsTo(chain, anchors.ours, at)) return 'ours';
  if (chainLeadsTo(chain, anchors.system, at)) return 'system';
  return 'none';
}
