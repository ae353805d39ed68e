// Core OpenSTS flows through the AWS SDK for JavaScript v3 (client-sts, client-iam).
//
// Input (environment): OPENSTS_ENDPOINT, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the
// account root, static), OPENSTS_PEER_DIR (tests/peers/aws-sdk-js, whose node_modules holds
// the SDK), OPENSTS_PREFIX (unique names for this run).
// Output: one JSON object on stdout that the pytest side asserts on. Secrets are never printed,
// only their lengths. A failure prints {"fatal": {...}} and exits 1.

import { createRequire } from "node:module";
import path from "node:path";

const peerDir = process.env.OPENSTS_PEER_DIR;
const require = createRequire(path.join(peerDir, "package.json"));
const { STSClient, AssumeRoleCommand, GetCallerIdentityCommand, GetSessionTokenCommand,
  GetFederationTokenCommand, STSServiceException } = require("@aws-sdk/client-sts");
const { IAMClient, CreateUserCommand, CreateAccessKeyCommand, CreateRoleCommand,
  PutRolePolicyCommand, PutUserPolicyCommand, GetRoleCommand, GetUserCommand,
  IAMServiceException } =
  require("@aws-sdk/client-iam");

const endpoint = process.env.OPENSTS_ENDPOINT;
const prefix = process.env.OPENSTS_PREFIX;
const region = "us-east-1";
const root = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};

// maxAttempts 1: a retried request would hide a server error from the assertions.
const options = (credentials) => ({ endpoint, region, credentials, maxAttempts: 1 });
const sts = (credentials) => new STSClient(options(credentials));
const iam = (credentials) => new IAMClient(options(credentials));

const doc = (...statements) => JSON.stringify({ Version: "2012-10-17", Statement: statements });
const temporary = (c) => ({
  accessKeyId: c.AccessKeyId,
  secretAccessKey: c.SecretAccessKey,
  sessionToken: c.SessionToken,
});
const shape = (c) => ({
  accessKeyIdPrefix: c.AccessKeyId.slice(0, 4),
  secretLength: c.SecretAccessKey.length,
  sessionTokenLength: c.SessionToken.length,
  expirationIsDate: c.Expiration instanceof Date,
  expiration: c.Expiration.toISOString(),
});
const failure = (err) => ({
  name: err.name,
  // The SDK's service base class when the error code is not modelled (AccessDenied is not).
  serviceException: err instanceof STSServiceException ? "STSServiceException"
    : err instanceof IAMServiceException ? "IAMServiceException" : null,
  httpStatusCode: err.$metadata?.httpStatusCode ?? null,
  fault: err.$fault ?? null,
  message: err.message,
  requestId: err.$metadata?.requestId ?? null,
});

async function expectFailure(promise) {
  try {
    await promise;
  } catch (err) {
    if (err.$metadata === undefined) throw err; // not a service error: a client bug
    return failure(err);
  }
  return { name: "NoError", httpStatusCode: 200 };
}

