// express-jwt checks a bearer JWT that jsonwebtoken issues, as their READMEs show. CONFIG=defaults:
// HS256 with a random secret, one hour of life, `algorithms` (express-jwt requires it), no
// revocation, so no logout route: the client forgets its token. CONFIG=recommended: the documented
// isRevoked hook checking a Redis record per login (logout, idle and absolute timeouts, a version
// per user, the account's state), a 15-minute token, audience and issuer pinned, a login throttle.
// The routes are ../_node/bearer_routes.js, shared with passport-jwt; only the verifier differs.
import express from "express";
import { expressjwt } from "express-jwt";
import jwt from "jsonwebtoken";
import { createClient } from "redis";
import { AUDIENCE, ISSUER, serveBearerApp, setUp } from "../_node/bearer_routes.js";

const ctx = await setUp({ createClient });
const { recommended, users, store, secret } = ctx;

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

serveBearerApp({ express, jwt, authenticate, ctx });
