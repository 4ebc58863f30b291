// The bank's front end, served as /bank.js (an external file, so a strict CSP can allow it).
// Two ways to log in: a JWT kept in localStorage (the pattern under test) or an HttpOnly cookie.

async function logInWithToken(username, password, lifetime = "") {
  const query = lifetime ? "?lifetime=" + lifetime : "";
  const response = await fetch("/api/token-login" + query, {method: "POST", body: new URLSearchParams({username, password})});
  const {access_token} = await response.json();
  localStorage.setItem("access_token", access_token);
  return response.status;
}

async function logInWithCookie(username, password) {
  const response = await fetch("/login", {method: "POST", body: new URLSearchParams({username, password})});
  window.csrfToken = (await response.json()).csrf_token;  // the cookie itself is out of reach
  return response.status;
}

async function logOutCookie(csrfToken) {
  const response = await fetch("/logout", {method: "POST", headers: {"X-CSRF-Token": csrfToken}});
  return response.status;  // the server deletes the session: a copied cookie is worthless now
}

// The controls: an opaque session ID kept in localStorage, and a JWT the server sets as an
// HttpOnly cookie.
async function logInWithSessionId(username, password) {
  const response = await fetch("/api/session-login", {method: "POST", body: new URLSearchParams({username, password})});
  localStorage.setItem("session_id", (await response.json()).session_id);
  return response.status;
}

async function logOutSessionId() {
  const headers = {Authorization: "Bearer " + localStorage.getItem("session_id")};
  localStorage.removeItem("session_id");
  return (await fetch("/api/session-logout", {method: "POST", headers})).status;  // the server forgets it
}

async function logInWithJwtCookie(username, password) {
  const response = await fetch("/jwt-cookie-login", {method: "POST", body: new URLSearchParams({username, password})});
  return response.status;  // the token is in an HttpOnly cookie: out of this script's reach
}

async function logOutJwtCookie() {
  return (await fetch("/jwt-cookie-logout", {method: "POST"})).status;  // deletes the browser's copy only
}

function logOutToken() {
  localStorage.removeItem("access_token");  // all a stateless-JWT front end can do at logout
}

// Out of a script's reach: a session ID that only a Web Worker holds, and a signing key that
// cannot be exported (the kind DPoP proofs are signed with).
async function logInWithWorker(username, password) {
  window.bankWorker = new Worker("/bank-worker.js");
  return askWorker({login: {username, password}});
}

function askWorker(message) {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event) => resolve(event.data);
    window.bankWorker.postMessage(message, [channel.port2]);
  });
}

async function makeSigningKey() {
  const algorithm = {name: "ECDSA", namedCurve: "P-256"};
  window.bankKey = await crypto.subtle.generateKey(algorithm, false, ["sign"]);  // not extractable
  return crypto.subtle.exportKey("jwk", window.bankKey.publicKey);  // the server would keep this
}

// Evidence for the CSP experiment: which directive blocked what.
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => window.cspViolations.push(event.effectiveDirective));
