// better-auth with its default database sessions, in its own memory adapter (no native build), mounted
// on Express with its documented toNodeHandler. CONFIG=defaults is the documented setup (email
// and password, plus the admin plugin, better-auth's documented way to have roles and bans);
// CONFIG=cookie-cache turns on the session cookie cache; CONFIG=recommended is what a careful user
// adds. The contract's /login and /logout relay to better-auth's own endpoints
// (/api/auth/sign-in/email, /api/auth/sign-out) through auth.handler, so every check better-auth
// makes on them (Origin, Fetch Metadata, rate limit) applies; the other routes are Express
// handlers calling better-auth's server API (auth.api.*) with the request's headers.
import crypto from "node:crypto";
import { betterAuth } from "better-auth";
import { fromNodeHeaders, toNodeHandler } from "better-auth/node";
import { admin } from "better-auth/plugins";
import { memoryAdapter } from "better-auth/adapters/memory";
import express from "express";
import { DEMO_USERS, env, expressErrors, field, serve, timeouts } from "../_node/common.js";

const recommended = env.config === "recommended";
const cached = env.config === "cookie-cache";
const { idle, absolute } = timeouts();
const baseURL = `http://127.0.0.1:${env.port}`;
const email = (name) => `${name}@example.test`;

// The cookie cache's maxAge: 300 s by default; COOKIE_CACHE_MAX_AGE for the delay measurement.
const cacheMaxAge = Number(process.env.COOKIE_CACHE_MAX_AGE ?? 300);

const tables = { user: [], session: [], account: [], verification: [] };

export const auth = betterAuth({
  baseURL,
  // The app's own origins: the checklist reaches it as 127.0.0.1 and, in a browser, as
  // app.site.localhost (a real site lists the host names it serves).
  trustedOrigins: [baseURL, `http://app.site.localhost:${env.port}`],
  secret: crypto.randomBytes(32).toString("hex"),
  // The tables as plain arrays: better-auth's memory adapter needs no migration and no native
  // module (better-sqlite3 needs a C++ build against Node's headers, which Node from PyPI lacks).
  database: memoryAdapter(tables),
  emailAndPassword: {
    enabled: true,
    ...(recommended ? { revokeSessionsOnPasswordReset: true } : {}),
  },
  plugins: [admin()],
  session: {
    // Defaults 7 days, refreshed once a day of use; with TIMEOUTS=short 1 s, refreshed on every
    // read (updateAge 0): better-auth's sliding expiry is its idle timeout.
    ...(env.short ? { expiresIn: idle, updateAge: 0 } : {}),
    ...(cached ? { cookieCache: { enabled: true, maxAge: cacheMaxAge } } : {}),
  },
  ...(recommended
    ? {
        advanced: { useSecureCookies: true }, // __Secure-better-auth.session_token over http too
        // Production's limiter (NODE_ENV=production turns it on), with sign-in raised from 3 to
        // 200 per 10 s per IP so that one checklist run from one address can log in at all.
        rateLimit: { enabled: true, customRules: { "/sign-in/email": { window: 10, max: 200 } } },
      }
    : {}),
});

for (const [name, [password]] of Object.entries(DEMO_USERS)) {
  await auth.api.signUpEmail({ body: { email: email(name), password, name } });
}
for (const user of tables.user) user.role = user.name === "root" ? "admin" : (user.role ?? "user");
tables.session.length = 0; // sign-up signed everyone in: start with no sessions

/** One of better-auth's own endpoints through auth.handler, with the browser's headers. */
async function relay(req, res, path, body) {
  const headers = fromNodeHeaders(req.headers);
  headers.set("Content-Type", "application/json");
  headers.delete("Content-Length");
  headers.set("X-Forwarded-For", req.socket.remoteAddress ?? ""); // as a proxy would
  const request = new Request(`${baseURL}/api/auth${path}`, {
    method: "POST",
    headers,
    body: JSON.stringify(body),
  });
  const response = await auth.handler(request);
  for (const cookie of response.headers.getSetCookie()) res.append("Set-Cookie", cookie);
  return response.status;
}

