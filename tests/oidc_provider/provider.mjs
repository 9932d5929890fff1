// A real OpenID provider for the tests: panva's certified oidc-provider, configured from JSON.
//
//   node provider.mjs [--exit-with-stdin] CONFIG
//
// CONFIG is a JSON object, or the path of a file holding one; without it the env var
// OIDC_PROVIDER_CONFIG is read. Keys:
//   port      0 (any free port, the default) or a fixed one; the server listens on 127.0.0.1
//   issuer    optional; defaults to http://127.0.0.1:PORT
//   clients   [{client_id, client_secret, redirect_uris, ...any other client metadata}]
//   accounts  [{sub, email, email_verified, name, email_in_id_token}]  (email_in_id_token: false keeps
//             the e-mail out of the ID token, so only the userinfo endpoint tells it — as Entra ID often does)
//
// Prints `READY <issuer>` on stdout once it listens. With --exit-with-stdin it also exits when its standard
// input closes, so a test run that is killed cannot leave it behind.
//
// The login page is a plain HTML form (field `login`: an account's sub or e-mail; a cancel button answers
// the relying party with error=access_denied), and consent is granted without asking, so a browser and a
// plain HTTP client can both get through it.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const args = process.argv.slice(2);
const exitWithStdin = args.includes('--exit-with-stdin');
const configArgument = args.find((arg) => !arg.startsWith('--')) ?? process.env.OIDC_PROVIDER_CONFIG;
if (!configArgument) {
  console.error('usage: node provider.mjs [--exit-with-stdin] CONFIG_JSON_OR_FILE (or OIDC_PROVIDER_CONFIG)');
  process.exit(2);
}
const config = JSON.parse(configArgument.trim().startsWith('{') ? configArgument : readFileSync(configArgument, 'utf8'));

const accounts = config.accounts ?? [];
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

function findAccount(login) {
  const wanted = String(login ?? '').trim().toLowerCase();
  return accounts.find((account) => account.sub.toLowerCase() === wanted
    || (account.email ?? '').toLowerCase() === wanted);
}

function isLoopbackHttp(uri) {
  const parsed = URL.parse(uri);
  return parsed?.protocol === 'http:' && LOOPBACK.has(parsed.hostname);
}

function client(metadata) {
  return {
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    // A native client's loopback redirect URI matches on any port (RFC 8252 §7.3), so a test can register
    // http://127.0.0.1/callback before it knows the port its relying party will listen on.
    application_type: metadata.redirect_uris.every(isLoopbackHttp) ? 'native' : 'web',
    ...metadata,
  };
}

function escapeHtml(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function page(res, status, title, body) {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.end(`<!doctype html><html lang="da"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head>`
    + `<body><h1>${escapeHtml(title)}</h1>${body}</body></html>`);
}

function loginForm(res, uid, clientId, problem) {
  page(res, problem ? 401 : 200, 'Test-identitetsudbyder', `
    <p>Klient: <code>${escapeHtml(clientId)}</code></p>
    ${problem ? `<p role="alert">${escapeHtml(problem)}</p>` : ''}
    <form method="post" action="/interaction/${escapeHtml(uid)}/login">
      <label>Bruger-id eller e-mail <input name="login" autocomplete="username" autofocus required></label>
      <button type="submit">Log ind</button>
    </form>
    <form method="post" action="/interaction/${escapeHtml(uid)}/abort">
      <button type="submit">Annullér</button>
    </form>`);
}

async function readForm(req) {
  let body = '';
  for await (const chunk of req) body += chunk;
  return new URLSearchParams(body);
}

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: randomBytes(8).toString('hex'), use: 'sig', alg: 'RS256' };

let provider;

async function grantConsent(req, res, details) {
  const { prompt: { details: missing }, params, session, grantId } = details;
  const grant = grantId ? await provider.Grant.find(grantId) : new provider.Grant({
    accountId: session.accountId,
    clientId: params.client_id,
  });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    page(res, 400, 'Forkert log-ind-forløb', '<p>Start forfra fra tjenesten.</p>');
    return;
  }
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') {
      loginForm(res, uid, details.params.client_id);
    } else {
      await grantConsent(req, res, details);
    }
    return;
  }
  if (req.method === 'POST' && action === 'login') {
    const account = findAccount((await readForm(req)).get('login'));
    if (!account) {
      loginForm(res, uid, details.params.client_id, 'Ukendt bruger.');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, {
      mergeWithLastSubmission: false,
    });
    return;
  }
  if (req.method === 'POST' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied',
      error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }
  page(res, 404, 'Ikke fundet', '');
}

const server = createServer((req, res) => {
  const match = /^\/interaction\/([^/?]+)(?:\/(login|abort))?(?:\?.*)?$/.exec(req.url);
  if (!match) {
    provider.callback()(req, res);
    return;
  }
  interaction(req, res, match[1], match[2]).catch((error) => {
    console.error(error);
    if (!res.headersSent) page(res, 400, 'Log-ind mislykkedes', `<p>${escapeHtml(error.message)}</p>`);
  });
});

server.listen(config.port ?? 0, '127.0.0.1', () => {
  const issuer = config.issuer ?? `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: (config.clients ?? []).map(client),
    jwks: { keys: [signingKey] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    findAccount(ctx, id) {
      const account = accounts.find((candidate) => candidate.sub === id);
      if (!account) return undefined;
      return {
        accountId: account.sub,
        claims(use) {
          const claims = { sub: account.sub, name: account.name };
          if (use !== 'id_token' || account.email_in_id_token !== false) {
            claims.email = account.email;
            claims.email_verified = account.email_verified;
          }
          return claims;
        },
      };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
    // Claims asked for by scope go into the ID token too (as Entra ID does), not only to the userinfo endpoint.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, details) => `/interaction/${details.uid}` },
  });
  provider.on('server_error', (ctx, error) => console.error('server_error', error));
  console.log(`READY ${issuer}`);
});

process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
if (exitWithStdin) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
}
