// The credential provider browser and mobile apps use: fromCognitoIdentityPool of the
// AWS SDK for JavaScript v3 (@aws-sdk/credential-providers), against OpenSTS.
//
// Input (environment): OPENSTS_ENDPOINT, OPENSTS_PEER_DIR (tests/peers/aws-sdk-js),
// OPENSTS_POOL_ID, OPENSTS_LOGINS (JSON: the Logins map, {} for a guest).
// Output: one JSON object on stdout (the caller's ARN, the key id's prefix, whether IAM
// ListUsers was allowed); secrets are never printed. A failure prints {"fatal": ...}.

import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.env.OPENSTS_PEER_DIR, "package.json"));
const { fromCognitoIdentityPool } = require("@aws-sdk/credential-providers");
const { STSClient, GetCallerIdentityCommand } = require("@aws-sdk/client-sts");
const { IAMClient, ListUsersCommand } = require("@aws-sdk/client-iam");

const endpoint = process.env.OPENSTS_ENDPOINT;
const region = "us-east-1";
const logins = JSON.parse(process.env.OPENSTS_LOGINS);

try {
  const provider = fromCognitoIdentityPool({
    identityPoolId: process.env.OPENSTS_POOL_ID,
    ...(Object.keys(logins).length ? { logins } : {}),
    clientConfig: { region, endpoint, maxAttempts: 1 },
  });
  const credentials = await provider();
  const options = { endpoint, region, credentials, maxAttempts: 1 };
  const who = await new STSClient(options).send(new GetCallerIdentityCommand({}));
  let listUsers;
  try {
    await new IAMClient(options).send(new ListUsersCommand({}));
    listUsers = "allowed";
  } catch (error) {
    listUsers = error.name;
  }
  console.log(JSON.stringify({
    arn: who.Arn,
    keyPrefix: credentials.accessKeyId.slice(0, 4),
    hasSecret: credentials.secretAccessKey.length > 0,
    hasToken: credentials.sessionToken.length > 0,
    expiresInSeconds: Math.round((credentials.expiration - Date.now()) / 1000),
    identityId: credentials.identityId,
    listUsers,
  }));
} catch (error) {
  console.log(JSON.stringify({ fatal: { name: error.name, message: error.message } }));
  process.exit(1);
}
