/** What a certificate says of itself, read from its DER (lib/pki/describe-certificate.ts reads it). */
export interface PresentedCertificate {
  /** RFC 4514, least significant first (`CN=a.example,O=Example`); empty for an empty name. */
  readonly subject: string;
  readonly issuer: string;
  /** subjectAltName entries of these types, in certificate order; IP addresses in canonical text. */
  readonly subjectAltNames: ReadonlyArray<{ readonly type: 'dns' | 'ip' | 'uri'; readonly value: string }>;
  /** Lower-case hex of the serial's DER INTEGER content, without colons or leading zero octets. */
  readonly serialNumber: string;
  readonly keyAlgorithm: 'RSA' | 'RSA-PSS' | 'EC' | 'ED25519' | 'ED448' | 'DSA' | 'unknown';
  /** RSA/DSA modulus bits, EC curve bits (P-256 → 256, P-521 → 521), 256 for Ed25519, 456 for Ed448. */
  readonly keySize?: number;
  /** EC keys: the curve as OpenSSL names it (`prime256v1`, `secp384r1`). */
  readonly keyCurve?: string;
  /** OpenSSL's name of the signature algorithm (`sha256WithRSAEncryption`, `ecdsa-with-SHA1`), else the OID. */
  readonly signatureAlgorithm: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** Lower-case hex SHA-256 of the certificate DER. */
  readonly fingerprintSha256: string;
  /** Lower-case hex SHA-256 of the SubjectPublicKeyInfo DER, as it appears in the certificate (HPKP-style pin). */
  readonly spkiSha256: string;
  /** Issuer equals subject and the signature verifies with the certificate's own key. */
  readonly selfSigned: boolean;
}
