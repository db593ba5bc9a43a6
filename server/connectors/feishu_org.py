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

The token, its renewal and the backoff on a rate-limit answer are feishu.py's."""
from __future__ import annotations

from trimtab.server.connectors.api_client import ApiClient
from trimtab.server.connectors.directory import Department, Directory, Member
from trimtab.server.connectors.feishu import Feishu, pages

ROOT_DEPT = "0"
PAGE_SIZE = 50


def read_directory(http: ApiClient, protocol: Feishu) -> Directory:
    api = f"{protocol.api_url}/open-apis/contact/v3"
    departments = {ROOT_DEPT: Department(ROOT_DEPT, "", None, ())}
    for d in pages(http, f"{api}/departments/{ROOT_DEPT}/children",
                   {"department_id_type": "open_department_id", "fetch_child": "true"}, PAGE_SIZE):
        leader = d.get("leader_user_id")
        departments[d["open_department_id"]] = Department(
            d["open_department_id"], d.get("name", ""), d.get("parent_department_id") or ROOT_DEPT,
            (leader,) if leader else ())
    members: dict[str, Member] = {}
    for dept_id in departments:
        for u in pages(http, f"{api}/users/find_by_department",
                       {"department_id": dept_id, "department_id_type": "open_department_id",
                        "user_id_type": "open_id"}, PAGE_SIZE):
            members.setdefault(u["open_id"], Member(
                platform_id=u["open_id"], union_id=u.get("union_id") or None, name=u.get("name") or "",
                email=u.get("email") or u.get("enterprise_email") or None, mobile=u.get("mobile") or None,
                title=u.get("job_title") or "",
                departments=tuple(u.get("department_ids") or (dept_id,)),
                manager=u.get("leader_user_id") or None))
    return Directory("feishu", departments, members)
