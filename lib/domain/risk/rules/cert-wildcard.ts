import { certificateLabel, certificateRule, listSome } from './cert-support.ts';

/**
 * `CERT_WILDCARD`: a name like `*.example.com`. One key then speaks for every host under the domain, and it is copied
 * onto each of them: one leaked copy lets an attacker impersonate them all.
 */
export const certWildcard = certificateRule({
  code: 'CERT_WILDCARD',
  severity: 'low',
  title: 'The certificate has a wildcard name',
  check(view, subject) {
    const wildcards = view.names.filter((name) => name.startsWith('*.'));
    if (wildcards.length === 0) return undefined;
    return {
      explanation: `${certificateLabel(subject, view)} has the wildcard name${wildcards.length === 1 ? '' : 's'} ${listSome(wildcards)}: every host holding its key can impersonate every other host under ${wildcards.length === 1 ? 'that domain' : 'those domains'}.`,
      remediation:
        'Give each service a certificate of its own with only the names it serves (automated issuance makes that cheap), and keep wildcards, if at all, on a load balancer or CDN that terminates TLS for all of them.',
    };
  },
});
