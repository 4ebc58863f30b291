// Chapter 24: run the attack gallery's tokens through Node's JWT libraries.
// Input (stdin, JSON): {now, audience, issuer, deployments: {name: {alg, key, private}}, cases: [{name, deployment, token}]}
// `key` is a PEM public key or a base64 secret; `private` is the PEM private key, which the hurried
// jsonwebtoken call is given (a service that issues its own tokens has it at hand; jose refuses it).
// Output (stdout, JSON): {caseName: {"jsonwebtoken, documented": "accepted" | error, ...}}
import { createPublicKey, createPrivateKey, createSecretKey } from "node:crypto";
import jsonwebtoken from "jsonwebtoken";
import * as jose from "jose";

const input = JSON.parse(await new Promise((resolve) => {
  let text = "";
  process.stdin.on("data", (chunk) => (text += chunk));
  process.stdin.on("end", () => resolve(text));
}));
const { now, audience, issuer } = input;

function keyOf(deployment, which) {
  // a secret as the string it is in the environment (process.env.JWT_SECRET)
  if (deployment.alg.startsWith("HS")) return Buffer.from(deployment.key, "base64").toString("utf8");
  return which === "private" ? deployment.private : deployment.key;
}

function joseKey(deployment, which) {
  if (deployment.alg.startsWith("HS")) return new Uint8Array(Buffer.from(deployment.key, "base64"));
  return which === "private" ? createPrivateKey(deployment.private) : createPublicKey(deployment.key);
}

const styles = {
  "jsonwebtoken, documented": (token, d) =>
    jsonwebtoken.verify(token, keyOf(d, "public"), { algorithms: [d.alg], audience, issuer, clockTimestamp: now }),
  "jsonwebtoken, hurried": (token, d) =>
    jsonwebtoken.verify(token, keyOf(d, "private"), { clockTimestamp: now }),
  "jsonwebtoken, decode only": (token) => {
    if (jsonwebtoken.decode(token) === null) throw new Error("decode returned null");
  },
  "jose, documented": (token, d) =>
    jose.jwtVerify(token, joseKey(d, "public"), { algorithms: [d.alg], audience, issuer, typ: "at+jwt", currentDate: new Date(now * 1000) }),
  "jose, hurried": (token, d) =>
    jose.jwtVerify(token, joseKey(d, "public"), { currentDate: new Date(now * 1000) }),
  "jose, decode only": (token) => jose.decodeJwt(token),
};

const out = {};
for (const c of input.cases) {
  const d = input.deployments[c.deployment];
  out[c.name] = {};
  for (const [style, run] of Object.entries(styles)) {
    try {
      await run(c.token, d);
      out[c.name][style] = "accepted";
    } catch (error) {
      // jose's refusals carry a code, jsonwebtoken's are its own error classes; anything else
      // (a TypeError from a key the library did not expect) is a crash, not a refusal.
      const refusal = ["JsonWebTokenError", "TokenExpiredError", "NotBeforeError"].includes(error.name);
      out[c.name][style] = typeof error.code === "string" ? error.code
        : refusal ? `${error.name}: ${error.message}` : `crash: ${error.name}: ${error.message}`;
    }
  }
}
process.stdout.write(JSON.stringify(out));
