"""DingTalk's directory (通讯录) over its server API (https://oapi.dingtalk.com):

  GET  /gettoken?appkey&appsecret                → {errcode: 0, access_token, expires_in}
  POST /topapi/v2/department/listsub?access_token {dept_id}
       → {errcode: 0, result: [{dept_id, name, parent_id}]}           (children of one department)
  POST /topapi/v2/department/get?access_token {dept_id}
       → {errcode: 0, result: {dept_id, name, parent_id, dept_manager_userid_list}}
  POST /topapi/v2/user/list?access_token {dept_id, cursor, size}
       → {errcode: 0, result: {has_more, next_cursor, list: [{userid, unionid, name, mobile,
          email, title, dept_id_list, leader}]}}

Every answer is HTTP 200 with `errcode`: 40014 (不合法的access_token) and 42001 (access_token
超时), or 88 with either as sub_code, mean the token is to be fetched again; -1 (系统繁忙) and
90002/90006/90018 (call frequency or concurrency over the limit) are retried with backoff."""
from __future__ import annotations

from trimtab.server.connectors.api_client import ApiClient, ConnectorError, Protocol
from trimtab.server.connectors.directory import Department, Directory, Member

API_URL = "https://oapi.dingtalk.com"
ROOT_DEPT = 1                                   # the company itself
PAGE_SIZE = 100                                 # user/list's largest page
EXPIRED = {40014, 42001}
BUSY = {-1, 90002, 90006, 90018}


class DingTalk(Protocol):
    name = "dingtalk"

    def __init__(self, app_key: str, app_secret: str, api_url: str = API_URL):
        self.app_key, self.app_secret, self.api_url = app_key, app_secret, api_url.rstrip("/")

    def fetch_token(self, http: ApiClient) -> str:
        status, doc = http.raw("GET", f"{self.api_url}/gettoken",
                               params={"appkey": self.app_key, "appsecret": self.app_secret})
        if not isinstance(doc, dict) or doc.get("errcode") != 0 or not doc.get("access_token"):
            raise ConnectorError(f"dingtalk /gettoken: HTTP {status}, code "
                                 f"{(doc or {}).get('errcode')}: {(doc or {}).get('errmsg', '')}")
        return doc["access_token"]

    def authorize(self, token, headers, params):
        params["access_token"] = token

    def expired(self, status, doc):
        return _code(doc) in EXPIRED

    def rate_limited(self, status, doc):
        return _code(doc) in BUSY

    def error(self, status, doc):
        if status >= 400 or not isinstance(doc, dict):
            return str(status)
        return None if doc.get("errcode") == 0 else str(doc.get("errcode"))


def _code(doc) -> int | None:
    if not isinstance(doc, dict):
        return None
    code = doc.get("errcode")
    if code == 88:                              # 鉴权异常: the reason is the sub_code
        try:
            return int(doc.get("sub_code"))
        except (TypeError, ValueError):
            return 88
    return code


def read_directory(http: ApiClient, protocol: DingTalk) -> Directory:
    """Every department under the company and every member of each, paged by cursor."""
    api = protocol.api_url
    departments: dict[str, Department] = {}
    todo = [ROOT_DEPT]
    while todo:
        parent = todo.pop(0)
        got = http.call("POST", f"{api}/topapi/v2/department/get", json={"dept_id": parent})["result"]
        departments[str(parent)] = Department(
            str(parent), got.get("name", ""),
            None if parent == ROOT_DEPT else str(got.get("parent_id")),
            tuple(got.get("dept_manager_userid_list") or ()))
        children = http.call("POST", f"{api}/topapi/v2/department/listsub", json={"dept_id": parent})
        todo.extend(c["dept_id"] for c in children.get("result") or ())
    members: dict[str, Member] = {}
    for dept_id in departments:
        cursor = 0
        while True:
            page = http.call("POST", f"{api}/topapi/v2/user/list",
                             json={"dept_id": int(dept_id), "cursor": cursor, "size": PAGE_SIZE})["result"]
            for u in page.get("list") or ():
                depts = tuple(str(d) for d in u.get("dept_id_list") or (dept_id,))
                members.setdefault(u["userid"], Member(
                    platform_id=u["userid"], union_id=u.get("unionid") or None, name=u.get("name") or "",
                    email=u.get("email") or u.get("org_email") or None, mobile=u.get("mobile") or None,
                    title=u.get("title") or "", departments=depts,
                    manager=u.get("manager_userid") or None))
            if not page.get("has_more"):
                break
            cursor = page["next_cursor"]
    return Directory("dingtalk", departments, members)
