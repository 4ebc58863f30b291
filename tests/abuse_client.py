"""The abusive client, run in its own process: send raw HTTP requests, report what came back.

Usage: python abuse_client.py HOST PORT REQUESTS.json RESULTS.json
REQUESTS.json is a list of base64-encoded raw requests; RESULTS.json receives, for each, the
status code of the response, or null if the connection was dropped without an answer.
"""

import base64
import json
import re
import socket
import sys


def send_raw(host: str, port: int, raw: bytes) -> int | None:
    with socket.create_connection((host, port), timeout=10) as connection:
        try:
            # No half-close (shutdown of our sending side) after the request, as no browser does:
            # Node.js's HTTP server (allowHalfOpen false) and uvicorn close a half-closed
            # connection before their answer is written, which would look like a dropped request.
            # Every request here is complete and says "Connection: close", so the server ends
            # the connection after its answer.
            connection.sendall(raw)
        except OSError:
            pass  # the server may answer and close before reading everything we send
        received = b""
        while True:
            try:
                chunk = connection.recv(4096)
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    status_line = received.split(b"\r\n", 1)[0].split()
    if len(status_line) >= 2 and status_line[0].startswith(b"HTTP/") and status_line[1].isdigit():
        return int(status_line[1])
    # A request line without a version is answered the HTTP/0.9 way: an error page, no status
    # line. Python's http.server writes its code into that page.
    legacy = re.search(rb"Error code: (\d{3})", received)
    return int(legacy.group(1)) if legacy else None


def main() -> None:
    host, port, requests_path, results_path = (
        sys.argv[1],
        int(sys.argv[2]),
        sys.argv[3],
        sys.argv[4],
    )
    with open(requests_path) as handle:
        raw_requests = [base64.b64decode(item) for item in json.load(handle)]
    results = [send_raw(host, port, raw) for raw in raw_requests]
    with open(results_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main()
