// What every Node implementation under the checklist shares, none of it the library under test:
// the demo users and their password check, the login throttle a careful configuration adds, the
// settings read from the environment, and Node's own HTTP server with bounds on what one client
// may cost. Node builtins only, so each implementation's folder pins only its library.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";

/** PORT, CONFIG, TIMEOUTS=short, REDIS_URL, as the contract (notes/contract.md) names them. */
export const env = {
  port: Number(process.env.PORT ?? 0),
  config: process.env.CONFIG ?? "defaults",
  short: process.env.TIMEOUTS === "short",
  redisUrl: process.env.REDIS_URL,
};

/** name -> [password, role]: demo passwords, never reuse; the contract's one list, as data. */
export const DEMO_USERS = JSON.parse(
  fs.readFileSync(new URL("../demo_users.json", import.meta.url), "utf8"));

const hash = (password, salt) =>
  new Promise((resolve, reject) =>
    crypto.pbkdf2(password, salt, 20000, 32, "sha256", (err, key) =>
      err ? reject(err) : resolve(key)));

/** The app's own users table (each library leaves users to the app): password hashes, role and
 * a disabled flag. ``check`` hashes even for an unknown name, so both cost the same. */
export class Users {
  static async create() {
    const users = new Users();
    for (const [name, [password, role]] of Object.entries(DEMO_USERS)) {
      await users.setPassword(name, password, role);
    }
    return users;
  }

  constructor() {
    this.table = new Map();
    this.dummy = { salt: "0".repeat(32), hash: Buffer.alloc(32) };
  }

  async setPassword(name, password, role = this.table.get(name)?.role) {
    const salt = crypto.randomBytes(16).toString("hex");
    const old = this.table.get(name) ?? { disabled: false };
    this.table.set(name, { ...old, role, salt, hash: await hash(String(password), salt) });
  }

  /** The user's record if ``password`` is theirs and the account is enabled, else null. */
  async check(name, password) {
    const user = typeof name === "string" ? this.table.get(name) : undefined;
    const record = user ?? this.dummy;
    const ok = crypto.timingSafeEqual(await hash(String(password ?? ""), record.salt), record.hash);
    return ok && user && !user.disabled ? { name, ...user } : null;
  }

  get(name) {
    const user = typeof name === "string" ? this.table.get(name) : undefined;
    return user && !user.disabled ? { name, ...user } : null;
  }

  /** The contract's password change: ``old`` must be ``name``'s password; true if changed. */
  async change(name, { old, new: next }) {
    if (typeof next !== "string" || !next || !(await this.check(name, old))) return false;
    await this.setPassword(name, next);
    return true;
  }

  disable(name) {
    const user = this.table.get(name);
    if (user) user.disabled = true;
    return Boolean(user);
  }
}

/** Five failed logins per user name in 15 minutes, then 429 until they age out. */
export class Throttle {
  constructor({ limit = 5, window = 900 } = {}) {
    Object.assign(this, { limit, window, failures: new Map() });
  }

  recent(name) {
    const now = Date.now() / 1000;
    const times = (this.failures.get(name) ?? []).filter((t) => now - t < this.window);
    this.failures.set(name, times);
    return times;
  }

  blocked(name) {
    return this.recent(name).length >= this.limit;
  }

  fail(name) {
    this.recent(name).push(Date.now() / 1000);
  }

  succeed(name) {
    this.failures.delete(name);
  }
}

/** Idle and absolute timeouts in seconds: the short ones with TIMEOUTS=short, else 30 min / 8 h. */
export const timeouts = () => (env.short ? { idle: 1, absolute: 2 } : { idle: 1800, absolute: 8 * 3600 });

/** Node's HTTP server on 127.0.0.1 with bounds (a Host header that is no host gets a 400): 8 KiB of headers (431 above), 5 s to send
 * them, 10 s for the whole request, 100 connections; stopped on SIGTERM or SIGINT. */
