// A real OpenID Provider (panva/oidc-provider) for OpenSTS federation tests.
// Usage: node server.mjs <config.json>; prints {"issuer": ..., "port": ...} once listening.
// With "tenant" in the config the issuer sits under /<tenant>/, trailing slash included, the
// way Microsoft Entra ID v1 names its issuers.
// Tokens come from the client_credentials grant as JWT access tokens (RFC 9068).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = https.createServer({ key: readFileSync(cfg.tlsKey), cert: readFileSync(cfg.tlsCert) });
const prefix = cfg.tenant ? `/${cfg.tenant}` : '';

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = cfg.tenant ? `https://127.0.0.1:${port}${prefix}/` : `https://127.0.0.1:${port}`;
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
          accessTokenTTL: byClient[client.clientId].ttl ?? 300,
          jwt: { sign: { alg: byClient[client.clientId].alg ?? 'RS256' } },
        }),
      },
    },
    extraTokenClaims: (ctx, token) => byClient[token.clientId]?.extraClaims ?? {},
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    // Mounted under the tenant path: strip it, as a framework's mount would.
    if (prefix && req.url.startsWith(`${prefix}/`)) {
      req.url = req.url.slice(prefix.length).replace(/^\/+/, '/');
    }
    callback(req, res);
  });
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});
