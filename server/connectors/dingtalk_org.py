"""DingTalk's directory (通讯录) over its server API (https://oapi.dingtalk.com):

  GET  /gettoken?appkey&appsecret                → {errcode: 0, access_token, expires_in}
  POST /topapi/v2/department/listsub?access_token {dept_id}
       → {errcode: 0, result: [{dept_id, name, parent_id}]}           (children of one department)
  POST /topapi/v2/department/get?access_token {dept_id}
       → {errcode: 0, result: {dept_id, name, parent_id, dept_manager_userid_list}}
  POST /topapi/v2/user/list?access_token {dept_id, cursor, size}
       → {errcode: 0, result: {has_more, next_cursor, list: [{userid, unionid, name, mobile,
          email, title, dept_id_list, leader}]}}

The token, its renewal and the backoff on a rate-limit answer are dingtalk.py's."""
from __future__ import annotations

from trimtab.server.connectors.api_client import ApiClient
from trimtab.server.connectors.dingtalk import DingTalk, cursor_pages
from trimtab.server.connectors.directory import Department, Directory, Member

ROOT_DEPT = 1                                   # the company itself
PAGE_SIZE = 100                                 # user/list's largest page


def read_directory(http: ApiClient, protocol: DingTalk) -> Directory:
    """Every department under the company and every member of each, paged by cursor."""
    api = protocol.oapi_url
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
        for u in cursor_pages(http, f"{api}/topapi/v2/user/list", {"dept_id": int(dept_id)}, PAGE_SIZE):
            depts = tuple(str(d) for d in u.get("dept_id_list") or (dept_id,))
            members.setdefault(u["userid"], Member(
                platform_id=u["userid"], union_id=u.get("unionid") or None, name=u.get("name") or "",
                email=u.get("email") or u.get("org_email") or None, mobile=u.get("mobile") or None,
                title=u.get("title") or "", departments=depts,
                manager=u.get("manager_userid") or None))
    return Directory("dingtalk", departments, members)
