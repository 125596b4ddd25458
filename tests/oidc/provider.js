// A real OpenID Connect provider for the test suite (oidc-provider), on plain http on 127.0.0.1.
//
//   OIDC_REDIRECT_URIS=http://localhost:8765/oauth2callback node tests/oidc/provider.js 9400
//
// Port: first argument, else OIDC_PORT (default 9400). Issuer: http://127.0.0.1:<port>.
// Redirect URIs: second argument or OIDC_REDIRECT_URIS (comma-separated); post-logout redirect URIs:
// third argument or OIDC_POST_LOGOUT_REDIRECT_URIS (default: the redirect URIs).
// One confidential client: oversight-test / oversight-test-secret (client_secret_basic, what Authlib
// and so Streamlit's st.login use by default), authorization_code + PKCE, scopes openid profile email.
// The ID token carries email and name (Streamlit reads st.user from the ID token only).
//
// Sign-in pages are this file's own (no external fonts or scripts): a login form (fields `login`
// and `password`: the login must be one of ACCOUNTS, any non-empty password), then a consent page
// with a "Continue" button the first time an account authorizes the client in a browser session.
// Streamlit always sends prompt=select_account: it is a supported prompt here and shows the login form.
// Prints "OIDC provider ready on http://127.0.0.1:<port>" once listening.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider, { interactionPolicy } from 'oidc-provider';

const ACCOUNTS = {
  'lead@example.org': 'Елена Смирнова',
  'north@example.org': 'Никита Северов',
  'south@example.org': 'Светлана Южакова',
  'presenter@example.org': 'Павел Докладов',
  'data@example.org': 'Дарья Данилова',
  'admin@example.org': 'Алексей Админов',
  'nogrant@example.org': 'Олег Безправов',
};

const CLIENT_ID = 'oversight-test';
const CLIENT_SECRET = 'oversight-test-secret';

const port = Number(process.argv[2] || process.env.OIDC_PORT || 9400);
const list = (value) => (value || '').split(',').map((s) => s.trim()).filter(Boolean);
const redirectUris = list(process.argv[3] || process.env.OIDC_REDIRECT_URIS);
const postLogoutRedirectUris = list(process.argv[4] || process.env.OIDC_POST_LOGOUT_REDIRECT_URIS);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`invalid port: ${process.argv[2] || process.env.OIDC_PORT}`);
  process.exit(2);
}
if (!redirectUris.length) {
  console.error('no redirect URIs: pass them as the second argument or OIDC_REDIRECT_URIS (comma-separated)');
  process.exit(2);
}

const issuer = `http://127.0.0.1:${port}`;

const escape = (value) => String(value ?? '').replace(/[&<>"']/g, (ch) => ({
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;',
}[ch]));

function page(title, body) {
  return `<!DOCTYPE html>
<html lang="ru">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>${escape(title)}</title>
  <style>
    body { font-family: sans-serif; margin: 40px auto; max-width: 360px; }
    label, input, button { display: block; width: 100%; box-sizing: border-box; margin: 6px 0; }
    input, button { padding: 8px; font-size: 15px; }
    .error { color: #b00020; }
  </style>
</head>
<body>
${body}
</body>
</html>`;
}

// The key that signs ID tokens is made per run: tests never keep tokens across provider runs.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-signing-key', use: 'sig', alg: 'RS256' };

// Streamlit's st.login sends prompt=select_account, which oidc-provider rejects unless a requestable
// prompt of that name is in the policy. Here it resolves together with login (the same form).
const policy = interactionPolicy.base();
policy.add(new interactionPolicy.Prompt({ name: 'select_account', requestable: true }), 0);

const configuration = {
  clients: [{
    client_id: CLIENT_ID,
    client_secret: CLIENT_SECRET,
    client_name: 'Oversight (tests)',
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris.length ? postLogoutRedirectUris : redirectUris,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  async findAccount(ctx, id) {
    if (!Object.hasOwn(ACCOUNTS, id)) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: ACCOUNTS[id] };
      },
    };
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
  },
  scopes: ['openid', 'profile', 'email'],
  conformIdTokenClaims: false,
  interactions: {
    policy,
    url: (ctx, interaction) => `/interaction/${interaction.uid}`,
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      async logoutSource(ctx, form) {
        ctx.body = page('Выход', `<h1>Выйти из ${escape(ctx.host)}?</h1>
${form}
<button autofocus type="submit" form="op.logoutForm" value="yes" name="logout">Да, выйти</button>
<button type="submit" form="op.logoutForm">Нет, остаться</button>`);
      },
      async postLogoutSuccessSource(ctx) {
        ctx.body = page('Выход выполнен', '<h1>Вы вышли</h1>');
      },
    },
  },
  async renderError(ctx, out) {
    ctx.type = 'html';
    ctx.body = page('Ошибка', `<h1>Ошибка входа</h1>
${Object.entries(out).map(([key, value]) => `<pre><strong>${escape(key)}</strong>: ${escape(value)}</pre>`).join('\n')}`);
  },
  jwks: { keys: [signingKey] },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  pkce: { required: () => true },
  ttl: {
    // Streamlit keeps no refresh token; a short-lived run needs nothing longer.
    AccessToken: 3600,
    AuthorizationCode: 300,
    IdToken: 3600,
    Interaction: 3600,
    Session: 86400,
    Grant: 86400,
  },
};

