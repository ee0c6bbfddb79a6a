// node-oidc-provider configured like the bridge's bench client, for bench/node_oidc/compare.py.
//
// env: PORT (required), CLIENT_ID, CLIENT_SECRET, REDIRECT_URI, ACCOUNT (default zhangsan),
// REDIS_URL (optional: state in Redis through redis_adapter.mjs instead of the default memory).
// One confidential client (client_secret_basic, PKCE S256 required), RS256 id_tokens, and an
// interaction that logs ACCOUNT in and grants "openid profile" without UI:
// GET /auth -> 303 /interaction/<uid> -> 303 /auth/<uid> -> 303 redirect_uri?code=...
import crypto from 'node:crypto';
import http from 'node:http';
import Provider from 'oidc-provider';
import { redisAdapter } from './redis_adapter.mjs';

const PORT = Number(process.env.PORT);
if (!PORT) throw new Error('PORT is required');
const CLIENT_ID = process.env.CLIENT_ID ?? 'bench';
const CLIENT_SECRET = process.env.CLIENT_SECRET ?? 'bench-secret';
const REDIRECT_URI = process.env.REDIRECT_URI ?? 'http://127.0.0.1:9/bench/callback';
const ACCOUNT = process.env.ACCOUNT ?? 'zhangsan';
const SCOPE = 'openid profile';
const ISSUER = `http://127.0.0.1:${PORT}`;

const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(ISSUER, {
  ...(process.env.REDIS_URL ? { adapter: redisAdapter(process.env.REDIS_URL) } : {}),
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    redirect_uris: [REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'RS256',
  }],
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  pkce: { methods: ['S256'], required: () => true },
  scopes: ['openid', 'profile'],
  claims: { openid: ['sub'], profile: ['name'] },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  ttl: {
    AccessToken: 3600, AuthorizationCode: 60, IdToken: 3600, Interaction: 600, Session: 3600, Grant: 3600,
  },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: sub === 'zhangsan' ? '张三' : sub };
      },
    };
  },
});

// The interaction: login and consent in one step, no page.
async function interaction(req, res) {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name !== 'login' && details.prompt.name !== 'consent') {
    throw new Error(`unexpected prompt ${details.prompt.name}`);
  }
  const grant = new provider.Grant({ accountId: ACCOUNT, clientId: details.params.client_id });
  grant.addOIDCScope(SCOPE);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req, res,
    { login: { accountId: ACCOUNT }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const callback = provider.callback();
const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url.startsWith('/interaction/')) {
    interaction(req, res).catch((err) => {
      console.error('interaction failed:', err);
      if (!res.headersSent) res.statusCode = 500;
      res.end('interaction failed');
    });
    return;
  }
  callback(req, res);
});
server.keepAliveTimeout = 65_000;
server.listen(PORT, '127.0.0.1', () => {
  console.log(`node-oidc-provider on ${ISSUER}`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