async function main() {
  const out = { sdk: {} };
  out.sdk.clientSts = require("@aws-sdk/client-sts/package.json").version;
  out.sdk.clientIam = require("@aws-sdk/client-iam/package.json").version;
  const admin = iam(root);

  const userName = `${prefix}-user`;
  const roleName = `${prefix}-role`;
  const user = (await admin.send(new CreateUserCommand({ UserName: userName }))).User;
  out.createUser = { userName: user.UserName, arn: user.Arn, userId: user.UserId };
  await admin.send(new PutUserPolicyCommand({
    UserName: userName,
    PolicyName: "federate",
    PolicyDocument: doc({ Effect: "Allow", Action: "sts:GetFederationToken", Resource: "*" }),
  }));
  const key = (await admin.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey;
  out.createAccessKey = {
    accessKeyIdPrefix: key.AccessKeyId.slice(0, 4),
    secretLength: key.SecretAccessKey.length,
    status: key.Status,
  };
  const userCreds = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };

  const role = (await admin.send(new CreateRoleCommand({
    RoleName: roleName,
    AssumeRolePolicyDocument: doc({
      Effect: "Allow", Principal: { AWS: user.Arn }, Action: "sts:AssumeRole",
    }),
  }))).Role;
  out.createRole = { roleName: role.RoleName, arn: role.Arn, roleIdPrefix: role.RoleId.slice(0, 4) };
  // The role may read roles and users; the session policy narrows that to roles only.
  await admin.send(new PutRolePolicyCommand({
    RoleName: roleName,
    PolicyName: "read",
    PolicyDocument: doc({ Effect: "Allow", Action: ["iam:GetRole", "iam:GetUser"], Resource: "*" }),
  }));

  const userSts = sts(userCreds);
  out.userIdentity = await userSts.send(new GetCallerIdentityCommand({}));
  delete out.userIdentity.$metadata;

  const assumed = await userSts.send(new AssumeRoleCommand({
    RoleArn: role.Arn,
    RoleSessionName: "js-sdk",
    DurationSeconds: 900,
    Policy: doc({ Effect: "Allow", Action: "iam:GetRole", Resource: role.Arn }),
  }));
  out.assumeRole = {
    credentials: shape(assumed.Credentials),
    assumedRoleUser: assumed.AssumedRoleUser,
    packedPolicySize: assumed.PackedPolicySize ?? null,
    httpStatusCode: assumed.$metadata.httpStatusCode,
    requestId: assumed.$metadata.requestId ?? null,
  };
  const roleCreds = temporary(assumed.Credentials);
  out.roleIdentity = await sts(roleCreds).send(new GetCallerIdentityCommand({}));
  delete out.roleIdentity.$metadata;

  const roleIam = iam(roleCreds);
  const got = await roleIam.send(new GetRoleCommand({ RoleName: roleName }));
  out.allowedBySessionPolicy = { roleName: got.Role.RoleName };
  // Allowed by the role's policy but not by the session policy: AccessDenied.
  out.deniedBySessionPolicy = await expectFailure(
    roleIam.send(new GetUserCommand({ UserName: userName })));
  // A role whose trust policy does not name the user.
  out.deniedAssumeRole = await expectFailure(userSts.send(new AssumeRoleCommand({
    RoleArn: role.Arn.replace(/role\/.*$/, `role/${prefix}-missing`),
    RoleSessionName: "js-sdk",
  })));

  const session = await userSts.send(new GetSessionTokenCommand({ DurationSeconds: 900 }));
  out.getSessionToken = { credentials: shape(session.Credentials) };
  out.sessionIdentity = await sts(temporary(session.Credentials))
    .send(new GetCallerIdentityCommand({}));
  delete out.sessionIdentity.$metadata;

  const federated = await userSts.send(new GetFederationTokenCommand({
    Name: "js-fed",
    DurationSeconds: 900,
    Policy: doc({ Effect: "Allow", Action: "iam:GetRole", Resource: "*" }),
  }));
  out.getFederationToken = {
    credentials: shape(federated.Credentials),
    federatedUser: federated.FederatedUser,
    packedPolicySize: federated.PackedPolicySize ?? null,
  };
  const fedCreds = temporary(federated.Credentials);
  out.federatedIdentity = await sts(fedCreds).send(new GetCallerIdentityCommand({}));
  delete out.federatedIdentity.$metadata;
  // Federated sessions cannot call STS credential operations (STS API reference).
  out.federatedSessionToken = await expectFailure(
    sts(fedCreds).send(new GetSessionTokenCommand({})));

  // Wrong secret: the SDK surfaces the server's signature error.
  out.badSignature = await expectFailure(sts({ ...userCreds, secretAccessKey: "x".repeat(40) })
    .send(new GetCallerIdentityCommand({})));
  return out;
}

main().then(
  (out) => { process.stdout.write(`${JSON.stringify(out)}\n`); },
  (err) => {
    const detail = err.$metadata ? failure(err) : { name: err.name, message: String(err.stack) };
    process.stdout.write(`${JSON.stringify({ fatal: detail })}\n`);
    process.exitCode = 1;
  },
);
