// oidc-provider (tests/peers/oidc-provider's install) under a tenant path, the way Microsoft
// Entra ID v1 names its issuer: https://host:port/<tenant-guid>/ (trailing slash included).
// Usage: node tenant_peer.mjs <config.json>; prints {"issuer": ..., "port": ...}.
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from '../peers/oidc-provider/node_modules/oidc-provider/lib/index.js';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = https.createServer({ key: readFileSync(cfg.tlsKey), cert: readFileSync(cfg.tlsCert) });
const prefix = `/${cfg.tenant}`;

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}${prefix}/`;
  const byClient = Object.fromEntries(cfg.clients.map((c) => [c.client_id, c]));
  const provider = new Provider(issuer, {
    clients: cfg.clients.map(({ client_id, client_secret }) => ({
      client_id,
      client_secret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
    })),
    jwks: { keys: cfg.jwks },
    scopes: ['sts'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => cfg.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource, client) => ({
          scope: 'sts',
          audience: byClient[client.clientId].audience,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => byClient[token.clientId]?.extraClaims ?? {},
  });
  const callback = provider.callback();
  // Mounted under the tenant path: strip it, as a framework's mount would.
  server.on('request', (req, res) => {
    if (req.url.startsWith(`${prefix}/`)) req.url = req.url.slice(prefix.length).replace(/^\/+/, '/');
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});
