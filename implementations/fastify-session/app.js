// @fastify/session with @fastify/cookie on Redis (connect-redis, which its README names as
// compatible): the server-side control group. CONFIG=defaults is the README's usage with a Redis
// store and its default options (secure cookie, rolling, saveUninitialized); CONFIG=recommended
// adds regenerate() at login, a __Host- cookie, SameSite=Lax, saveUninitialized false, an absolute
// timeout, log out everywhere through a per-user index of session IDs and the store's destroy(),
// an Origin check, a login throttle and no-store.
import crypto from "node:crypto";
import fastifyCookie from "@fastify/cookie";
import fastifyFormbody from "@fastify/formbody";
import fastifySession from "@fastify/session";
import { RedisStore } from "connect-redis";
import Fastify from "fastify";
import { createClient } from "redis";
import { Throttle, Users, attempt, boundedServer, env, foreign, timeouts } from "../_node/common.js";

const recommended = env.config === "recommended";
const { idle, absolute } = timeouts();
const users = await Users.create();
const throttle = new Throttle();
const redis = await createClient({ url: env.redisUrl }).connect();
const prefix = `fsess:${env.config}:${env.port}:`;
// connect-redis keeps a session 1 day unless the cookie has an expiry; TIMEOUTS=short: 1 s.
const store = new RedisStore({ client: redis, prefix, ...(env.short || recommended ? { ttl: idle } : {}) });

const app = Fastify({
  bodyLimit: 16384,
  serverFactory: (handler) => boundedServer(handler),
  // TLS ends at a proxy on this host: its README says to trust it, or a Secure cookie (the
  // default) is never set over the proxy's plain http.
  trustProxy: "127.0.0.1",
});
await app.register(fastifyCookie);
await app.register(fastifyFormbody, { bodyLimit: 16384 });
await app.register(fastifySession, {
  secret: crypto.randomBytes(32).toString("hex"),
  store,
  ...(recommended
    ? {
        cookieName: "__Host-sid",
        saveUninitialized: false,
        cookie: { secure: true, httpOnly: true, sameSite: "lax", path: "/" },
      }
    : {}),
});

if (recommended) {
  app.addHook("onRequest", async (request, reply) => {
    reply.header("Cache-Control", "no-store");
    if (foreign(request.method, request.headers)) return reply.code(403).send({ error: 403 });
  });
}

const field = (request, name) => {
  const value = request.body?.[name];
  return typeof value === "string" ? value : null;
};
const index = (name) => `${prefix}user:${name}`;

async function current(request, reply) {
  const s = request.session;
  const user = users.get(s.get("user"));
  // recommended: the session must still be in its user's index. A request that loaded the
  // session before a logout can save it again afterwards (rolling saves every response;
  // CVE-2026-117499, fixed in 11.1.6, which this registry does not have): the index refuses it.
  const indexed = user && (!recommended || (await redis.sIsMember(index(user.name), s.sessionId)));
  if (!user || !indexed) return reply.code(401).send({ error: 401 });
  if (recommended && Date.now() / 1000 - s.get("authAt") > absolute) {
    await redis.sRem(index(user.name), s.sessionId);
    await s.destroy();
    return reply.code(401).send({ error: 401 });
  }
  request.user = user;
}

async function signIn(request, name) {
  if (recommended) {
    await redis.sRem(index(name), request.session.sessionId);
    // A new session ID: the README's regenerate(), which replaces request.session.
    await request.session.regenerate();
    request.session.set("authAt", Date.now() / 1000);
    await redis.sAdd(index(name), request.session.sessionId);
  }
  request.session.set("user", name);
}

/** The store's own destroy() for every session ID in the user's index. */
async function endAll(name, except) {
  const ids = await redis.sMembers(index(name));
  for (const id of ids) {
    if (id !== except) await new Promise((resolve) => store.destroy(id, resolve));
  }
  await redis.del(index(name));
  if (except) await redis.sAdd(index(name), except);
}

app.post("/login", async (request, reply) => {
  const login = { users, throttle, throttled: recommended };
  const { status, user } = await attempt(login, field(request, "username"), field(request, "password"));
  if (!user) return reply.code(status).send({ error: status });
  await signIn(request, user.name);
  return { user: user.name };
});

app.get("/me", { preHandler: current }, async (request) => ({ user: request.user.name, role: request.user.role }));

app.post("/transfer", { preHandler: current }, async (request) => ({ transferred: field(request, "amount") ?? "0" }));

app.post("/logout", { preHandler: current }, async (request) => {
  if (recommended) await redis.sRem(index(request.user.name), request.session.sessionId);
  await request.session.destroy();
  return { logged_out: true };
});

app.post("/elevate", { preHandler: current }, async (request, reply) => {
  if (!(await users.check(request.user.name, field(request, "password")))) {
    return reply.code(401).send({ error: 401 });
  }
  if (recommended) await signIn(request, request.user.name);
  request.session.set("elevated", true);
  return { elevated: true };
});

app.post("/password", { preHandler: current }, async (request, reply) => {
  const name = request.user.name;
  const next = field(request, "new");
  if (!next || !(await users.check(name, field(request, "old")))) {
    return reply.code(401).send({ error: 401 });
  }
  await users.setPassword(name, next);
  if (recommended && field(request, "end_other_sessions") === "1") {
    await signIn(request, name);
    await endAll(name, request.session.sessionId);
  }
  return { changed: true };
});

async function admin(request, reply) {
  await current(request, reply);
  if (reply.sent) return;
  if (request.user.role !== "admin") return reply.code(403).send({ error: 403 });
  const target = users.get(field(request, "user"));
  if (!target) return reply.code(404).send({ error: 404 });
  request.target = target.name;
}

app.post("/admin/disable", { preHandler: admin }, async (request) => {
  users.disable(request.target);
  return { disabled: request.target };
});

if (recommended) {
  app.post("/logout-everywhere", { preHandler: current }, async (request) => {
    await endAll(request.user.name);
    await request.session.destroy();
    return { logged_out_everywhere: true };
  });
  app.post("/admin/end-sessions", { preHandler: admin }, async (request) => {
    await endAll(request.target);
    return { ended: request.target };
  });
}

await app.listen({ port: env.port, host: "127.0.0.1" });
console.log(`listening on http://127.0.0.1:${env.port} (${env.config})`);
const stop = () => app.close().then(() => redis.quit()).finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
