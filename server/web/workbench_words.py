"""The workbench pages' own words, zh-CN first, then English.  Messages from the API (refusals,
diagnostics, explanations) come already in the page's language: the pages ask for it."""
from __future__ import annotations

from flask import current_app, request

WORDS: dict[str, tuple[str, str]] = {
    "title": ("规则工作台", "Rules workbench"),
    "files": ("文件与草稿", "Files and drafts"),
    "served": ("当前生效的规则文件", "Rule files being served"),
    "version": ("版本", "version"),
    "rules": ("规则", "rules"),
    "open_draft": ("打开为草稿", "Open as a draft"),
    "draft_title": ("草稿标题", "Draft title"),
    "my_drafts": ("我的草稿", "My drafts"),
    "no_drafts": ("还没有草稿", "No drafts yet"),
    "status.open": ("编辑中", "open"),
    "status.submitted": ("待审核", "in review"),
    "status.accepted": ("已接受", "accepted"),
    "status.returned": ("已退回", "sent back"),
    "stale": ("生效版本已更新", "the served version moved on"),
    "reviews": ("审核队列", "Review queue"),
    "sign_out": ("退出", "Sign out"),
    "editor": ("编辑", "Edit"),
    "saved": ("已保存", "saved"),
    "saving": ("保存中…", "saving…"),
    "checking": ("检查中…", "checking…"),
    "no_problems": ("没有问题", "no problems"),
    "problems": ("个问题", "problems"),
    "format": ("整理格式", "Format"),
    "to_zh": ("译为中文", "To Chinese"),
    "to_en": ("译为英文", "To English"),
    "conflict": ("其他人修改了这个文件", "Someone else changed this file"),
    "reload": ("重新载入（放弃我的修改）", "Reload (drop my changes)"),
    "merge": ("合并我的修改", "Merge my changes"),
    "merge_failed": ("同一处被双方修改，无法自动合并", "Both changed the same lines; cannot merge"),
    "params": ("参数", "Parameters"),
    "no_params": ("这个文件没有可调的数字", "This file has no tunable numbers"),
    "apply": ("应用", "Apply"),
    "limits": ("范围", "limits"),
    "try": ("试算", "Try it"),
    "form": ("表单", "Form"),
    "typed_facts": ("手填数据", "Typed facts"),
    "recorded_facts": ("已记录的数据", "Recorded facts"),
    "pick_record": ("选择一条记录", "Pick a record"),
    "run": ("运行", "Run"),
    "rule": ("规则", "Rule"),
    "published": ("生效版本", "Served"),
    "draft": ("草稿", "Draft"),
    "changed": ("有变化", "changed"),
    "unchanged": ("无变化", "same"),
    "trace": ("计算过程", "trace"),
    "impact": ("影响", "Impact"),
    "diff": ("改动", "Changes"),
    "no_changes": ("没有改动", "No changes"),
    "replay": ("回放历史数据", "Replay recorded facts"),
    "from": ("从", "from"),
    "to": ("到", "to"),
    "group_by": ("分组", "group by"),
    "progress": ("进度", "progress"),
    "records": ("条记录", "records"),
    "decisions_compared": ("个决策比较", "decisions compared"),
    "changed_count": ("个有变化", "changed"),
    "by_rule": ("按规则", "by rule"),
    "by_group": ("按团队", "by team"),
    "examples": ("示例", "examples"),
    "tests": ("规则测试", "Rule tests"),
    "passed": ("通过", "passed"),
    "failed": ("失败", "failed"),
    "coverage": ("覆盖率", "coverage"),
    "submit": ("提交审核", "Submit for review"),
    "submitted": ("已提交审核", "Submitted for review"),
    "accept": ("接受", "Accept"),
    "send_back": ("退回", "Send back"),
    "comment": ("意见", "Comment"),
    "accepted_now": ("已接受，现在生效的版本", "Accepted; now serving version"),
    "returned_note": ("已退回", "Sent back"),
    "queue_empty": ("没有待审核的草稿", "Nothing waiting for review"),
    "author": ("提交人", "author"),
    "why": ("决策原因", "Why this decision"),
    "facts": ("数据", "Facts"),
    "rule_text": ("规则原文", "The rule's text"),
    "explanation": ("说明", "Explanation"),
    "forbidden": ("工作台只对HRBP和IT开放", "The workbench is for HRBPs and IT"),
    "error": ("出错了", "Something went wrong"),
}


def page_lang() -> str:
    """zh unless asked otherwise: `?lang=`, then the `lang` cookie, then the signed-in person's
    own language (the org chart's 语言), then Accept-Language, then the deployment's LANG."""
    for asked in (request.args.get("lang"), request.cookies.get("trimtab_lang")):
        if asked in ("zh", "en"):
            return asked
    from trimtab.server.auth import current_principal
    principal = current_principal()
    if principal is not None and principal.lang in ("zh", "en"):
        return principal.lang
    accept = request.headers.get("Accept-Language", "").lower()
    if accept:
        return "en" if accept.startswith("en") else "zh"
    return current_app.config.get("LANG") or "zh"


def words(lang: str):
    index = 0 if lang == "zh" else 1
    return lambda key: WORDS[key][index] if key in WORDS else key
