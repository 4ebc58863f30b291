// Auth.js through @auth/express: the Credentials provider, hence the JWT strategy (an encrypted
// JWE cookie). CONFIG=defaults is the documented setup; CONFIG=recommended adds what a careful
// Auth.js user deploys with Auth.js's own API: a jwt callback that checks a store on every read.
// The contract's /csrf, /login, /logout and /elevate relay to Auth.js's own REST endpoints
// (/auth/csrf, /auth/callback/credentials, /auth/signout) in process, through @auth/core's Auth();
// the app's other routes are plain Express handlers reading the session with getSession.
import crypto from "node:crypto";
import { Auth, setEnvDefaults } from "@auth/core";
import { CredentialsSignin, ExpressAuth, getSession } from "@auth/express";
import Credentials from "@auth/express/providers/credentials";
import express from "express";
import { createClient } from "redis";
import {
  adminTarget, attempt, disableRoute, endSessionsRoute, env, expressErrors, field, serve, setUp,
} from "../_node/common.js";

// The store a careful user adds (recommended): one key per login, one version per user.
const { recommended, idle, users, throttle, redis, store } = await setUp({ createClient, prefix: "authjs" });

class Throttled extends CredentialsSignin {
  code = "throttled";
}

export const authConfig = {
  secret: crypto.randomBytes(32).toString("hex"),
  trustHost: true, // loopback only; behind a proxy Auth.js reads X-Forwarded-Host/-Proto
  basePath: "/auth",
  providers: [
    Credentials({
      credentials: { username: {}, password: {} },
      async authorize(credentials) {
        const login = { users, throttle, throttled: recommended };
        const name = field(credentials, "username");
        const { status, user } = await attempt(login, name, field(credentials, "password"));
        if (status === 429) throw new Throttled();
        return user ? { id: user.name, name: user.name, role: user.role } : null;
      },
    }),
  ],
  // Auth.js's default maxAge is 30 days; with TIMEOUTS=short the token lives 1 s (Auth.js slides
  // it on every read of /auth/session: its idle timeout).
  session: { strategy: "jwt", ...(env.short ? { maxAge: idle } : {}) },
  ...(recommended ? { useSecureCookies: true } : {}), // __Secure- / __Host- names over http too
  callbacks: {
    // Role-based access control as https://authjs.dev/guides/role-based-access-control shows.
    async jwt({ token, user }) {
      if (user) {
        token.role = user.role;
        if (recommended) Object.assign(token, await store.open(token.name));
        return token;
      }
      if (!recommended) return token;
      const account = users.get(token.name); // disabled accounts end here
      if (!account || !(await store.live(token.name, token))) return null; // null: Auth.js drops the session
      token.role = account.role; // a role change takes effect on the next read
      return token;
    },
    session({ session, token }) {
      session.user.role = token.role;
      if (recommended) session.sid = token.sid;
      return session;
    },
  },
  events: {
    async signOut({ token }) {
      if (recommended && token?.sid) await store.close(token.sid);
    },
  },
};
setEnvDefaults(process.env, authConfig);

/** One of Auth.js's own endpoints, called in process with this request's cookies; its cookies
 * are passed on. ``X-Auth-Return-Redirect`` makes Auth.js answer JSON ``{url}`` instead of 302. */
async function authAction(req, res, action, form) {
  const headers = new Headers({ "X-Auth-Return-Redirect": "1", Cookie: req.headers.cookie ?? "" });
  let body;
  if (form) {
    headers.set("Content-Type", "application/x-www-form-urlencoded");
    body = new URLSearchParams(form).toString();
  }
  const url = `${req.protocol}://127.0.0.1:${env.port}/auth/${action}`;
  const response = await Auth(new Request(url, { method: form ? "POST" : "GET", headers, body }), authConfig);
  for (const cookie of response.headers.getSetCookie()) res.append("Set-Cookie", cookie);
  const data = await response.json().catch(() => null);
  const redirect = data?.url ? new URL(data.url) : null;
  return { status: response.status, data, error: redirect?.searchParams.get("error"),
    code: redirect?.searchParams.get("code") };
}

const csrfFrom = (req) => req.get("X-CSRF-Token") ?? field(req.body, "csrfToken") ?? "";

/** Sign in through /auth/callback/credentials; the status the contract wants. */
async function signIn(req, res, name, password) {
  const form = { csrfToken: csrfFrom(req), username: name ?? "", password: password ?? "" };
  const result = await authAction(req, res, "callback/credentials", form);
  if (!result.error) return 200;
  if (result.error === "MissingCSRF") return 403;
  return result.code === "throttled" ? 429 : 401;
}

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
if (recommended) {
  app.use((req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });
}
// Auth.js's REST API as documented (GET /auth/session re-issues the cookie on every read).
app.use("/auth", ExpressAuth(authConfig));

async function current(req, res, next) {
  const session = await getSession(req, authConfig);
  const name = session?.user?.name;
  if (!name) return res.status(401).json({ error: 401 });
  res.locals.session = session;
  res.locals.user = name;
  next();
}

app.get("/csrf", async (req, res) => {
  const { data } = await authAction(req, res, "csrf");
  res.json({ csrf_token: data?.csrfToken });
});

app.post("/login", async (req, res) => {
  if (recommended) { // re-login: the session this browser had ends (Auth.js keeps it valid)
    const old = await getSession(req, authConfig);
    if (old?.sid) await store.close(old.sid);
  }
  const status = await signIn(req, res, field(req.body, "username"), field(req.body, "password"));
  res.status(status).json(status === 200 ? { user: field(req.body, "username") } : { error: status });
});

app.get("/me", current, (req, res) => res.json({ user: res.locals.user, role: res.locals.session.user.role }));

app.post("/transfer", current, (req, res) => res.json({ transferred: field(req.body, "amount") ?? "0" }));

app.post("/logout", current, async (req, res) => {
  const { error } = await authAction(req, res, "signout", { csrfToken: csrfFrom(req) });
  res.status(error ? 403 : 200).json({ logged_out: !error });
});

// Re-authentication is signing in again, the one way Auth.js issues a token.
app.post("/elevate", current, async (req, res) => {
  if (recommended) await store.close(res.locals.session.sid);
  const status = await signIn(req, res, res.locals.user, field(req.body, "password"));
  res.status(status).json(status === 200 ? { elevated: true } : { error: status });
});

app.post("/password", current, async (req, res) => {
  const name = res.locals.user;
  if (!(await users.change(name, req.body))) return res.status(401).json({ error: 401 });
  if (recommended && field(req.body, "end_other_sessions") === "1") {
    await store.endAll(name);
    const status = await signIn(req, res, name, req.body.new); // this device signs in again
    if (status !== 200) return res.status(status).json({ error: status });
  }
  res.json({ changed: true });
});

app.post("/admin/disable", current, adminTarget(users), disableRoute(users));

if (recommended) {
  app.post("/logout-everywhere", current, async (req, res) => {
    await store.endAll(res.locals.user);
    const { error } = await authAction(req, res, "signout", { csrfToken: csrfFrom(req) });
    res.status(error ? 403 : 200).json({ logged_out_everywhere: !error });
  });
  app.post("/admin/end-sessions", current, adminTarget(users), endSessionsRoute((name) => store.endAll(name)));
}

app.use((req, res) => res.status(404).json({ error: 404 }));
app.use(expressErrors);

serve(app, { onClose: async () => redis?.quit() });
