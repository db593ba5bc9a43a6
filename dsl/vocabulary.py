"""The words the language's messages interpolate (diagnostics.WORD_ARGS) that are not marked
where they are made: clause keywords, periods, kinds of rule, the checker's literal `what`,
`unit`, `why` and `expected` arguments, `_ARG_HELP`, and msgspec's JSON type names.

Nothing imports this module's values: `word(...)` marks each for extraction
(scripts/messages.sh), so the catalog holds its translation and tests/test_catalogs.py sees it.
A message that interpolates a new word of ours: add it here (or mark it with `word` where made).
"""
from .catalogs import word

PERIODS = (word("day"), word("week"), word("biweek"), word("month"), word("quarter"),
           word("weeks"), word("months"), word("days"), word("hours"), word("minutes"))
KINDS = (word("alert"), word("score"), word("status"), word("target"), word("split"), word("pool"),
         word("approval"), word("schedule"), word("rating"), word("reference"))
CLAUSES = (word("on"), word("when"), word("notify"), word("size"), word("share"), word("divide"),
           word("weight"), word("suggest"), word("cycle"), word("part …"), word("+N …"))
WHAT = (word("N"), word("no"), word("every"), word("lead time"), word("window"), word("adjust"),
        word("range"), word("reward"), word("±band"), word("weeks/months"), word("hours/days"))
WHY = (word("sign"), word("smaller than one award"))
EXPECTED = (word("true or false"), word("one numeric field of the form"), word("(field, last N periods)"),
            word("(field, last N periods) or (list.field [where …])"),
            word("(a, b, …), (field, last N periods) or (list.field [where …])"),
            word("(list [where …]) or (condition, last N periods)"), word("(list where condition)"),
            word("(number)"), word("(number, places)"), word("other arguments"))
FIELD_KINDS = (word("integer"), word("number"), word("string"), word("boolean"), word("array"),
               word("date"), word("object"), word("null"))
LEVELS = (word("yellow"), word("orange"), word("red"))
SEPARATORS = (word(", "), word("; "))        # lists and reasons in explanations
# Built-in roles as explanations name them (rules still write the ids; see roles.rules).
BUILTIN_ROLES = (word("subject"), word("rep"), word("direct_manager"), word("hrbp"),
                 word("regional_manager"), word("headquarters"), word("attendees"))
