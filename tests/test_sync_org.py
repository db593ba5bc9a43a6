"""`trimtab sync org --from dingtalk|feishu`: the fintech org from local stand-ins of the
platforms' directory APIs (tests/directory_standin.py), which page, answer a rate-limit error
once and expire the token once."""
from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from directory_standin import APP, FEISHU_APP, DingTalkDirectory, FeishuDirectory, open_id
from trimtab.server.cli.main import main
from trimtab.server.connectors import api_client
from trimtab.server.storage.models import AuditEntry, Person, PersonIdentity

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


@pytest.fixture
def env(database, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                     # var/ (generated secrets) goes there
    monkeypatch.setattr(api_client, "BACKOFF_S", 0.01)
    for name, value in {"DATABASE_URL": database, "TRIMTAB_RULES": str(ROOT / "rules"),
                        "TRIMTAB_DINGTALK_CLIENT_ID": APP[0], "TRIMTAB_DINGTALK_CLIENT_SECRET": APP[1],
                        "TRIMTAB_FEISHU_CLIENT_ID": FEISHU_APP[0],
                        "TRIMTAB_FEISHU_CLIENT_SECRET": FEISHU_APP[1]}.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def people(database) -> dict:
    engine = create_engine(database.replace("postgresql+psycopg", "postgresql+psycopg"))
    try:
        with Session(engine) as s:
            rows = {p.id: p for p in s.scalars(select(Person))}
            ids = {}
            for pid, kind, value in s.execute(select(PersonIdentity.person_id, PersonIdentity.kind,
                                                     PersonIdentity.value)):
                ids.setdefault(pid, {})[kind] = value
            audits = s.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "org_synced"))
            s.expunge_all()
        return {"rows": rows, "ids": ids, "audits": audits}
    finally:
        engine.dispose()


def sync(platform: str, *extra) -> int:
    return main(["sync", "org", "--from", platform, "--rules", str(ROOT / "rules"), *extra])


def test_dingtalk_loads_the_fintech_org_then_deactivates_who_left(env, database, capsys):
    with DingTalkDirectory() as ding:
        env.setenv("TRIMTAB_DINGTALK_API_URL", ding.url)
        assert sync("dingtalk") == 0
        # The stand-in paged (size 2), refused once for the rate and once for the token.
        assert ding.rate_limited == 1 and ding.expired == 1
        assert len([s for s in ding.seen if s["path"] == "/gettoken"]) == 2
        assert any(s["body"].get("cursor") == 2 for s in ding.seen if s["path"] == "/topapi/v2/user/list")
        got = people(database)
        rows = got["rows"]
        assert len(rows) == 8 and got["audits"] == 1
        li = rows["rep001"]
        assert (li.name, li.role, li.region, li.manager_id, li.hrbp_id) == \
            ("李东", "rep", "east", "lead001", "hr001")
        assert (rows["lead001"].manager_id, rows["lead001"].region) == ("mgr001", "east")
        assert (rows["mgr001"].role, rows["mgr001"].manager_id) == ("regional_manager", "dir001")
        assert (rows["rep003"].region, rows["rep003"].manager_id) == ("south", "mgr002")
        assert (rows["dir001"].role, rows["dir001"].region, rows["dir001"].manager_id) == \
            ("sales_director", None, None)
        assert rows["hr001"].role == "hrbp"
        assert got["ids"]["rep001"] == {"dingtalk_userid": "rep001", "email": "li@fintech.example",
                                        "mobile": "13800000014"}
        assert all(p.active for p in rows.values())
        before = {pid: (p.updated_at, p.name) for pid, p in rows.items()}

        # 张伟 leaves: deactivated, kept; nobody else is touched; one more audit entry.
        ding.members = [m for m in ding.members if m[0] != "rep002"]
        capsys.readouterr()
        assert sync("dingtalk") == 0
        assert "- rep002" in capsys.readouterr().out
        got = people(database)
        assert len(got["rows"]) == 8 and got["audits"] == 2
        assert got["rows"]["rep002"].active is False and got["rows"]["rep002"].left_at is not None
        assert {pid: (p.updated_at, p.name) for pid, p in got["rows"].items() if pid != "rep002"} == \
            {pid: v for pid, v in before.items() if pid != "rep002"}

        # Nothing changed: nothing written, not even an audit entry.
        assert sync("dingtalk") == 0
        assert people(database)["audits"] == 2


def test_dry_run_prints_the_changes_and_writes_nothing(env, database, capsys):
    with DingTalkDirectory() as ding:
        env.setenv("TRIMTAB_DINGTALK_API_URL", ding.url)
        assert sync("dingtalk", "--dry-run") == 0
        out, err = capsys.readouterr()
        assert "+ rep001 (李东, rep, east, manager lead001)" in out
        assert "8 added" in err and "nothing written" in err
        got = people(database)
        assert got["rows"] == {} and got["audits"] == 0
        assert sync("dingtalk") == 0
        ding.members[4][1] = "李冬"                 # a renamed rep: the dry run names the field
        capsys.readouterr()
        assert sync("dingtalk", "--dry-run") == 0
        assert "~ rep001: name 李东 → 李冬" in capsys.readouterr().out
        assert people(database)["rows"]["rep001"].name == "李东"


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_feishu_loads_the_same_org(env, database):
    with FeishuDirectory() as fei:
        env.setenv("TRIMTAB_FEISHU_API_URL", fei.url)
        assert sync("feishu") == 0
        assert fei.rate_limited == 1 and fei.expired == 1
        assert any(s["query"].get("page_token") for s in fei.seen)
        got = people(database)
        rows = got["rows"]
        li = rows[open_id("rep001")]
        assert (li.role, li.region, li.manager_id, li.hrbp_id) == \
            ("rep", "east", open_id("lead001"), open_id("hr001"))
        assert rows[open_id("lead001")].manager_id == open_id("mgr001")
        assert got["ids"][open_id("rep001")]["feishu_union_id"] == "on_rep001"
        fei.members = [m for m in fei.members if m[0] != "rep003"]
        assert sync("feishu") == 0
        assert people(database)["rows"][open_id("rep003")].active is False


@pytest.mark.parametrize("db_kind", ["sqlite"])
def test_who_left_is_no_longer_a_recipient_or_an_approver(app):
    from serverkit import ORG, load_org
    from trimtab.server.domain.approval_flow import _holder
    from trimtab.server.jobs.schedules import _recipients
    load_org(app, ORG)
    with app.extensions["trimtab.sessions"]() as s, s.begin():
        assert _holder(s, "regional_manager", "east", ()).id == "east.mgr"
        s.get(Person, "east.mgr").active = False            # as `trimtab sync org` leaves it
        s.get(Person, "east.li").active = False
    with app.extensions["trimtab.sessions"]() as s:
        assert _holder(s, "regional_manager", "east", ()) is None
        assert _recipients(s, "rep") == []
