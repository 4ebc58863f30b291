// The bank's front end, served as /bank.js (an external file, so a strict CSP can allow it).
// Two ways to log in: a JWT kept in localStorage (the pattern under test) or an HttpOnly cookie.

async function logInWithToken(username, password) {
  const response = await fetch("/api/token-login", {method: "POST", body: new URLSearchParams({username, password})});
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

function logOutToken() {
  localStorage.removeItem("access_token");  // all a stateless-JWT front end can do at logout
}

// Evidence for the CSP experiment: which directive blocked what.
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => window.cspViolations.push(event.effectiveDirective));
