// iron-session: the session sealed (encrypted and signed) into the cookie, on Express with
// getIronSession(req, res, options) as its README shows. CONFIG=defaults is the README's usage
// with its default options; CONFIG=recommended adds what a careful user adds: a server-side
// record per login checked on every read (Redis: idle and absolute timeouts, logout, a version
// per user for log out everywhere), a __Host- cookie that ends with the browser, an Origin check
// and a login throttle. iron-session itself has no CSRF, revocation or throttling feature.
import crypto from "node:crypto";
import express from "express";
import { getIronSession } from "iron-session";
import { createClient } from "redis";
import {
  adminTarget, attempt, disableRoute, endSessionsRoute, env, expressErrors, field, sameOrigin,
  serve, setUp,
} from "../_node/common.js";

const { recommended, idle, users, throttle, redis, store } = await setUp({ createClient, prefix: "iron" });

const password = crypto.randomBytes(32).toString("hex"); // >= 32 characters, as required
const options = recommended
  ? {
      password,
      cookieName: "__Host-iron-session",
      // maxAge undefined: a cookie that ends with the browser. iron-session then seals with
      // ttl 0 (no expiry in the seal): the store's record is what ends the session.
      cookieOptions: { maxAge: undefined, secure: true, httpOnly: true, sameSite: "lax", path: "/" },
    }
  : {
      password,
      cookieName: "iron-session",
      // README defaults: ttl 14 days, cookie Max-Age ttl - 60 s. With TIMEOUTS=short the seal's
      // ttl is 1 s and the cookie's Max-Age 1 s (the default, ttl - 60, would delete it at once).
      ...(env.short ? { ttl: idle, cookieOptions: { maxAge: idle } } : {}),
    };

const app = express();
app.disable("x-powered-by");
app.use(express.urlencoded({ extended: false, limit: "16kb", parameterLimit: 20 }));
if (recommended) {
  app.use(sameOrigin);
  app.use((req, res, next) => {
    res.set("Cache-Control", "no-store");
    next();
  });
}
app.use(async (req, res, next) => {
  res.locals.session = await getIronSession(req, res, options);
  next();
});

async function signIn(session, name, role) {
  if (recommended) {
    await store.close(session.sid); // re-login ends the login this browser had
    Object.assign(session, await store.open(name));
  }
  session.username = name;
  session.role = role;
  session.isLoggedIn = true;
  await session.save();
}

async function current(req, res, next) {
  const session = res.locals.session;
  // defaults: who and what role, as sealed at login (the README's examples read the session);
  // recommended: the users table (a disabled account ends here) and the login's record.
  const user = !session.isLoggedIn ? null
    : recommended ? users.get(session.username) : { name: session.username, role: session.role };
  if (!user || (recommended && !(await store.live(user.name, session)))) {
    return res.status(401).json({ error: 401 });
  }
  res.locals.user = user;
  next();
}

app.post("/login", async (req, res) => {
  const login = { users, throttle, throttled: recommended };
  const { status, user } = await attempt(login, field(req.body, "username"), field(req.body, "password"));
  if (!user) return res.status(status).json({ error: status });
  await signIn(res.locals.session, user.name, user.role);
  res.json({ user: user.name });
});

app.get("/me", current, (req, res) => res.json({ user: res.locals.user.name, role: res.locals.user.role }));

app.post("/transfer", current, (req, res) => res.json({ transferred: field(req.body, "amount") ?? "0" }));

app.post("/logout", current, async (req, res) => {
  if (recommended) await store.close(res.locals.session.sid);
  res.locals.session.destroy(); // "only removes the cookie" (README)
  res.json({ logged_out: true });
});

app.post("/elevate", current, async (req, res) => {
  if (!(await users.check(res.locals.user.name, field(req.body, "password")))) {
    return res.status(401).json({ error: 401 });
  }
  res.locals.session.elevated = true;
  await signIn(res.locals.session, res.locals.user.name, res.locals.user.role); // a new seal (and, recommended, a new login)
  res.json({ elevated: true });
});

app.post("/password", current, async (req, res) => {
  const name = res.locals.user.name;
  if (!(await users.change(name, req.body))) return res.status(401).json({ error: 401 });
  if (recommended && field(req.body, "end_other_sessions") === "1") {
    await store.endAll(name);
    await signIn(res.locals.session, name, res.locals.user.role);
  }
  res.json({ changed: true });
});

app.post("/admin/disable", current, adminTarget(users), disableRoute(users));

if (recommended) {
  app.post("/logout-everywhere", current, async (req, res) => {
    await store.endAll(res.locals.user.name);
    res.locals.session.destroy();
    res.json({ logged_out_everywhere: true });
  });
  app.post("/admin/end-sessions", current, adminTarget(users), endSessionsRoute((name) => store.endAll(name)));
}

app.use((req, res) => res.status(404).json({ error: 404 }));
app.use(expressErrors);

serve(app, { onClose: async () => redis?.quit() });
