"""Local stand-ins for DingTalk's and Feishu's directory APIs on 127.0.0.1 (a thread, a random
port), answering as their documentation shows (server/connectors/dingtalk_org.py and
feishu_org.py list the calls).  Each stand-in pages its listings `page_size` at a time,
answers its platform's rate-limit error once (the first user listing) and expires the token
once (on the `expire_at`-th authenticated call), so a client must page, back off and fetch a
new token.  `FINTECH` is the fintech case's org (seed 000): a director, two regions, a nested
team, an HRBP.  Tests change `members` between syncs (someone leaves)."""
from __future__ import annotations

import json
import secrets
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl, urlsplit

from localserver import LocalServer

APP = ("dingstandin0001", "dingtalk-secret-for-tests")
FEISHU_APP = ("cli_standin0001", "feishu-secret-for-tests")

# (dept id, name, parent, leaders)
DEPARTMENTS = [(1, "某金融科技公司", None, ["dir001"]), (2, "华东大区", 1, ["mgr001"]),
               (3, "华南大区", 1, ["mgr002"]), (5, "华东一组", 2, ["lead001"])]
# (userid, name, title, departments, email, mobile)
FINTECH = [("dir001", "销售总监", "销售总监", [1], "dir@fintech.example", "13800000010"),
           ("mgr001", "王经理", "区域经理", [2], "wang@fintech.example", "13800000011"),
           ("hr001", "陈HRBP", "HRBP", [2], "chen@fintech.example", "13800000012"),
           ("lead001", "周组长", "销售组长", [5], "zhou@fintech.example", "13800000013"),
           ("rep001", "李东", "客户经理", [5], "li@fintech.example", "13800000014"),
           ("rep002", "张伟", "客户经理", [5], "zhangw@fintech.example", "13800000015"),
           ("mgr002", "刘经理", "区域经理", [3], "liu@fintech.example", "13800000016"),
           ("rep003", "赵敏", "客户经理", [3], "zhaom@fintech.example", "13800000017")]


class JsonStandIn(LocalServer):
    """A JSON HTTP server in a thread; a subclass answers (method, path, query, headers, body)."""

    def __init__(self):
        super().__init__(_Handler)

    def answer(self, method, path, query, headers, body):
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _serve(self, method):
        standin = self.server.standin
        parts = urlsplit(self.path)
        query = dict(parse_qsl(parts.query))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ctype = self.headers.get("Content-Type") or ""
        if ctype.startswith("application/json"):
            body = json.loads(raw or b"{}")
        elif ctype.startswith("application/x-www-form-urlencoded"):
            body = dict(parse_qsl(raw.decode()))
        else:
            body = {}
        with standin.lock:
            standin.seen.append({"method": method, "path": parts.path, "query": query, "body": body})
            status, doc = standin.answer(method, parts.path, query, self.headers, body)
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")


class DingTalkDirectory(JsonStandIn):
    def __init__(self, page_size: int = 2, expire_at: int = 4):
        super().__init__()
        self.departments = list(DEPARTMENTS)
        self.members = [list(m) for m in FINTECH]
        self.page_size, self.expire_at = page_size, expire_at
        self.tokens: set[str] = set()
        self.authenticated_calls = 0
        self.rate_limited = self.expired = 0

    def answer(self, method, path, query, headers, body):
        if path == "/gettoken":         # GET /gettoken?appkey&appsecret
            if (query.get("appkey"), query.get("appsecret")) != APP:
                return 200, {"errcode": 40089, "errmsg": "不合法的corpid或corpsecret"}
            token = secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"errcode": 0, "access_token": token, "errmsg": "ok", "expires_in": 7200}
        if query.get("access_token") not in self.tokens:
            return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
        self.authenticated_calls += 1
        if self.authenticated_calls == self.expire_at and not self.expired:
            self.expired += 1
            self.tokens.discard(query["access_token"])
            return 200, {"errcode": 42001, "errmsg": "access_token超时"}
        depts = {d[0]: d for d in self.departments}
        if path == "/topapi/v2/department/get":
            d = depts.get(body.get("dept_id"))
            if d is None:
                return 200, {"errcode": 60003, "errmsg": "部门不存在"}
            return 200, {"errcode": 0, "errmsg": "ok", "request_id": secrets.token_hex(6),
                         "result": {"dept_id": d[0], "name": d[1], **({"parent_id": d[2]} if d[2] else {}),
                                    "dept_manager_userid_list": d[3]}}
        if path == "/topapi/v2/department/listsub":
            kids = [{"dept_id": d[0], "name": d[1], "parent_id": d[2], "create_dept_group": True,
                     "auto_add_user": True} for d in self.departments if d[2] == body.get("dept_id")]
            return 200, {"errcode": 0, "errmsg": "ok", "result": kids, "request_id": secrets.token_hex(6)}
        if path == "/topapi/v2/user/list":
            if not self.rate_limited:
                self.rate_limited += 1
                return 200, {"errcode": 90018, "errmsg": "当前企业调用该接口的并发量超过上限，请稍后再试"}
            dept = body.get("dept_id")
            people = [m for m in self.members if dept in m[3]]
            cursor, size = int(body.get("cursor") or 0), min(int(body.get("size") or 10), self.page_size)
            page = people[cursor:cursor + size]
            more = cursor + size < len(people)
            leaders = depts[dept][3] if dept in depts else []
            return 200, {"errcode": 0, "errmsg": "ok", "request_id": secrets.token_hex(6), "result": {
                "has_more": more, **({"next_cursor": cursor + size} if more else {}),
                "list": [{"userid": m[0], "unionid": f"union_{m[0]}", "name": m[1], "title": m[2],
                          "dept_id_list": m[3], "email": m[4], "mobile": m[5], "active": True,
                          "leader": m[0] in leaders, "admin": False, "boss": False}
                         for m in page]}}
        return 404, {"errcode": 404, "errmsg": "请求的URI地址不存在"}


