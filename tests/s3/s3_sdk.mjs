// S3 through the gateway with the AWS SDK for JavaScript v3 (client-s3, lib-storage).
//
// Input (environment): OPENSTS_ENDPOINT, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
// OPENSTS_PEER_DIR (tests/peers/aws-sdk-js), OPENSTS_BUCKET (a fresh bucket name).
// Output: one JSON object on stdout; a failure prints {"fatal": {...}} and exits 1.

import { createRequire } from "node:module";
import path from "node:path";
import { createHash, randomBytes } from "node:crypto";

const require = createRequire(path.join(process.env.OPENSTS_PEER_DIR, "package.json"));
const { S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
  ListObjectsV2Command, DeleteObjectCommand, HeadObjectCommand, S3ServiceException } =
  require("@aws-sdk/client-s3");
const { Upload } = require("@aws-sdk/lib-storage");

const bucket = process.env.OPENSTS_BUCKET;
const s3 = new S3Client({
  endpoint: process.env.OPENSTS_ENDPOINT, region: "us-east-1", forcePathStyle: true,
  maxAttempts: 1,
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY },
});
const sha = (data) => createHash("sha256").update(data).digest("hex");

async function main() {
  const out = {};
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  const small = Buffer.from("hello from the JS SDK");
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: "js/small.txt", Body: small,
    ContentType: "text/plain" }));
  const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "js/small.txt" }));
  out.small = (await got.Body.transformToString()) === small.toString();
  out.contentType = got.ContentType;
  // lib-storage: a multipart upload in 5 MiB parts, sent concurrently.
  const big = randomBytes(12 * 1024 * 1024 + 123);
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: "js/big.bin",
    Body: big }, partSize: 5 * 1024 * 1024, queueSize: 3 });
  await upload.done();
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: "js/big.bin" }));
  out.bigLength = head.ContentLength;
  const back = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "js/big.bin" }));
  out.bigSha = sha(Buffer.from(await back.Body.transformToByteArray())) === sha(big);
  const listed = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: "js/" }));
  out.keys = (listed.Contents || []).map((o) => o.Key);
  await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: "js/small.txt" }));
  try {
    await s3.send(new GetObjectCommand({ Bucket: bucket, Key: "js/small.txt" }));
    out.deleted = false;
  } catch (e) {
    out.deleted = e instanceof S3ServiceException && e.name === "NoSuchKey";
  }
  try {
    await s3.send(new ListObjectsV2Command({ Bucket: `${bucket}-missing` }));
  } catch (e) {
    out.missingBucket = e.name;
    out.missingStatus = e.$metadata?.httpStatusCode;
  }
  return out;
}

main().then((out) => {
  console.log(JSON.stringify(out));
}).catch((e) => {
  console.log(JSON.stringify({ fatal: { name: e.name, message: e.message } }));
  process.exit(1);
});
