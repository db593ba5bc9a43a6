"""/workbench/api: what the workbench's editor asks the server while an HRBP types — the
keyword table (its highlighting), completion (dsl/editor/completion.py, as `trimtab lsp`
offers it), format and translate zh⇄en (dsl/formatter.py, as `trimtab fmt --lang`).  The
text comes in the body: the editor asks about what is on screen, saved or not."""
from __future__ import annotations

from flask import Blueprint, jsonify

from trimtab.dsl.diagnostics import RuleError
from trimtab.dsl.editor import completion
from trimtab.dsl.keywords import BOOL_WORDS, FUNCTIONS, KEYWORDS, LEVELS, PERIOD_WORDS, THIS_WORDS
from trimtab.server.auth import requires
from trimtab.server.messages import msg
from trimtab.server.domain import drafts, rulesets
from trimtab.server.web.api_models import workbench as m
from trimtab.server.web.contract import contract, file_body
from trimtab.server.core.errors import DomainError, request_lang

bp = Blueprint("workbench_editor", __name__, url_prefix="/workbench/api")
MAX_SUGGESTIONS = m.MAX_SUGGESTIONS


def _text_body(model):
    """{"text", …} as `model`: a rule file's text, within a draft file's limit."""
    data = file_body(model)
    if len(data.text) > drafts.MAX_FILE_CHARS:
        raise DomainError("file_too_large", msg("a rule file has at most {limit} characters",
                                                limit=drafts.MAX_FILE_CHARS), "$.text")
    return data


@bp.get("/keywords")
@requires("workbench")
@contract("The keyword table the workbench editor highlights with: every spelling the grammar accepts, by "
          "class (HRBP, IT, admin)", answers={200: m.KeywordTable},
          headers={"Cache-Control": "private, max-age=3600: the table changes only with the server"})
def keyword_table():
    """Every spelling the grammar accepts, by class: the editor's highlighting reads these, so
    there is one source of spellings (dsl/keywords.py) and no second grammar."""
    words = [s for spellings in KEYWORDS.values() for s in spellings]
    answer = jsonify({
        "keywords": sorted(set(words), key=lambda w: (-len(w), w)),
        "functions": sorted({s for spellings in FUNCTIONS.values() for s in spellings}),
        "levels": sorted(LEVELS),
        "constants": sorted(BOOL_WORDS),
        "periods": sorted({w for words in (*PERIOD_WORDS.values(), *THIS_WORDS.values()) for w in words}),
    })
    answer.headers["Cache-Control"] = "private, max-age=3600"
    return answer


@bp.post("/complete")
@requires("workbench")
@contract("Completion at `line`, `column` (0-based characters) of a rule file's text: keywords, fields with "
          "labels and units, roles, values (HRBP, IT, admin)", body=m.CompleteAt, parameters=(m.ACCEPT_LANGUAGE,),
          answers={200: m.EditorSuggestions}, errors=(422,))
def complete():
    """Suggestions at `line`, `column` (0-based, characters) of `text`."""
    data = _text_body(m.CompleteAt)
    rs = rulesets.active()
    found = completion.complete(data.text, data.line, data.column, rs.schemas,
                                completion.roles_in([], rs.checked.roles), request_lang())
    return jsonify({"items": [{"label": s.label, "kind": s.kind, "detail": s.detail,
                               "info": s.documentation} for s in found[:MAX_SUGGESTIONS]]})


@bp.post("/format")
@requires("workbench")
@contract("A rule file's text in canonical layout; with `lang` (zh or en) keywords and names written in that "
          "language (HRBP, IT, admin)", body=m.FormatText, parameters=(m.ACCEPT_LANGUAGE,),
          answers={200: m.Formatted}, errors=(422,))
def format_file():
    """The canonical text; with `lang` (zh or en), keywords and names written in that language."""
    from trimtab.dsl.formatter import format_text
    data = _text_body(m.FormatText)
    lang = data.lang
    path = data.path if data.path is not None else "<input>"
    try:
        text = format_text(data.text, lang, path, _spellings(path, data.text) if lang else None)
    except RuleError as err:
        out = request_lang()
        raise DomainError("draft_invalid", err.message(out), "$.text",
                          diagnostics=[d.to_json(out) for d in err.diagnostics]) from None
    return jsonify({"text": text})


def _spellings(path: str, text: str):
    """Where the file names fields, forms and roles, read beside the served set's other files
    (roles are declared in roles.rules), as `trimtab fmt --lang` reads them."""
    from trimtab.dsl.build_ast import build
    from trimtab.dsl.names import resolve_names
    from trimtab.dsl.parser import parse
    rs = rulesets.active()
    parsed = [build(parse(text, path), path, text)]
    parsed += [f for f in rs.checked.files if f.path != path]
    return resolve_names(parsed, rs.schemas, lambda *a, **k: None)[1].get(path)
