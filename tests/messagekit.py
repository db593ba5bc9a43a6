"""What a zh-CN message may hold: sample arguments as an HRBP writes them, the English names
allowed in it (formats, programs, file names), and the finder of English words."""
from __future__ import annotations

import re

# What a user wrote or a number: Chinese names as an HRBP writes them, numbers as numbers.
SAMPLE = {"rule": "健康度黄灯", "form": "周报", "field": "有效拜访数", "name": "有效拜访数", "list": "线索",
          "test": "黄灯测试", "rating": "综合评级", "part": "行为分", "case": "正常", "earlier": "否则",
          "subject": "华东.李", "role": "直属上级", "other": "评分.rules:3", "path": "规则/评分.rules",
          "json_path": "$.tests[0]", "rev": "HEAD~1", "commit": "30a1b29", "repo": "/数据/规则", "dir": "规则",
          "key": "广东", "token": "针对", "char": "；", "header": "至少 2 项满足:", "above": "当 x < 1",
          "sibling": "通知 hrbp", "block": "当", "deeper_line": "x < 1", "outer_line": "通知 hrbp",
          "text": "0.5万", "value": "75", "options": "黄、橙、红", "suggestion": "effective_visits",
          "func": "sum", "command": "show", "period": "2026-11", "percent": "75%", "fraction": "0.75",
          "shown": "7500%", "low_pct": "0%", "high_pct": "1000%", "seconds": "2", "budget": "2"}


# Not words: names of formats and programs (UTF-8, YAML, JSON, git and its subcommand `show`),
# file and folder names (*.rules, tests/cases), the schema keyword x-period and git's HEAD.
# Code names quoted in backticks (fields, keywords, functions) are left out before the check.
# HRBP is the role's name in Chinese HR (the seeds write it so), the zh word for `hrbp`.
ALLOWED = {"UTF-8", "YAML", "JSON", "git", "show", "rules", "x-period", "tests", "cases", "HEAD", "HRBP"}


ENGLISH = re.compile(r"[A-Za-z]{2,}(?:-[A-Za-z0-9]+)*")


def english_words(text: str) -> list[str]:
    """ASCII words of 2+ letters outside backticks, less the allowed names."""
    text = re.sub(r"`[^`]*`", "", text)
    return [w for w in ENGLISH.findall(text) if w not in ALLOWED]
