"""Keyword spellings: one canonical English and one canonical Chinese form per keyword.

The grammar (grammar.lark) is generated with these spellings filled in, so the two keyword
sets can never drift apart, and the formatter prints a token in either language from here.
Extra accepted spellings (synonyms) are listed after the two canonical ones.
"""

# terminal name -> (english, chinese, *other accepted spellings)
KEYWORDS: dict[str, tuple[str, ...]] = {
    # declarations
    "REFERENCE": ("reference", "参照"),
    "ROLE": ("role", "角色"),
    "ALERT": ("alert", "预警"),
    "SCORE": ("score", "积分"),
    "STATUS": ("status", "状态"),
    "TARGET": ("target", "目标"),
    "SPLIT": ("split", "拆分"),
    "POOL": ("pool", "激励池"),
    "APPROVAL": ("approval", "审批"),
    "SCHEDULE": ("schedule", "日程"),
    "RATING": ("rating", "评级"),
    # clauses
    "EFFECTIVE": ("effective", "生效"),
    "EXAMPLE": ("example", "示例"),
    "LEVEL": ("level", "级别"),
    "ON": ("on", "针对"),
    "PER": ("per", "按", "每个"),
    "WHEN": ("when", "当", "如果"),
    "NOTIFY": ("notify", "通知"),
    "WHEN_CLEARED": ("when cleared", "解除时"),
    "SAY": ("say", "提示"),
    "OTHERWISE": ("otherwise", "否则"),
    "WHERE": ("where", "满足"),
    "FOR_EACH": ("for each", "每一个"),
    "DOUBLED_WHERE": ("doubled where", "加倍条件"),
    "TOTAL": ("total", "总分"),
    "AT_MOST": ("at most", "至多"),
    "AT_LEAST": ("at least", "至少"),
    "SUGGEST": ("suggest", "建议"),
    "RANGE": ("range", "区间"),
    "WITHIN": ("within", "限于"),
    "REWARD": ("reward", "奖励"),
    "ABOVE_RANGE": ("above range", "超出区间部分"),
    "DIVIDE": ("divide", "拆分总额"),
    "ACROSS": ("across", "到"),
    "WEIGHT": ("weight", "权重"),
    "ADJUST": ("adjust", "调整"),
    "BEYOND": ("beyond", "超出时"),
    "REQUIRE": ("require", "必须提供"),
    "NEVER_BEYOND": ("never beyond", "不得超出"),
    "REBALANCE": ("rebalance", "其余按比例平衡"),
    "ROUND_TO": ("round to", "四舍五入到", "round half up to"),
    "ROUND_EVEN_TO": ("round half even to", "银行家舍入到"),
    "LARGEST_REMAINDER": ("largest remainder", "最大余额法"),
    "SIZE": ("size", "总额"),
    "SHARE": ("share", "分配"),
    "AMONG": ("among", "给"),
    "BY": ("by", "依据"),
    "PART": ("part", "分项"),
    "CHANGES_PER_CYCLE": ("changes per cycle", "次变更每周期", "change per cycle"),
    "ELSE": ("else", "否则提示"),
    "CYCLE": ("cycle", "周期"),
    "EVERY": ("every", "每"),
    "FROM": ("from", "起始"),
    "STEP": ("step", "审批人"),
    "COUNTERSIGN": ("countersign", "会签"),
    "AT": ("at", "在"),
    "BEFORE": ("before", "之前"),
    "REPORT": ("report", "报告"),
    "REMIND": ("remind", "提醒"),
    "TO": ("to", "发给"),
    "SUBMIT": ("submit", "提交"),
    "NO": ("no", "未提交"),                  # when no FORM for N consecutive weeks (silence)
    # expressions
    "AND": ("and", "且", "并且"),
    "OR": ("or", "或"),
    "NOT": ("not", "非"),
    "OF": ("of", "的"),
    "WEEKLY": ("weekly", "每周"),
    "BIWEEKLY": ("biweekly", "每双周"),
    "MONTHLY": ("monthly", "每月"),
    "QUARTERLY": ("quarterly", "每季度"),
}

# Built-in functions: canonical name -> (english, chinese, *synonyms).  Function names are
# ordinary NAME tokens followed by "(", resolved by the checker, printed by the formatter.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "average": ("average", "平均", "avg", "mean"),
    "sum": ("sum", "合计"),
    "count": ("count", "计数"),
    "min": ("min", "最小"),
    "max": ("max", "最大"),
    "any": ("any", "任一"),
    "all": ("all", "全部"),
    "abs": ("abs", "绝对值"),
    "round": ("round", "四舍五入"),
    "round_half_even": ("round_half_even", "银行家舍入"),
    "baseline": ("baseline", "基线"),
    "previous": ("previous", "上期"),
    "change": ("change", "变化"),
    "growth": ("growth", "增长率"),
}

