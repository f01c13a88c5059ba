// A real OpenID provider for the tests: the certified `oidc-provider` package (npm, pinned in
// package-lock.json) on 127.0.0.1. Usage: node server.mjs <config.json>, where the file gives
// { "port", "clients": [...], "accounts": { "<id>": { claims } }, "defaultAccount" }.
// The code flow, PKCE (required for every client), the nonce and the signatures are the
// package's own; only the interaction is ours: it logs in the account named by the request's
// login_hint (or the default one) and grants what is asked, without a form.
import { generateKeyPairSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";

const require = createRequire(path.join(process.cwd(), "package.json"));
const { default: Provider } = await import(require.resolve("oidc-provider"));

const config = JSON.parse(readFileSync(process.argv[2], "utf8"));
const issuer = `http://127.0.0.1:${config.port}`;

function signingKey(type, options, alg, kid) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: "jwk" }), kid, alg, use: "sig" };
}

const keys = [
  signingKey("rsa", { modulusLength: 2048 }, "RS256", "test-rs256"),
  signingKey("ec", { namedCurve: "P-256" }, "ES256", "test-es256"),
];

const accounts = config.accounts;

const provider = new Provider(issuer, {
  clients: config.clients,
  jwks: { keys },
  cookies: { keys: ["khutwa-test-provider-cookies"] },
  pkce: { required: () => true },
  claims: {
    openid: ["sub"],
    profile: ["name", "given_name", "family_name", "name_ar", "name_en", "cpr"],
    email: ["email", "email_verified"],
    phone: ["phone_number", "phone_number_verified"],
  },
  features: {
    devInteractions: { enabled: false },
    rpInitiatedLogout: {
      enabled: true,
      logoutSource: async (ctx, form) => {
        ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head>
<body><main><h1>Sign out of the national identity?</h1>${form}
<button id="op-logout-yes" type="submit" form="op.logoutForm" value="yes" name="logout">Yes, sign me out</button>
</main></body></html>`;
      },
    },
  },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});
provider.proxy = false;

provider.use(async (ctx, next) => {
  if (!ctx.path.startsWith("/interaction/")) {
    await next();
    return;
  }
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params, session } = details;
  let result;
  if (prompt.name === "login") {
    const hint = params.login_hint;
    const accountId = hint && accounts[hint] ? hint : config.defaultAccount;
    result = { login: { accountId } };
  } else {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(" "));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    if (missing.missingResourceScopes) {
      for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes)) {
        grant.addResourceScope(indicator, scopes.join(" "));
      }
    }
    result = { consent: { grantId: await grant.save() } };
  }
  const to = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
  ctx.redirect(to);
});

const server = provider.listen(config.port, "127.0.0.1", () => {
  console.log(`oidc-provider ready at ${issuer}`);
});
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
