// Sign one request with the AWS SDK for JavaScript v3 signer (@smithy/signature-v4, service
// execute-api) and send it with node's fetch. Input and output are JSON (argv[2] / stdout).
import { createHash, createHmac } from "node:crypto";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.OPENSTS_PEER_DIR, "package.json"));
const { SignatureV4 } = require("@smithy/signature-v4");

// The SDK's own @smithy/hash-node is this: node's crypto behind the Checksum interface.
class Sha256 {
  constructor(secret) {
    this.hash = secret ? createHmac("sha256", secret) : createHash("sha256");
  }
  update(data) { this.hash.update(typeof data === "string" ? Buffer.from(data) : data); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

const input = JSON.parse(process.argv[2]);
const url = new URL(input.url);
const signer = new SignatureV4({
  service: "execute-api",
  region: "us-east-1",
  sha256: Sha256,
  credentials: input.credentials,
});
const query = Object.fromEntries(url.searchParams.entries());
const request = {
  method: input.method,
  protocol: url.protocol,
  hostname: url.hostname,
  port: Number(url.port),
  path: url.pathname,
  query,
  headers: { host: url.host, ...(input.headers || {}) },
  body: input.body,
};
let answer;
if (input.presign) {
  const signed = await signer.presign(request, { expiresIn: 60 });
  const qs = new URLSearchParams(signed.query).toString();
  answer = await fetch(`${url.origin}${url.pathname}?${qs}`, { method: input.method });
} else {
  const signed = await signer.sign(request);
  const headers = { ...signed.headers };
  delete headers.host; // fetch sets Host itself (the same value)
  answer = await fetch(url, { method: input.method, headers, body: input.body });
}
process.stdout.write(JSON.stringify({ status: answer.status, body: await answer.text() }));
