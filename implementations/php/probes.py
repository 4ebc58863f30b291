"""PHP probes beyond the checklist: session-ID adoption (strict mode) and cookie-name mangling
(CVE-2020-7070, CVE-2022-31629), both configurations started by the checklist's launcher.

    cd book && PYTHONPATH=. ../.venv/bin/python ../implementations/php/probes.py
"""

import asyncio
from pathlib import Path

from sessionlab.checklist.client import Client
from sessionlab.checklist.launcher import Deployment
from sessionlab.lab.bench import Bench
from sessionlab.lab.servers import free_port

FOLDER = Path(__file__).resolve().parent
CHOSEN = "attackerchosen0123456789ab"


async def main():
    bench = Bench()
    try:
        port = free_port()
        bench.redis(tcp_port=port)
        deployment = Deployment(bench, redis_port=port)
        adapters = deployment.implementation(FOLDER, ["defaults", "recommended"])
        deployment.start()
        for adapter in adapters:
            name = adapter.session_cookie
            adopted = Client(adapter, {name: CHOSEN}).request("GET", "/csrf")
            issued = adopted.headers.get_all("Set-Cookie") or "none (the ID was adopted)"
            print(f"{adapter.name}: GET /csrf with {name}={CHOSEN} -> Set-Cookie {issued}")
            dave = Client(adapter)
            dave.login("dave")
            sid = dave.session_value
            for tossed in ("..Host-sid", "%5F%5FHost-sid", "__Host-sid", "PHPSESSID"):
                answer = Client(adapter).request("GET", "/me", cookie_header=f"{tossed}={sid}")
                print(
                    f"{adapter.name}: dave's ID sent as cookie {tossed!r} -> "
                    f"{answer.status_code} {answer.body[:40]!r}"
                )
    finally:
        await bench.close()


asyncio.run(main())
