"""Feishu's directory over contact v3 (https://open.feishu.cn):

  POST /open-apis/auth/v3/tenant_access_token/internal {app_id, app_secret}
       → {code: 0, tenant_access_token, expire}
  GET  /open-apis/contact/v3/departments/0/children?fetch_child=true&page_size&page_token
       &department_id_type=open_department_id
       → {code: 0, data: {has_more, page_token, items: [{name, open_department_id,
          parent_department_id, leader_user_id}]}}
  GET  /open-apis/contact/v3/users/find_by_department?department_id&page_size&page_token
       &department_id_type=open_department_id&user_id_type=open_id
       → {code: 0, data: {has_more, page_token, items: [{open_id, union_id, name, email,
          mobile, job_title, department_ids, leader_user_id}]}}

Calls carry `Authorization: Bearer <tenant_access_token>`.  Codes 99991661 (no token),
99991663 (invalid token) and 99991677 (expired) fetch a new token; 99991400 (request
frequency over the limit) and HTTP 429 are retried with backoff."""
from __future__ import annotations

from trimtab.server.connectors.api_client import ApiClient, ConnectorError, Protocol
from trimtab.server.connectors.directory import Department, Directory, Member

API_URL = "https://open.feishu.cn"
ROOT_DEPT = "0"
PAGE_SIZE = 50
EXPIRED = {99991661, 99991663, 99991677}
BUSY = {99991400}


class Feishu(Protocol):
    name = "feishu"

    def __init__(self, app_id: str, app_secret: str, api_url: str = API_URL):
        self.app_id, self.app_secret, self.api_url = app_id, app_secret, api_url.rstrip("/")

    def fetch_token(self, http: ApiClient) -> str:
        status, doc = http.raw("POST", f"{self.api_url}/open-apis/auth/v3/tenant_access_token/internal",
                               json={"app_id": self.app_id, "app_secret": self.app_secret})
        if not isinstance(doc, dict) or doc.get("code") != 0 or not doc.get("tenant_access_token"):
            raise ConnectorError(f"feishu tenant_access_token: HTTP {status}, code "
                                 f"{(doc or {}).get('code')}: {(doc or {}).get('msg', '')}")
        return doc["tenant_access_token"]

    def expired(self, status, doc):
        return isinstance(doc, dict) and doc.get("code") in EXPIRED

    def rate_limited(self, status, doc):
        return status == 429 or (isinstance(doc, dict) and doc.get("code") in BUSY)

    def error(self, status, doc):
        if not isinstance(doc, dict):
            return str(status)
        return None if doc.get("code") == 0 and status < 400 else str(doc.get("code", status))


def _pages(http: ApiClient, url: str, params: dict):
    """Every item of a page_token/has_more listing."""
    token = None
    while True:
        query = {**params, "page_size": PAGE_SIZE, **({"page_token": token} if token else {})}
        data = http.call("GET", url, params=query).get("data") or {}
        yield from data.get("items") or ()
        if not data.get("has_more"):
            return
        token = data["page_token"]


def read_directory(http: ApiClient, protocol: Feishu) -> Directory:
    api = f"{protocol.api_url}/open-apis/contact/v3"
    departments = {ROOT_DEPT: Department(ROOT_DEPT, "", None, ())}
    for d in _pages(http, f"{api}/departments/{ROOT_DEPT}/children",
                    {"department_id_type": "open_department_id", "fetch_child": "true"}):
        leader = d.get("leader_user_id")
        departments[d["open_department_id"]] = Department(
            d["open_department_id"], d.get("name", ""), d.get("parent_department_id") or ROOT_DEPT,
            (leader,) if leader else ())
    members: dict[str, Member] = {}
    for dept_id in departments:
        for u in _pages(http, f"{api}/users/find_by_department",
                        {"department_id": dept_id, "department_id_type": "open_department_id",
                         "user_id_type": "open_id"}):
            members.setdefault(u["open_id"], Member(
                platform_id=u["open_id"], union_id=u.get("union_id") or None, name=u.get("name") or "",
                email=u.get("email") or u.get("enterprise_email") or None, mobile=u.get("mobile") or None,
                title=u.get("job_title") or "",
                departments=tuple(u.get("department_ids") or (dept_id,)),
                manager=u.get("leader_user_id") or None))
    return Directory("feishu", departments, members)
