"""PHP probes beyond the checklist: session-ID adoption (strict mode) and cookie-name mangling
(CVE-2020-7070, CVE-2022-31629). Run: PYTHONPATH=book:implementations .venv/bin/python
implementations/native_probes.py"""

import asyncio
import tomllib
from pathlib import Path

import native_runner as nr
from sessionlab.chapters.sessions_done_right import Adapter, Client
from sessionlab.recommended.frameworks.common import DEMO_USERS


async def main():
    folder = Path("implementations/php").resolve()
    spec = tomllib.loads((folder / "checklist.toml").read_text())
    bench = nr.Bench()
    try:
        port = nr.free_port()
        bench.redis(tcp_port=port)
        for config, name in (("defaults", "PHPSESSID"), ("recommended", "__Host-sid")):
            env = {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "CONFIG": config, "TIMEOUTS": ""}
            url = nr._start(bench, folder, spec, env)
            fields = {k: v for k, v in spec["adapter"].items() if k not in nr.NOT_ADAPTER}
            fields["session_cookie"] = name
            a = Adapter(name=config, base_url=url, users=DEMO_USERS, **fields)
            chosen = "attackerchosen0123456789ab"
            c = Client(a, {name: chosen})
            r = c.request("GET", "/csrf")
            issued = [h for h in (r.headers.get_all("Set-Cookie") or [])]
            print(
                f"{config}: GET /csrf with {name}={chosen} -> Set-Cookie {issued or 'none (the ID was adopted)'}"
            )
            dave = Client(a)
            dave.login("dave")
            sid = dave.session_value
            for tossed in ("..Host-sid", "%5F%5FHost-sid", "__Host-sid", "PHPSESSID"):
                v = Client(a)
                resp = v.request("GET", "/me", cookie_header=f"{tossed}={sid}")
                print(
                    f"{config}: dave's ID sent as cookie {tossed!r} -> {resp.status_code} {resp.body[:40]!r}"
                )
    finally:
        await bench.close()


asyncio.run(main())
