#!/usr/bin/env node
// Verifies a Sigstore bundle with sigstore-js (@sigstore/verify), an
// implementation independent of slate's, given the signer's public key.
//
//   node verify.js --bundle FILE --key PUB.pem [--artifact FILE] [--tlog-key LOG.pem]
//
// --artifact: the signed bytes, for a message-signature bundle (a DSSE
//   bundle carries its payload).
// --tlog-key: the public key of the transparency log that recorded the
//   signature (slate tlog serve). With it, the bundle must hold an entry of
//   that log whose inclusion proof, checkpoint and signed entry timestamp
//   verify; without it, the bundle must hold no log entry to check.
// Exit 0 and "verified" when the bundle verifies; 1 with the reason when not.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const { bundleFromJSON } = require('@sigstore/bundle');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { Verifier, toSignedEntity, toTrustMaterial } = require('@sigstore/verify');

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i];
    if (!['--bundle', '--key', '--artifact', '--tlog-key'].includes(name) || i + 1 >= argv.length) {
      throw new Error(`usage: verify.js --bundle FILE --key PUB.pem [--artifact FILE] [--tlog-key LOG.pem] (at "${name}")`);
    }
    args[name.slice(2)] = argv[i + 1];
  }
  if (!args.bundle || !args.key) throw new Error('--bundle and --key are required');
  return args;
}

// A trusted root holding only the log (if any): sigstore-js finds the
// signer's key through the key finder, not the root.
function trustedRoot(tlogKeyPem) {
  const tlogs = [];
  if (tlogKeyPem) {
    const der = crypto.createPublicKey(tlogKeyPem).export({ type: 'spki', format: 'der' });
    tlogs.push({
      baseUrl: 'http://127.0.0.1',
      hashAlgorithm: 'SHA2_256',
      publicKey: {
        rawBytes: der.toString('base64'),
        keyDetails: 'PKIX_ECDSA_P256_SHA_256',
        validFor: { start: '1970-01-01T00:00:00Z' },
      },
      logId: { keyId: crypto.createHash('sha256').update(der).digest('base64') },
    });
  }
  return TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.1',
    tlogs,
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

function main() {
  const args = parseArgs(process.argv.slice(2));
  const bundle = bundleFromJSON(JSON.parse(fs.readFileSync(args.bundle, 'utf8')));
  const artifact = args.artifact ? fs.readFileSync(args.artifact) : undefined;
  const signerKey = crypto.createPublicKey(fs.readFileSync(args.key, 'utf8'));
  const tlogKeyPem = args['tlog-key'] ? fs.readFileSync(args['tlog-key'], 'utf8') : undefined;

  const keyFinder = () => ({ publicKey: signerKey, validFor: () => true });
  const trust = toTrustMaterial(trustedRoot(tlogKeyPem), keyFinder);
  const threshold = tlogKeyPem ? 1 : 0;
  const verifier = new Verifier(trust, { tlogThreshold: threshold, ctlogThreshold: 0, timestampThreshold: threshold });
  verifier.verify(toSignedEntity(bundle, artifact));
  console.log('verified');
}

try {
  main();
} catch (err) {
  console.error(`not verified: ${err.code ? err.code + ': ' : ''}${err.message}`);
  process.exit(1);
}