# The parser names one terminal per spelling of a one-word keyword: ALERT__0 "alert", ALERT__1 "预警".
_SPELLING_SEP = "__"


def base_type(term: str) -> str:
    """ALERT__1 → ALERT."""
    return term.split(_SPELLING_SEP, 1)[0] if _SPELLING_SEP in term else term


FUNCTION_BY_SPELLING = {s: canon for canon, spellings in FUNCTIONS.items() for s in spellings}

# Phrase tokens carry a number inside them, so that the two languages may order words freely.
# phrase -> (english template, chinese template); {n} is the number, {u} the period word.
PHRASES = {
    "AT_LEAST_OF": ("at least {n} of", "至少 {n} 项满足"),
    "CONSECUTIVE": ("for {n} consecutive {u}", "连续 {n} {u}"),
    "LAST_WINDOW": ("last {n} {u}", "最近 {n} {u}"),
    # `sum(effective_visits, this month)`: the form's periods so far in the current month
    "THIS_PERIOD": ("this {u}", "本{u}"),
    "FOR_EVERY": ("for every {n}", "每 {n} 个"),
    "COUNTS_TOWARD": ("counts {n} toward", "按 {n} 计入"),
    # schedules: `monthly on day 5` / `每月 5 号`; `monthly on the 2nd and 4th friday` /
    # `每月 第 2、4 个 周五` ({n} is a list of ordinals here)
    "DAY_OF_MONTH": ("on day {n}", "{n} 号"),
    "NTH_WEEKDAYS": ("on the {n}", "第 {n} 个"),
}

# Period words inside phrases: canonical unit -> (english plural, english singular, chinese, ...)
PERIOD_WORDS = {
    "week": ("weeks", "week", "周", "个周"),
    "month": ("months", "month", "个月", "月"),
    "quarter": ("quarters", "quarter", "个季度", "季度"),
}
# `this month` / `本月`: the phrase THIS_PERIOD spelled whole, per period.
THIS_WORDS = {"week": ("this week", "本周"), "month": ("this month", "本月"),
              "quarter": ("this quarter", "本季度")}
PERIOD_BY_WORD = {w: unit for unit, words in PERIOD_WORDS.items() for w in words}


def spelling(terminal: str, lang: str) -> str:
    """The canonical spelling of a keyword terminal in `lang` ('en' or 'zh')."""
    forms = KEYWORDS[terminal]
    return forms[0] if lang == "en" else forms[1]


def period_word(unit: str, n: int, lang: str) -> str:
    words = PERIOD_WORDS[unit]
    if lang == "zh":
        return words[2]
    return words[1] if n == 1 else words[0]

# Words that are true and false in rule files and examples.
BOOL_WORDS = {"true": True, "false": False, "是": True, "否": False}

# Alert levels: a closed set, each with its Chinese spellings; a rule keeps the English name
# (notification colours and escalation order go by it).
LEVELS = {"yellow": "yellow", "orange": "orange", "red": "red",
          "黄": "yellow", "黄色": "yellow", "橙": "orange", "橙色": "orange", "红": "red", "红色": "red"}

# Weekdays a schedule may name → Monday 0 … Sunday 6.
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6, "周一": 0, "周二": 1, "周三": 2, "周四": 3, "周五": 4, "周六": 5, "周日": 6,
    "星期一": 0, "星期二": 1, "星期三": 2, "星期四": 3, "星期五": 4, "星期六": 5, "星期日": 6,
}
# Each weekday's canonical spellings (en, zh), by number: what `fmt` writes, and what a parsed
# rule keeps (`Monday`, `周一` and `星期一` mean one day, so they are one weekday in the AST).
WEEKDAY_SPELLINGS = (("monday", "周一"), ("tuesday", "周二"), ("wednesday", "周三"), ("thursday", "周四"),
                     ("friday", "周五"), ("saturday", "周六"), ("sunday", "周日"))


def weekday_spelling(word: str, lang: str = "en") -> str:
    """A weekday's canonical spelling in `lang`; a word that is no weekday as it was written."""
    day = WEEKDAYS.get(word.lower())
    return word if day is None else WEEKDAY_SPELLINGS[day][0 if lang == "en" else 1]
