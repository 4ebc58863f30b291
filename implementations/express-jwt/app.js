// express-jwt checks a bearer JWT that jsonwebtoken issues, as their READMEs show. CONFIG=defaults:
// HS256 with a random secret, one hour of life, `algorithms` (express-jwt requires it), no
// revocation, so no logout route: the client forgets its token. CONFIG=recommended: the documented
// isRevoked hook checking a Redis record per login (logout, idle and absolute timeouts, a version
// per user, the account's state), a 15-minute token, audience and issuer pinned, a login throttle.
import crypto from "node:crypto";
import express from "express";
import { expressjwt } from "express-jwt";
import jwt from "jsonwebtoken";
import { createClient } from "redis";
import {
  LoginStore, Throttle, Users, env, expressErrors, field, serve, timeouts,
} from "../_node/common.js";

const recommended = env.config === "recommended";
const { idle, absolute } = timeouts();
const users = await Users.create();
const throttle = new Throttle();
const redis = recommended ? await createClient({ url: env.redisUrl }).connect() : null;
const store = recommended ? new LoginStore(redis, `jwt:${env.port}:`, { idle, absolute }) : null;

const secret = crypto.randomBytes(32);
const AUDIENCE = "https://app.example.test", ISSUER = "https://auth.example.test";
// Token lifetime: 1 h (defaults) or 15 min (recommended); 2 s with TIMEOUTS=short.
const lifetime = env.short ? absolute : recommended ? 15 * 60 : 3600;

async function issue(user) {
  const claims = { role: user.role, ...(recommended ? await store.open(user.name) : {}) };
  const options = { algorithm: "HS256", expiresIn: lifetime, subject: user.name, jwtid: crypto.randomUUID() };
  if (recommended) Object.assign(options, { audience: AUDIENCE, issuer: ISSUER });
  return jwt.sign(claims, secret, options);
}

const authenticate = expressjwt({
  secret,
  algorithms: ["HS256"],
  ...(recommended
    ? {
        audience: AUDIENCE,
        issuer: ISSUER,
        // The documented revocation hook: a Redis record per login, checked on every request.
        isRevoked: async (req, token) =>
          !users.get(token.payload.sub) || !(await store.live(token.payload.sub, token.payload)),
      }
    : {}),
});

/** The verified claims of the bearer token this request presents, or null. */
function presented(req) {
  const [scheme, token] = (req.get("Authorization") ?? "").split(" ");
  try {
    return scheme === "Bearer" ? jwt.verify(token, secret, { algorithms: ["HS256"], audience: AUDIENCE, issuer: ISSUER }) : null;
  } catch {
    return null;
  }
}

function current(req, res, next) {
  const user = users.get(req.auth.sub);
  // defaults: the token says who and what role; recommended: the users table does.
  res.locals.user = recommended ? user : { name: req.auth.sub, role: req.auth.role };
  if (!res.locals.user) return res.status(401).json({ error: 401 });
  next();
}

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
app.use((req, res, next) => {
  res.set("Cache-Control", "no-store"); // the token is in the login response's body
  next();
});

app.post("/login", async (req, res) => {
  const name = field(req.body, "username");
  if (recommended && throttle.blocked(name)) return res.status(429).json({ error: 429 });
  const user = await users.check(name, field(req.body, "password"));
  if (!user) {
    throttle.fail(name);
    return res.status(401).json({ error: 401 });
  }
  throttle.succeed(name);
  if (recommended) await store.close(presented(req)?.sid); // re-login ends the token it replaces
  res.json({ user: user.name, access_token: await issue(user), token_type: "Bearer" });
});

const guarded = [authenticate, current];
app.get("/me", guarded, (req, res) => res.json({ user: res.locals.user.name, role: res.locals.user.role }));
app.post("/transfer", guarded, (req, res) => res.json({ transferred: field(req.body, "amount") ?? "0" }));

app.post("/elevate", guarded, async (req, res) => {
  const user = await users.check(res.locals.user.name, field(req.body, "password"));
  if (!user) return res.status(401).json({ error: 401 });
  if (recommended) await store.close(req.auth.sid);
  res.json({ elevated: true, access_token: await issue(user), token_type: "Bearer" });
});

app.post("/password", guarded, async (req, res) => {
  const name = res.locals.user.name;
  const next = field(req.body, "new");
  if (!next || !(await users.check(name, field(req.body, "old")))) {
    return res.status(401).json({ error: 401 });
  }
  await users.setPassword(name, next);
  const body = { changed: true };
  if (recommended && field(req.body, "end_other_sessions") === "1") {
    await store.endAll(name);
    body.access_token = await issue(users.get(name)); // this device's new token
  }
  res.json(body);
});

const admin = (req, res, next) =>
  users.get(res.locals.user.name)?.role === "admin" ? next() : res.status(403).json({ error: 403 });
const target = (req) => users.get(field(req.body, "user"))?.name;

app.post("/admin/disable", guarded, admin, (req, res) => {
  const name = target(req);
  if (!name) return res.status(404).json({ error: 404 });
  users.disable(name);
  res.json({ disabled: name });
});

if (recommended) {
  app.post("/logout", guarded, async (req, res) => {
    await store.close(req.auth.sid);
    res.json({ logged_out: true });
  });
  app.post("/logout-everywhere", guarded, async (req, res) => {
    await store.endAll(res.locals.user.name);
    res.json({ logged_out_everywhere: true });
  });
  app.post("/admin/end-sessions", guarded, admin, async (req, res) => {
    const name = target(req);
    if (!name) return res.status(404).json({ error: 404 });
    await store.endAll(name);
    res.json({ ended: name });
  });
}

app.use((req, res) => res.status(404).json({ error: 404 }));
app.use(expressErrors);

serve(app, { onClose: async () => redis?.quit() });
