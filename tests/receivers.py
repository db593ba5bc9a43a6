"""Local HTTP receivers standing in for DingTalk and other robots (they live off this machine)."""
from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import json
import random
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """Records every message it is sent (`received`, one entry per accepted POST, repeats
    included); checks DingTalk's signature when given the secret; can fail, hang, or take
    `delay_s` before answering (a slow receiver that still takes every message).  A flaky one
    (`flaky=(rate, seed, stall_s)`) fails that share of first attempts, drawn from a seeded
    RNG: half answer 500, half hang `stall_s` and take nothing (the sender times out)."""

    def __init__(self, secret: str | None = None, fail_with: int | None = None, scheme: str = "dingtalk",
                 stall_first_s: float = 0.0, stall_s: float = 0.0, delay_s: float = 0.0,
                 flaky: tuple | None = None):
        self.secret, self.fail_with, self.received, self.rejected = secret, fail_with, [], []
        self.scheme, self.stall_first_s, self.arrivals = scheme, stall_first_s, []
        self.stall_s = stall_s                                # every request: a hung receiver
        self.delay_s, self.in_flight, self.most_in_flight = delay_s, 0, 0
        self._lock = threading.Lock()
        self.flaky, self.failures, self._tried = flaky, collections.Counter(), set()
        self._rng = random.Random(flaky[1]) if flaky else None
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                with outer._lock:
                    outer.in_flight += 1
                    outer.most_in_flight = max(outer.most_in_flight, outer.in_flight)
                try:
                    self._post()
                finally:
                    with outer._lock:
                        outer.in_flight -= 1

            def _post(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
                outer.arrivals.append(self.headers.get("X-Trimtab-Message-Id"))
                if outer.stall_first_s and len(outer.arrivals) == 1:
                    time.sleep(outer.stall_first_s)           # the sender dies meanwhile
                    return
                if outer.stall_s:
                    time.sleep(outer.stall_s)                 # the sender gives up meanwhile
                    return
                failure = outer.fails(self.headers.get("X-Trimtab-Message-Id"))
                if failure == "timeout":
                    time.sleep(outer.flaky[2])                # hung: the sender gives up
                    return
                if failure == "500":
                    return self._answer(500, {"error": "flaky receiver"})
                if outer.fail_with:
                    return self._answer(outer.fail_with, {"errcode": 1})
                doc = json.loads(body)
                if outer.scheme == "feishu" and outer.secret is not None and not outer._feishu_ok(doc):
                    outer.rejected.append(doc)
                    return self._answer(200, {"code": 19021, "msg": "sign match fail"})
                if outer.scheme == "wecom" and query.get("key") != ["k-123"]:
                    outer.rejected.append(query)
                    return self._answer(200, {"errcode": 93000, "errmsg": "invalid webhook url"})
                if outer.scheme == "dingtalk" and outer.secret is not None and not outer._dingtalk_ok(query):
                    outer.rejected.append(query)
                    return self._answer(200, {"errcode": 310000, "errmsg": "sign not match"})
                missing = outer.missing_fields(doc)
                if missing:                                   # as the platform refuses it
                    outer.rejected.append(doc)
                    code = {"feishu": {"code": 9499, "msg": f"Bad Request: {missing}"}}.get(
                        outer.scheme, {"errcode": 40035, "errmsg": f"缺少参数 {missing}"})
                    return self._answer(200, code)
                if outer.delay_s:
                    time.sleep(outer.delay_s)                 # slow, but takes the message
                outer.received.append({"query": query, "headers": dict(self.headers), "at": time.monotonic(),
                                       "body": json.loads(body)})
                self._answer(200, {"errcode": 0, "errmsg": "ok"})

            def _answer(self, status, doc):
                data = json.dumps(doc, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/robot/send?access_token=t"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def fails(self, message_id) -> str | None:
        """A flaky receiver's answer to this attempt: "500", "timeout" or None.  Only a
        message's first attempt may fail (its retry comes one backoff later)."""
        if self.flaky is None:
            return None
        with self._lock:
            if message_id in self._tried:
                return None
            self._tried.add(message_id)
            if self._rng.random() >= self.flaky[0]:
                return None
            kind = "500" if self._rng.random() < 0.5 else "timeout"
            self.failures[kind] += 1
            return kind

    # What each platform's robot requires of a message, by type (its documented fields).
    REQUIRED = {
        "dingtalk": ("msgtype", {"markdown": ["markdown.title", "markdown.text"],
                                 "actionCard": ["actionCard.title", "actionCard.text",
                                                "actionCard.singleTitle", "actionCard.singleURL"]}),
        "feishu": ("msg_type", {"post": ["content.post.zh_cn.title", "content.post.zh_cn.content"],
                                "interactive": ["card.header.title.content", "card.elements"]}),
        "wecom": ("msgtype", {"markdown": ["markdown.content"]}),
    }

    def missing_fields(self, doc) -> str | None:
        """The first required field the message lacks, or its unknown type; None when whole."""
        if self.scheme not in self.REQUIRED:
            return None
        key, by_type = self.REQUIRED[self.scheme]
        kind = doc.get(key)
        if kind not in by_type:
            return f"{key}={kind!r}"
        for path in by_type[kind]:
            node = doc
            for part in path.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if node in (None, "", []):
                return path
        return None

    def _feishu_ok(self, body) -> bool:
        try:
            ts, sign = body["timestamp"], body["sign"]
        except KeyError:
            return False
        expected = base64.b64encode(hmac.new(f"{ts}\n{self.secret}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
        return abs(time.time() - int(ts)) < 3600 and hmac.compare_digest(expected, sign)

    def _dingtalk_ok(self, query) -> bool:
        try:
            ts, sign = query["timestamp"][0], query["sign"][0]
        except KeyError:
            return False
        if abs(time.time() * 1000 - int(ts)) > 3600 * 1000:        # DingTalk allows an hour
            return False
        expected = base64.b64encode(hmac.new(self.secret.encode(), f"{ts}\n{self.secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        return hmac.compare_digest(expected, sign)

    def unique_received(self) -> set:
        """Message ids as a de-duplicating receiver keeps them."""
        return {m["headers"].get("X-Trimtab-Message-Id") for m in self.received}

    def counts(self) -> collections.Counter:
        """How many times each message id was taken — every delivery, repeats included."""
        return collections.Counter(m["headers"].get("X-Trimtab-Message-Id") for m in list(self.received))

    def close(self):
        """Stop serving and free the port: a message sent after this is refused at once, as
        by a receiver that is gone (not left waiting on a bound port that never answers)."""
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """A minimal SMTP server (HELO/EHLO, MAIL, RCPT, DATA, QUIT) that keeps what it is sent."""

    def __init__(self):
        import socketserver
        self.messages = []
        outer = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                self.wfile.write(b"220 sink ready\r\n")
                envelope = {"rcpt": []}
                while True:
                    line = self.rfile.readline()
                    if not line:
                        return
                    cmd = line.decode(errors="replace").strip()
                    upper = cmd.upper()
                    if upper.startswith(("HELO", "EHLO")):
                        self.wfile.write(b"250 sink\r\n")
                    elif upper.startswith("MAIL FROM:"):
                        envelope["from"] = cmd[10:].strip()
                        self.wfile.write(b"250 ok\r\n")
                    elif upper.startswith("RCPT TO:"):
                        envelope["rcpt"].append(cmd[8:].strip())
                        self.wfile.write(b"250 ok\r\n")
                    elif upper == "DATA":
                        self.wfile.write(b"354 end with .\r\n")
                        data = []
                        while True:
                            chunk = self.rfile.readline()
                            if chunk in (b".\r\n", b".\n", b""):
                                break
                            data.append(chunk)
                        outer.messages.append({**envelope, "data": b"".join(data).decode("utf-8", "replace")})
                        envelope = {"rcpt": []}
                        self.wfile.write(b"250 queued\r\n")
                    elif upper == "QUIT":
                        self.wfile.write(b"221 bye\r\n")
                        return
                    else:
                        self.wfile.write(b"250 ok\r\n")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"smtp://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
