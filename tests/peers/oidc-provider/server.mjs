// A real OpenID Provider (panva/oidc-provider) for OpenSTS federation tests.
// Usage: node server.mjs <config.json>; prints {"issuer": ..., "port": ...} once listening.
// Tokens come from the client_credentials grant as JWT access tokens (RFC 9068).
import { readFileSync } from 'node:fs';
import https from 'node:https';
import Provider from 'oidc-provider';

const cfg = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const server = https.createServer({ key: readFileSync(cfg.tlsKey), cert: readFileSync(cfg.tlsCert) });

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  const issuer = `https://127.0.0.1:${port}`;
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
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer, port })}\n`);
});
