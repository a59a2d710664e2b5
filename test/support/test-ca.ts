// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API.
import 'reflect-metadata';
import { createPrivateKey, webcrypto, type KeyObject } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * A certificate authority made for one test run, and certificates it issues: what the SNS
 * tests use in place of Amazon's signing certificate and of an https server's certificate.
 */
export interface TestCertificate {
  pem: string;
  /** The private key, for signing (SNS messages) or serving TLS. */
  key: KeyObject;
  keyPem: string;
}

export interface TestCa {
  pem: string;
  issue(options: { commonName: string; hosts?: string[]; notBefore?: Date; notAfter?: Date }): Promise<TestCertificate>;
}

const crypto = webcrypto as unknown as Crypto;
const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
let serial = 1;

async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function createTestCa(): Promise<TestCa> {
  const keys = await keyPair();
  const day = 86_400_000;
  const ca = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: (serial++).toString(16).padStart(2, '0'),
      name: 'CN=Depesche Test CA',
      notBefore: new Date(Date.now() - day),
      notAfter: new Date(Date.now() + 30 * day),
      signingAlgorithm: algorithm,
      keys,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    },
    crypto,
  );
  return {
    pem: ca.toString('pem'),
    async issue({ commonName, hosts = [], notBefore = new Date(Date.now() - day), notAfter = new Date(Date.now() + 30 * day) }) {
      const leafKeys = await keyPair();
      const cert = await x509.X509CertificateGenerator.create(
        {
          serialNumber: (serial++).toString(16).padStart(2, '0'),
          subject: `CN=${commonName}`,
          issuer: ca.subject,
          notBefore,
          notAfter,
          signingAlgorithm: algorithm,
          publicKey: leafKeys.publicKey,
          signingKey: keys.privateKey,
          extensions: hosts.length
            ? [new x509.SubjectAlternativeNameExtension(hosts.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })))]
            : [],
        },
        crypto,
      );
      const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', leafKeys.privateKey));
      const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
      return { pem: cert.toString('pem'), key, keyPem: key.export({ format: 'pem', type: 'pkcs8' }).toString() };
    },
  };
}
