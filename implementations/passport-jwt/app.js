// passport-jwt checks a bearer JWT that jsonwebtoken issues. CONFIG=defaults is its README's
// setup: ExtractJwt.fromAuthHeaderAsBearerToken(), secretOrKey, issuer and audience, and a verify
// callback that looks the user up (a disabled account is not found). CONFIG=recommended: the
// verify callback also checks a Redis record per login (logout, idle and absolute timeouts, a
// version per user), 15-minute tokens, algorithms pinned, a login throttle. passport-jwt has no
// revocation of its own: the verify callback is the only place for it.
// The routes are ../_node/bearer_routes.js, shared with express-jwt; only the verifier differs.
import express from "express";
import jwt from "jsonwebtoken";
import passport from "passport";
import { ExtractJwt, Strategy as JwtStrategy } from "passport-jwt";
import { createClient } from "redis";
import { AUDIENCE, ISSUER, serveBearerApp, setUp } from "../_node/bearer_routes.js";

const ctx = await setUp({ createClient });
ctx.pinned = true; // the README's example sets issuer and audience
const { recommended, users, store, secret } = ctx;

const options = {
  jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
  secretOrKey: secret,
  issuer: ISSUER,
  audience: AUDIENCE,
  ...(recommended ? { algorithms: ["HS256"] } : {}),
};
passport.use(
  new JwtStrategy(options, (payload, done) => {
    const user = users.get(payload.sub); // the README's User.findOne({id: jwt_payload.sub})
    if (!user) return done(null, false);
    if (!recommended) return done(null, { user, claims: payload });
    store.live(payload.sub, payload).then(
      (live) => done(null, live ? { user, claims: payload } : false),
      (err) => done(err),
    );
  }),
);

const authenticate = [
  passport.initialize(),
  passport.authenticate("jwt", { session: false }),
  (req, res, next) => {
    req.auth = req.user.claims;
    next();
  },
];

serveBearerApp({ express, jwt, authenticate, ctx });
