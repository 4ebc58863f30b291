// The contract's routes for an app whose credential is a bearer JWT that jsonwebtoken issues
// (express-jwt, passport-jwt): the libraries differ only in the middleware that verifies it,
// which the caller passes as ``authenticate`` (it sets ``req.auth`` to the verified claims).
import crypto from "node:crypto";
import {
  adminTarget, attempt, disableRoute, endSessionsRoute, env, expressErrors, field, serve,
  setUp as setUpCommon,
} from "./common.js";

export const AUDIENCE = "https://app.example.test";
export const ISSUER = "https://auth.example.test";

/** Everything an app needs before it builds its verifier: users, throttle, store, secret. */
export async function setUp({ createClient }) {
  const ctx = await setUpCommon({ createClient, prefix: "jwt" });
  const { recommended, absolute } = ctx;
  return {
    ...ctx,
    secret: crypto.randomBytes(32),
    pinned: recommended, // audience and issuer set on sign and checked on verify
    // 1 h (defaults) or 15 min (recommended); with TIMEOUTS=short, the 2 s absolute timeout.
    lifetime: env.short ? absolute : recommended ? 15 * 60 : 3600,
  };
}

/** Serve the contract with ``authenticate`` as the verifier; ``ctx`` comes from setUp. */
export function serveBearerApp({ express, jwt, authenticate, ctx }) {
  const { recommended, users, throttle, store, secret, lifetime, redis, pinned } = ctx;
  const verifyOptions = { algorithms: ["HS256"], ...(pinned ? { audience: AUDIENCE, issuer: ISSUER } : {}) };

  async function issue(user) {
    const claims = { role: user.role, ...(recommended ? await store.open(user.name) : {}) };
    const options = { algorithm: "HS256", expiresIn: lifetime, subject: user.name, jwtid: crypto.randomUUID() };
    if (pinned) Object.assign(options, { audience: AUDIENCE, issuer: ISSUER });
    return jwt.sign(claims, secret, options);
  }

  /** The verified claims of the bearer token this request presents, or null. */
  function presented(req) {
    const [scheme, token] = (req.get("Authorization") ?? "").split(" ");
    try {
      return scheme === "Bearer" ? jwt.verify(token, secret, verifyOptions) : null;
    } catch {
      return null;
    }
  }

  function current(req, res, next) {
    // defaults: the token says who and what role; recommended: the users table does.
    res.locals.user = recommended ? users.get(req.auth.sub) : { name: req.auth.sub, role: req.auth.role };
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
    const login = { users, throttle, throttled: recommended };
    const { status, user } = await attempt(login, field(req.body, "username"), field(req.body, "password"));
    if (!user) return res.status(status).json({ error: status });
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
    if (!(await users.change(name, req.body))) return res.status(401).json({ error: 401 });
    const body = { changed: true };
    if (recommended && field(req.body, "end_other_sessions") === "1") {
      await store.endAll(name);
      body.access_token = await issue(users.get(name)); // this device's new token
    }
    res.json(body);
  });

  app.post("/admin/disable", guarded, adminTarget(users), disableRoute(users));

  if (recommended) {
    app.post("/logout", guarded, async (req, res) => {
      await store.close(req.auth.sid);
      res.json({ logged_out: true });
    });
    app.post("/logout-everywhere", guarded, async (req, res) => {
      await store.endAll(res.locals.user.name);
      res.json({ logged_out_everywhere: true });
    });
    app.post("/admin/end-sessions", guarded, adminTarget(users), endSessionsRoute((name) => store.endAll(name)));
  }

  app.use((req, res) => res.status(404).json({ error: 404 }));
  app.use(expressErrors);
  return serve(app, { onClose: async () => redis?.quit() });
}