const provider = new Provider(issuer, configuration);

function loginForm(uid, { login = '', error = '' } = {}) {
  return page('Вход', `<h1>Вход</h1>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${escape(uid)}/login" autocomplete="off">
  <label for="login">Логин (email)</label>
  <input id="login" name="login" type="text" required autofocus value="${escape(login)}">
  <label for="password">Пароль</label>
  <input id="password" name="password" type="password" required>
  <button type="submit">Войти</button>
</form>
<p><a href="/interaction/${escape(uid)}/abort">Отмена</a></p>`);
}

function consentForm(uid, client, details) {
  const scopes = (details.missingOIDCScope || []).filter((s) => s !== 'openid');
  const claims = (details.missingOIDCClaims || []).filter((c) => !['sub', 'sid', 'auth_time', 'acr', 'amr', 'iss'].includes(c));
  return page('Разрешение', `<h1>Разрешить доступ</h1>
<p>Приложение «${escape(client?.clientName || client?.clientId)}» запрашивает:</p>
<ul>${[...scopes, ...claims].map((item) => `<li>${escape(item)}</li>`).join('')}</ul>
<form id="consent-form" method="post" action="/interaction/${escape(uid)}/confirm">
  <button type="submit" autofocus>Continue</button>
</form>
<p><a href="/interaction/${escape(uid)}/abort">Отмена</a></p>`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 64 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function send(res, status, html) {
  res.writeHead(status, {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
  });
  res.end(html);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) {
    send(res, 400, page('Ошибка', '<h1>Сеанс входа устарел</h1>'));
    return;
  }
  const { prompt, params } = details;

  if (req.method === 'GET' && action === '') {
    if (prompt.name === 'consent') {
      const client = await provider.Client.find(params.client_id);
      send(res, 200, consentForm(uid, client, prompt.details));
    } else {
      send(res, 200, loginForm(uid, { login: params.login_hint || '' }));
    }
    return;
  }

  if (req.method === 'GET' && action === 'abort') {
    await provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'End-User aborted interaction',
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'POST' && action === 'login') {
    const form = await readForm(req);
    const login = (form.get('login') || '').trim().toLowerCase();
    const password = form.get('password') || '';
    if (!Object.hasOwn(ACCOUNTS, login) || !password) {
      send(res, 200, loginForm(uid, { login, error: 'Неизвестный пользователь или пустой пароль' }));
      return;
    }
    await provider.interactionFinished(req, res, {
      select_account: {},
      login: { accountId: login },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (req.method === 'POST' && action === 'confirm') {
    await readForm(req);
    if (prompt.name !== 'consent') {
      send(res, 400, page('Ошибка', '<h1>Нечего подтверждать</h1>'));
      return;
    }
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    if (prompt.details.missingResourceScopes) {
      for (const [indicator, scope] of Object.entries(prompt.details.missingResourceScopes)) {
        grant.addResourceScope(indicator, scope.join(' '));
      }
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  send(res, 405, page('Ошибка', '<h1>Метод не поддерживается</h1>'));
}

const callback = provider.callback();
const INTERACTION = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?\/?$/;

const server = http.createServer((req, res) => {
  const { pathname } = new URL(req.url, issuer);
  const match = INTERACTION.exec(pathname);
  if (!match) {
    callback(req, res);
    return;
  }
  interaction(req, res, match[1], match[2] || '').catch((err) => {
    console.error(`interaction ${req.method} ${pathname}: ${err.name}: ${err.message}`);
    if (!res.headersSent) {
      send(res, 400, page('Ошибка', `<h1>Ошибка входа</h1><pre>${escape(err.name)}: ${escape(err.message)}</pre>`));
    } else {
      res.end();
    }
  });
});

provider.on('server_error', (ctx, err) => console.error(`server_error: ${err.stack || err}`));

server.listen(port, '127.0.0.1', () => {
  console.log(`OIDC provider ready on ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