const app = express();
app.disable("x-powered-by");
// better-auth's handler before any body parser, as its Express page says.
app.all("/api/auth/{*splat}", toNodeHandler(auth));
app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
if (recommended) {
  app.use((req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });
}

const headersOf = (req) => fromNodeHeaders(req.headers);

async function current(req, res, next) {
  const found = await auth.api.getSession({ headers: headersOf(req) });
  if (!found) return res.status(401).json({ error: 401 });
  if (recommended && Date.now() - new Date(found.session.createdAt) > absolute * 1000) {
    await auth.api.revokeSession({ body: { token: found.session.token }, headers: headersOf(req) });
    return res.status(401).json({ error: 401 }); // better-auth has no absolute lifetime
  }
  res.locals.found = found;
  next();
}

app.post("/login", async (req, res) => {
  const previous = recommended ? await auth.api.getSession({ headers: headersOf(req) }) : null;
  const body = { email: email(field(req.body, "username") ?? ""), password: field(req.body, "password") ?? "" };
  const status = await relay(req, res, "/sign-in/email", body);
  if (status === 200 && previous) { // re-login ends the session this browser had
    await auth.api.revokeSession({ body: { token: previous.session.token }, headers: headersOf(req) });
  }
  res.status(status).json(status === 200 ? { user: field(req.body, "username") } : { error: status });
});

app.get("/me", current, (req, res) =>
  res.json({ user: res.locals.found.user.name, role: res.locals.found.user.role }));

app.post("/transfer", current, (req, res) => res.json({ transferred: field(req.body, "amount") ?? "0" }));

app.post("/logout", current, async (req, res) => {
  const status = await relay(req, res, "/sign-out", {});
  res.status(status).json({ logged_out: status === 200 });
});

// Re-authentication: sign in again (a new session); a careful user also revokes the old one.
app.post("/elevate", current, async (req, res) => {
  const old = res.locals.found.session.token;
  const status = await relay(req, res, "/sign-in/email", {
    email: res.locals.found.user.email, password: field(req.body, "password") ?? "" });
  if (status === 200 && recommended) {
    await auth.api.revokeSession({ body: { token: old }, headers: headersOf(req) });
  }
  res.status(status).json(status === 200 ? { elevated: true } : { error: status });
});

app.post("/password", current, async (req, res) => {
  const response = await auth.api.changePassword({
    body: {
      currentPassword: field(req.body, "old") ?? "",
      newPassword: field(req.body, "new") ?? "",
      revokeOtherSessions: field(req.body, "end_other_sessions") === "1",
    },
    headers: headersOf(req),
    asResponse: true,
  });
  for (const cookie of response.headers.getSetCookie()) res.append("Set-Cookie", cookie);
  res.status(response.status).json({ changed: response.ok });
});

app.post("/logout-everywhere", current, async (req, res) => {
  await auth.api.revokeSessions({ headers: headersOf(req) });
  res.json({ logged_out_everywhere: true });
});

async function target(req, res, next) {
  if (res.locals.found.user.role !== "admin") return res.status(403).json({ error: 403 });
  const row = tables.user.find((user) => user.name === (field(req.body, "user") ?? ""));
  if (!row) return res.status(404).json({ error: 404 });
  res.locals.target = row.id;
  next();
}

app.post("/admin/end-sessions", current, target, async (req, res) => {
  await auth.api.revokeUserSessions({ body: { userId: res.locals.target }, headers: headersOf(req) });
  res.json({ ended: field(req.body, "user") });
});

app.post("/admin/disable", current, target, async (req, res) => {
  await auth.api.banUser({ body: { userId: res.locals.target }, headers: headersOf(req) });
  res.json({ disabled: field(req.body, "user") });
});

app.use((req, res) => res.status(404).json({ error: 404 }));
app.use(expressErrors);

serve(app);
