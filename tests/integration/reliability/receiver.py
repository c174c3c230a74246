"""A webhook receiver process for the fault tests: answers 200 and logs each request as a JSON line.

    python tests/integration/reliability/receiver.py PORT LOGFILE
"""
from __future__ import annotations

import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    port, log_path = int(sys.argv[1]), sys.argv[2]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with open(log_path, "a") as log:
                log.write(json.dumps({"at": time.time(), "path": self.path,
                                      "webhook_id": self.headers.get("webhook-id"),
                                      "type": json.loads(body or b"{}").get("type")}) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print(f"receiving on {port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
