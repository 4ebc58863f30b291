"""Rewrite each chapter's title to state its finding, keep the claim tested visible, open with
the verdict in two or three lines, and put the full verdict under a ## Verdict heading (page menu)."""
import json, re, sys
from pathlib import Path

HEADS = {
 "01": ("A JWT's signature proves who wrote it, and nothing more",
        "a JWT is secure because it is signed",
        "Partly true, mostly beside the point: the signature gives integrity, nothing else. Anyone can read the claims, and every refusal depends on a verifier that pins the algorithm and checks expiry, audience, issuer and type."),
 "02": ("A signed cookie proves who issued it, not that the session is alive",
        "a signed cookie is as good as a server-side session",
        "False: a signature cannot end a session. A copied cookie was refused after logout only where a server-side store was consulted."),
 "10": ("Sessions scale out with one lookup per request",
        "JWTs make horizontal scaling easier",
        "Technically true, and much smaller than it sounds: a shared Redis costs one lookup per request, a fraction of a request's work, and one core of it serves a large site."),
 "11": ("JWT sessions are as easy as sessions only by rebuilding a session store",
        "JWTs are easier to use",
        "Not easier: as documented, the JWT library passed fewer of the same features; configured with care it passed them all, with more application code and a store of its own."),
 "12": ("A token is a snapshot: flexible as a message, not as a session",
        "JWTs are more flexible",
        "Not more flexible as a session: data that changes left old tokens valid and grew the token past cookie limits. More flexible as a message between services."),
 "13": ("JWTs are not more secure: they add choices to get wrong",
        "JWTs are more secure",
        "The claim does not hold: the cryptography adds nothing a signed session cookie lacks, and a trusting verifier or a chosen secret let forged tokens in."),
 "14": ("Server-side expiry does what a token's exp cannot",
        "JWTs have built-in expiration",
        "The claim does not hold: a server-side store gives idle and absolute timeouts and applies a new policy to live sessions at once; a JWT's exp is fixed when it is signed."),
 "15": ("Consent follows the purpose, not the storage mechanism",
        "with JWTs you don't need to ask for cookie consent",
        "The claim does not hold: the rule covers any storage on the device, localStorage included, and a login kept for the session needs no consent in any mechanism."),
 "16": ("CSRF follows where a credential is kept, not its format",
        "JWTs prevent CSRF",
        "JWTs do not prevent CSRF: in all three browser engines a JWT in a cookie was forged exactly like a session cookie; a CSRF token, SameSite or a Fetch Metadata check stopped both."),
 "17": ("Mobile and other HTTP clients keep sessions with a cookie jar",
        "JWTs work better on mobile",
        "Not better; at best the same: clients kept a session with at most one line for the cookie jar, less work than storing, refreshing and revoking tokens."),
 "18": ("Blocking cookies blocks most places a token could persist",
        "JWTs work for users who block cookies",
        "False for any token that has to persist in Chromium and Firefox, where blocking cookies closed localStorage too; WebKitGTK's cookie policy blocks cookies only."),
 "20": ("A JWT is larger than a session ID, and crosses cookie limits",
        "JWTs take up more space",
        "True, with a threshold: a JWT is several times a session ID's size before it holds data, grows with every claim, and past a limit the browser drops it without an error."),
 "21": ("Where a token is kept decides its theft; revocation decides what it is worth",
        "a JWT in localStorage is less secure than a session cookie",
        "True, for the reason the essay gives: injected script stole a token from localStorage and it outlived logout. The controls show why: storage decides the theft, revocability what the copy is worth."),
 "22": ("A stolen JWT works until it expires; a session ends at logout",
        "you cannot invalidate individual JWTs",
        "The claim holds: a stolen stateless JWT kept working until its exp, through logout and a password change; a deny-list restores revocation with one lookup per request."),
 "23": ("Data in a token goes stale, and so does any copy the server cannot reach",
        "the data in a stateless token goes stale",
        "The claim holds, and it is broader than JWT: a revoked admin role kept working until the token was re-issued; a signed-cookie session went stale the same way."),
 "24": ("JWT verifiers have more to get wrong, and still do",
        "JWT implementations are less battle-tested than sessions",
        "The claim holds in substance, with a correction for 2026: mature libraries called as documented refused every forgery, but a naive or hurried call did not, and JWT libraries still collect more forgery CVEs."),
 "30": ("Short expiry and refresh tokens shrink the window and bring back a store",
        "short-lived tokens and refresh tokens make JWT revocation a non-problem",
        "The claim does not hold: short tokens still left an attacker minutes after detection, and the refresh token that helps is server-side state."),
 "31": ("Deny-lists and token versions work by becoming a session store",
        "a deny-list, a token version or a new signing key makes stateless JWTs revocable",
        "True, but the tokens are no longer stateless: each fix that works consults server-side state before accepting a token, and key rotation logs everyone out."),
 "32": ("JWT at its best works, and keeps state",
        "JWT at its best (sender-constrained tokens, a pushed deny-list) needs no lookup per request",
        "DPoP with server nonces and a pushed deny-list that fails closed defeat a thief's copies without a network lookup per request, but both keep state: a replay cache, and a copy of the deny-list that must stay in sync."),
 "40": ("Download tokens: the job JWT does well",
        "JWT is the right tool for one-off download tokens",
        "The essay is right: a short-lived, single-use token for one file and one audience, checked by a server that cannot sign, is what JWT is good at."),
 "41": ("Sessions done right: what people deploy, under one checklist",
        "use your framework's sessions, configured like this",
        "Server-side sessions, configured, pass the checklist; every library's defaults fail items; JWT and sealed-cookie libraries pass only where they add a server-side store."),
}

for path in sorted(Path("book").glob("[0-9][0-9]_*.ipynb")):
    num = path.name[:2]
    title, claim, verdict = HEADS[num]
    nb = json.loads(path.read_text())
    first = "".join(nb["cells"][0]["source"])
    lines = first.split("\n")
    assert lines[0].startswith("# "), path
    rest = "\n".join(lines[1:])
    rest = re.sub(r"^\n\*Claim tested:.*?\n\n", "\n", rest, flags=re.S)  # idempotent
    head = f"# {title}\n\n*Claim tested: {claim}.* **Verdict:** {verdict} The full verdict is below, under *Verdict*.\n"
    nb["cells"][0]["source"] = (head + rest).splitlines(True)
    for cell in nb["cells"]:
        s = "".join(cell["source"])
        if cell["cell_type"] == "markdown" and "```{admonition} Verdict" in s and "## Verdict" not in s:
            s = s.replace("```{admonition} Verdict", "## Verdict\n\n```{admonition} Verdict", 1)
            cell["source"] = s.splitlines(True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
    print(path.name, "ok")