def open_id(userid: str) -> str:
    return "ou_" + userid.ljust(32, "0")


class FeishuDirectory(JsonStandIn):
    def __init__(self, page_size: int = 2, expire_at: int = 3):
        super().__init__()
        self.departments = list(DEPARTMENTS)
        self.members = [list(m) for m in FINTECH]
        self.page_size, self.expire_at = page_size, expire_at
        self.tokens: set[str] = set()
        self.pages: dict[str, int] = {}
        self.authenticated_calls = 0
        self.rate_limited = self.expired = 0

    def _od(self, dept: int) -> str:
        return "0" if dept == 1 else f"od-{dept:032d}"

    def answer(self, method, path, query, headers, body):
        if path == "/open-apis/auth/v3/tenant_access_token/internal":
            if (body.get("app_id"), body.get("app_secret")) != FEISHU_APP:
                return 200, {"code": 10014, "msg": "app secret invalid"}
            token = "t-" + secrets.token_hex(16)
            self.tokens.add(token)
            return 200, {"code": 0, "msg": "ok", "tenant_access_token": token, "expire": 7200}
        auth = headers.get("Authorization") or ""
        if auth[7:] not in self.tokens:
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}
        self.authenticated_calls += 1
        if self.authenticated_calls == self.expire_at and not self.expired:
            self.expired += 1
            self.tokens.discard(auth[7:])
            return 400, {"code": 99991663, "msg": "Invalid access token for authorization."}
        if path == "/open-apis/contact/v3/departments/0/children":
            items = [{"name": d[1], "department_id": str(d[0]), "open_department_id": self._od(d[0]),
                      "parent_department_id": self._od(d[2]), "leader_user_id": open_id(d[3][0]),
                      "status": {"is_deleted": False}} for d in self.departments if d[2]]
            return 200, self._page(items, query)
        if path == "/open-apis/contact/v3/users/find_by_department":
            if not self.rate_limited:
                self.rate_limited += 1
                return 400, {"code": 99991400, "msg": "request trigger frequency limit"}
            dept = next(d[0] for d in self.departments if self._od(d[0]) == query.get("department_id"))
            leader_of = {d[0]: d[3][0] for d in self.departments}
            items = [{"open_id": open_id(m[0]), "union_id": "on_" + m[0], "user_id": m[0], "name": m[1],
                      "email": m[4], "mobile": "+86" + m[5], "job_title": m[2],
                      "department_ids": [self._od(d) for d in m[3]],
                      **({"leader_user_id": open_id(leader_of[m[3][0]])}
                         if leader_of[m[3][0]] != m[0] else {})}
                     for m in self.members if dept in m[3]]
            return 200, self._page(items, query)
        return 404, {"code": 404, "msg": "not found"}

    def _page(self, items: list, query: dict) -> dict:
        start = self.pages.pop(query.get("page_token"), 0) if query.get("page_token") else 0
        size = min(int(query.get("page_size") or 50), self.page_size)
        data = {"has_more": start + size < len(items), "items": items[start:start + size]}
        if data["has_more"]:
            token = secrets.token_urlsafe(12)
            self.pages[token] = start + size
            data["page_token"] = token
        return {"code": 0, "msg": "success", "data": data}
