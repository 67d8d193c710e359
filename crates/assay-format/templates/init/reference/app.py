"""Reference solution of counter-api: standard library only."""
import http.server
import json
import os
import signal
import sys
import threading

lock = threading.Lock()
counter = {"value": 0}


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/healthz":
            self.reply(200, {"status": "ok"})
        elif self.path == "/v1/hello":
            self.reply(200, {"message": "hello"})
        elif self.path == "/v1/counter":
            with lock:
                self.reply(200, {"value": counter["value"]})
        else:
            self.reply(404, {"error": "not_found"})

    def do_POST(self):
        if self.path == "/v1/counter":
            with lock:
                counter["value"] += 1
                value = counter["value"]
            self.reply(200, {"value": value})
        else:
            self.reply(404, {"error": "not_found"})

    def log_message(self, *args):
        pass


signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
server = http.server.ThreadingHTTPServer(("0.0.0.0", int(os.environ.get("PORT", "8080"))), Handler)
server.serve_forever()