export function serve(handler, { port = env.port, onClose = async () => {} } = {}) {
  const server = boundedServer(handler);
  server.listen(port, "127.0.0.1", () => {
    console.log(`listening on http://127.0.0.1:${server.address().port} (${env.config})`);
  });
  const stop = () => server.close(() => onClose().finally(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  return server;
}

/** The server :func:`serve` listens with, for a framework that listens itself (Fastify's
 * serverFactory). */
export function boundedServer(handler) {
  const server = http.createServer({ maxHeaderSize: 8192 }, (req, res) => {
    try {
      new URL(`http://${req.headers.host ?? "127.0.0.1"}/`); // libraries build URLs from it
    } catch {
      res.writeHead(400, { "Content-Type": "application/json" }).end('{"error":400}');
      return;
    }
    handler(req, res);
  });
  server.headersTimeout = 5000;
  server.requestTimeout = 10000;
  server.keepAliveTimeout = 5000;
  server.maxConnections = 100;
  return server;
}

/** Express's last error handler: a client's error (bad JSON, a body too large) keeps its 4xx,
 * anything else is a 500 without details. */
export function expressErrors(err, req, res, next) {
  if (res.headersSent) return next(err);
  const status = err.status ?? err.statusCode ?? 500;
  res.status(status >= 400 && status < 600 ? status : 500).json({ error: status });
}

/** A string form field, or null (missing, repeated, or not text). */
export const field = (body, name) =>
  body && typeof body[name] === "string" ? body[name] : null;

/** The server-side state a careful user adds to a self-contained session (a sealed cookie, a
 * JWE, a JWT): one Redis key per login, which carries the idle timeout, and one version per
 * user, which ends all of a user's logins at once. Checking it costs a GETEX and a GET per
 * request: a server-side session with extra steps. ``redis`` is a node-redis v5+ client. */
export class LoginStore {
  constructor(redis, prefix, { idle, absolute }) {
    Object.assign(this, { redis, prefix, idle, absolute });
  }

  /** A new login of ``name``: the claims to put in the credential. */
  async open(name) {
    const sid = crypto.randomUUID();
    const ver = Number((await this.redis.get(`${this.prefix}ver:${name}`)) ?? 0);
    await this.redis.set(`${this.prefix}sid:${sid}`, name, { PX: this.idle * 1000 });
    return { sid, authAt: Date.now() / 1000, ver };
  }

  /** Is the login these claims name still live? Refreshes its idle window. */
  async live(name, { sid, authAt, ver } = {}) {
    if (typeof sid !== "string" || !(Date.now() / 1000 - authAt <= this.absolute)) return false;
    const [owner, current] = await Promise.all([
      this.redis.getEx(`${this.prefix}sid:${sid}`, { type: "PX", value: this.idle * 1000 }),
      this.redis.get(`${this.prefix}ver:${name}`),
    ]);
    return owner === name && Number(current ?? 0) === ver;
  }

  close(sid) {
    return typeof sid === "string" ? this.redis.del(`${this.prefix}sid:${sid}`) : null;
  }

  endAll(name) {
    return this.redis.incr(`${this.prefix}ver:${name}`);
  }
}

/** Did another site send this state-changing request? A browser marks one with
 * ``Sec-Fetch-Site: cross-site`` or an ``Origin`` that is not this host. */
export function foreign(method, headers) {
  if (method === "GET" || method === "HEAD") return false;
  const origin = headers.origin;
  if (headers["sec-fetch-site"] === "cross-site" || origin === "null") return true;
  if (!origin) return false;
  try {
    return new URL(origin).host !== headers.host;
  } catch {
    return true; // an Origin that is no URL
  }
}

/** Express middleware: 403 for a request :func:`foreign` refuses. */
export function sameOrigin(req, res, next) {
  if (foreign(req.method, req.headers)) return res.status(403).json({ error: 403 });
  next();
}

/** A login form checked against ``users``, throttled when ``throttled``: the status the contract
 * wants (429, 401 or 200) and, on 200, the user. */
export async function attempt({ users, throttle, throttled }, name, password) {
  if (throttled && throttle.blocked(name)) return { status: 429 };
  const user = await users.check(name, password);
  if (!user) {
    throttle.fail(name);
    return { status: 401 };
  }
  throttle.succeed(name);
  return { status: 200, user };
}

/** Express middleware for the admin routes: 403 unless the signed-in user (``res.locals.user``,
 * a name or a record) is an admin in the users table, 404 unless the form's ``user`` names an
 * enabled account, which it puts in ``res.locals.target``. */
export function adminTarget(users) {
  return (req, res, next) => {
    const me = res.locals.user;
    if (users.get(typeof me === "string" ? me : me?.name)?.role !== "admin") {
      return res.status(403).json({ error: 403 });
    }
    res.locals.target = users.get(field(req.body, "user"))?.name;
    if (!res.locals.target) return res.status(404).json({ error: 404 });
    next();
  };
}

/** Express handler: flag the target account disabled. */
export const disableRoute = (users) => (req, res) => {
  users.disable(res.locals.target);
  res.json({ disabled: res.locals.target });
};

/** Express handler: end every session of the target through ``endAll(name)``. */
export const endSessionsRoute = (endAll) => async (req, res) => {
  await endAll(res.locals.target);
  res.json({ ended: res.locals.target });
};

/** What every app sets up first: the configuration, its timeouts, the users, the throttle and,
 * in the recommended configuration, Redis (``createClient`` from the app's own node-redis) and
 * a :class:`LoginStore` whose keys start with ``prefix``. */
export async function setUp({ createClient, prefix }) {
  const recommended = env.config === "recommended";
  const { idle, absolute } = timeouts();
  const redis = recommended ? await createClient({ url: env.redisUrl }).connect() : null;
  return {
    recommended, idle, absolute, redis,
    users: await Users.create(),
    throttle: new Throttle(),
    store: recommended ? new LoginStore(redis, `${prefix}:${env.port}:`, { idle, absolute }) : null,
  };
}
