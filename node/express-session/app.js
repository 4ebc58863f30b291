// express-session on Redis (connect-redis) with csrf-sync: as shipped and as the book recommends.
// Usage: node app.js --port N --redis-port M [--config defaults|recommended] [--short-port P]
// Same routes as the Python apps of sessionlab/recommended/frameworks, for chapter 41's checklist.
// With --short-port, the same configuration with its timeouts shrunk to seconds (1 s idle, 2 s
// absolute) also listens on port P: a second app, with its own users and sessions, in this process.
import crypto from "node:crypto";
import { parseArgs } from "node:util";
import { RedisStore } from "connect-redis";
import { csrfSync } from "csrf-sync";
import express from "express";
import session from "express-session";
import { createClient } from "redis";

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    "redis-port": { type: "string" },
    config: { type: "string", default: "defaults" },
    "short-port": { type: "string" },
  },
});
const recommended = args.config === "recommended";
const redis = createClient({ socket: { host: "127.0.0.1", port: Number(args["redis-port"]) } });
await redis.connect();

function makeApp(short, port) {
  const IDLE = short ? 1 : 30 * 60; // seconds
  const ABSOLUTE = short ? 2 : 8 * 3600;

  const hash = (password, salt) =>
    crypto.pbkdf2Sync(password, salt, 20000, 32, "sha256").toString("hex");
  const DEMO = {
    alice: ["correct horse", "user"], root: ["root password", "admin"],
    carol: ["carol password", "user"], dave: ["dave password", "user"],
    erin: ["erin password", "user"], frank: ["frank password", "user"],
  };
  const users = new Map();
  for (const [name, [password, role]] of Object.entries(DEMO)) {
    const salt = crypto.randomBytes(16).toString("hex");
    users.set(name, { salt, hash: hash(password, salt), role });
  }
  const DUMMY = { salt: "0".repeat(32), hash: "0".repeat(64) };
  function checkPassword(name, password) {
    const user = users.get(name);
    if (!user && !recommended) return false; // an unknown user costs nothing: a timing oracle
    const record = user ?? DUMMY; // recommended: the same hash either way
    const ok = crypto.timingSafeEqual(
      Buffer.from(hash(password, record.salt), "hex"), Buffer.from(record.hash, "hex"));
    return ok && user !== undefined;
  }

  const app = express();
  app.use(express.urlencoded({ extended: false }));

  // --- the session: express-session's defaults, or the book's settings --------------------------
  const prefix = `sess:${args.config}:${short}:${port}:`;
  if (recommended) {
    app.set("trust proxy", "loopback"); // TLS ends at a proxy on this host: X-Forwarded-Proto
    app.use(session({
      name: "__Host-sid",
      secret: crypto.randomBytes(32).toString("hex"),
      store: new RedisStore({ client: redis, prefix, ttl: IDLE }), // TTL restarts on use: idle
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, secure: true, sameSite: "lax", path: "/" }, // no maxAge
    }));
  } else {
    app.use(session({
      secret: crypto.randomBytes(32).toString("hex"),
      store: new RedisStore({ client: redis, prefix, ...(short ? { ttl: IDLE } : {}) }),
      resave: false,
      saveUninitialized: true,
    }));
  }

  const { generateToken, csrfSynchronisedProtection } = csrfSync();
  const generations = new Map(); // recommended: user -> generation, to end all their sessions
  // user name digest -> times of recent failed logins. Keyed by a SHA-256 digest (a key's length
  // does not depend on the name sent) and capped at MAX_NAMES, the oldest name forgotten first:
  // memory does not grow with hostile names.
  const failures = new Map();
  const MAX_NAMES = 10000;
  const nameKey = (name) => crypto.createHash("sha256").update(name).digest("base64url");
  function recentFailures(key, now) {
    const recent = (failures.get(key) ?? []).filter((t) => now - t < 900);
    if (recent.length === 0) failures.delete(key);
    return recent;
  }
  function countFailure(key, recent, now) {
    failures.delete(key); // re-inserted last: Map keeps insertion order, oldest first
    failures.set(key, [...recent, now].slice(-5));
    while (failures.size > MAX_NAMES) failures.delete(failures.keys().next().value);
  }

  if (recommended) {
    app.use((req, res, next) => {
      const s = req.session;
      if (s.user && (Date.now() / 1000 - s.authAt > ABSOLUTE ||
          s.generation !== (generations.get(s.user) ?? 0))) {
        return s.destroy(() => res.status(401).json({ error: 401 }));
      }
      res.set("Cache-Control", "no-store");
      next();
    });
  }

  app.get("/csrf", (req, res) => res.json({ csrf_token: generateToken(req) }));
  app.use(csrfSynchronisedProtection);

  function regenerate(req, keep) {
    return new Promise((resolve, reject) => {
      const { cookie, ...data } = keep; // the new session keeps its own cookie
      req.session.regenerate((err) => {
        if (err) return reject(err);
        Object.assign(req.session, data);
        resolve();
      });
    });
  }

  app.post("/login", async (req, res) => {
    const { username = "", password = "" } = req.body ?? {};
    if (typeof username !== "string" || typeof password !== "string") {
      return res.status(400).json({ error: 400 }); // a repeated field arrives as an array
    }
    const now = Date.now() / 1000;
    const key = nameKey(username);
    const recent = recentFailures(key, now);
    if (recommended && recent.length >= 5) return res.status(429).json({ error: 429 });
    // Counted before the (synchronous) check: concurrent guesses cannot pass the limit.
    countFailure(key, recent, now);
    if (!checkPassword(username, password)) return res.status(401).json({ error: 401 });
    failures.delete(key);
    await regenerate(req, {}); // express-session's README: regenerate on login
    req.session.user = username;
    if (recommended) {
      req.session.authAt = now;
      req.session.generation = generations.get(username) ?? 0;
    }
    res.json({ user: username });
  });

  function requireUser(req, res, next) {
    if (!req.session.user || !users.has(req.session.user)) return res.status(401).json({ error: 401 });
    next();
  }

  app.get("/me", requireUser, (req, res) =>
    res.json({ user: req.session.user, role: users.get(req.session.user).role }));
  app.post("/transfer", requireUser, (req, res) => res.json({ transferred: req.body.amount ?? "0" }));

  app.post("/elevate", requireUser, async (req, res) => {
    const { password = "" } = req.body;
    if (typeof password !== "string") return res.status(400).json({ error: 400 });
    if (!checkPassword(req.session.user, password)) return res.status(401).end();
    if (recommended) await regenerate(req, req.session);
    req.session.elevated = true;
    res.json({ elevated: true });
  });

  const endSessions = (name) => generations.set(name, (generations.get(name) ?? 0) + 1);

  app.post("/password", requireUser, async (req, res) => {
    const name = req.session.user;
    const { old = "", new: fresh } = req.body;
    if (typeof fresh !== "string" || !fresh || typeof old !== "string") {
      return res.status(400).json({ error: 400 }); // hash(undefined) would throw: a 500
    }
    if (!checkPassword(name, old)) return res.status(401).json({ error: 401 });
    const salt = crypto.randomBytes(16).toString("hex");
    users.set(name, { ...users.get(name), salt, hash: hash(fresh, salt) });
    if (recommended && req.body.end_other_sessions === "1") {
      endSessions(name);
      await regenerate(req, { ...req.session, generation: generations.get(name) });
    }
    res.json({ changed: true });
  });

  app.post("/logout", requireUser, (req, res) =>
    req.session.destroy(() => res.json({ logged_out: true })));

  app.post("/logout-everywhere", requireUser, (req, res) => {
    if (!recommended) return res.status(404).json({ error: 404 }); // no index of a user's sessions
    endSessions(req.session.user);
    req.session.destroy(() => res.json({ logged_out_everywhere: true }));
  });

  function adminTarget(req, res) {
    if (users.get(req.session.user).role !== "admin") return res.status(403).json({ error: 403 });
    if (!users.has(req.body.user)) return res.status(404).json({ error: 404 });
    return req.body.user;
  }

  app.post("/admin/end-sessions", requireUser, (req, res) => {
    const name = adminTarget(req, res);
    if (typeof name !== "string") return;
    if (!recommended) return res.status(404).json({ error: 404 });
    endSessions(name);
    res.json({ ended: name });
  });

  app.post("/admin/disable", requireUser, (req, res) => {
    const name = adminTarget(req, res);
    if (typeof name !== "string") return;
    users.delete(name);
    res.json({ disabled: name });
  });

  app.use((err, req, res, next) => {
    if (res.headersSent) return next(err);
    res.status(err.status ?? err.statusCode ?? 500).json({ error: err.code ?? "error" });
  });
  return app;
}

const servers = [[false, args.port], [true, args["short-port"]]]
  .filter(([, port]) => port !== undefined)
  .map(([short, port]) => {
    const server = makeApp(short, port).listen(Number(port), "127.0.0.1");
    server.headersTimeout = 5000;
    server.requestTimeout = 10000;
    return server;
  });
const stop = () => {
  let open = servers.length;
  for (const server of servers) {
    server.close(() => { if (--open === 0) redis.quit().finally(() => process.exit(0)); });
  }
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
