"""The language's messages: code → English text, with named arguments.

The English text is the gettext msgid and the code its msgctxt; the other languages are in the
catalogs (dsl/locale/*/LC_MESSAGES/trimtab_dsl.po, see docs/messages.md).  An argument that is
a word (a type, a unit, a kind of rule: diagnostics.WORD_ARGS) is translated too.
"""

MESSAGES: dict[str, str] = {
    "hint.did_you_mean": "did you mean `{suggestion}`?",
    # ---- parse
    "parse.unexpected_character": "unexpected character `{char}`",
    "parse.unexpected_token": "unexpected `{token}`; expected {expected}",
    "parse.unexpected_end": "the line or block ends too early; expected {expected}",
    "parse.unexpected_indent": "this line is indented, but `{above}` does not open a block: "
                               "line it up with `{sibling}`",
    "parse.bad_indentation": "this line is indented by {width} spaces, which matches no block: "
                             "indent it by {deeper} like `{deeper_line}`, or by {outer} like `{outer_line}`",
    "parse.missing_indent": "indent this line under `{header}`",
    "parse.misplaced_line": "this line does not belong under `{block}`: line it up with `{sibling}`",
    "parse.empty_block": "`{header}` opens a block, but no line is indented under it: "
                         "write its lines below it, indented by 4 spaces",
    "parse.extra_text": "`{token}` is too much: the line should end before it",
    "parse.fullwidth_char": "{name} `{char}`: {fix}",
    "parse.syntax_error": "syntax error: {detail}",
    "parse.bad_encoding": "the file is not UTF-8 text",
    # ---- check: names and forms
    "check.unknown_form": "unknown form `{name}`",
    "check.unknown_field": "unknown field `{name}` in form `{form}`",
    "check.unknown_item_field": "unknown field `{name}` in the items of `{list}`",
    "check.unknown_reference": "unknown reference value `{name}`",
    "check.unknown_function": "unknown function `{name}`",
    "check.unknown_role": "unknown role `{name}`",
    "check.ambiguous_name": "`{name}` could mean {meanings}: a label names one thing only; "
                            "write the id, or give the forms or roles labels of their own",
    "warn.role_unheld": "nobody in the organisation chart holds the role `{name}`: "
                        "what this sends to `{name}` reaches no one",
    "check.unknown_placeholder": "unknown placeholder `{{{name}}}` in message",
    "check.unknown_report": "unknown report `{name}`",
    "check.unknown_weekday": "unknown weekday `{name}`",
    "check.not_a_list": "`{name}` is not a list field of form `{form}`",
    "check.not_a_subject": "form `{form}` has no subject field `{name}`",
    "check.duplicate_rule": "a rule named `{name}` is already defined at {other}",
    "check.duplicate_name": "`{name}` is defined twice in this rule",
    "check.missing_clause": "{kind} `{rule}` needs a `{clause}` line",
    "check.duplicate_clause": "only one `{clause}` line is allowed here",
    "check.no_history_for_form": "`{what}` needs a period, but form `{form}` declares none (x-period)",
    "check.period_mismatch": "form `{form}` is {actual}, but the rule counts in {wanted}",
    # ---- check: types and units
    "check.unit_mismatch": "cannot {op} {left} and {right}",
    "check.bad_scale": "`{text}` is not a scale to round to: write `元`, `万`, `0.01万` or a number like `0.01`",
    "check.scale_not_money": "`{text}` is an amount of money, but what is shared here is not money",
    "check.band_order": "the hard limit ±{limit} is narrower than the free band ±{free}",
    "check.round_places": "`{name}` rounds to whole decimal places from -10 to 10 (`{name}(x, 2)`), "
                          "or to `万`, `元`, `0.01万`",
    "check.type_mismatch": "expected {expected} here, found {found}",
    "check.not_a_condition": "this is {found}, not a condition that is true or false",
    "check.enum_value": "`{value}` is not one of {options} for `{field}`",
    "check.bad_arguments": "`{name}` takes {expected}",
    "check.where_not_allowed": "`where` only follows a list field",
    "check.window_needs_field": "a window like `last 6 months` needs a field of the form",
    "check.window_not_coarser": "`this {unit}` adds up the periods of form `{form}` inside one {unit}, "
                                "but its periods ({actual}) do not lie inside a {unit}",
    "check.history_in_item": "history functions cannot be used inside a per-item condition",
    "check.bad_percent": "{what} must be between {low} and {high}, found {value}",
    "check.weights_sum": "split weights add up to {total}, not 100%",
    "check.rating_weights_sum": "scores counting toward `{rating}` add up to {total}, more than 100%",
    "check.rating_parts_sum": "the parts of rating `{rating}` in force here weigh {total} in all; "
                              "they must add up to 100%",
    "check.duplicate_part": "part `{part}` already has a weight from the same date (line {line})",
    "check.dead_case": "case `{case}` can never be reached: `{earlier}` (line {line}) already covers it",
    "check.case_after_otherwise": "case `{case}` comes after `otherwise` and can never be reached",
    "check.missing_otherwise": "status `{rule}` needs a final `otherwise` case",
    "check.duplicate_case": "case `{case}` appears twice",
    "check.no_final_approver": "approval `{rule}` has no unconditional step, so it may end with no approver",
    "check.repeated_role": "role `{name}` already approves in this chain (line {line})",
    "check.self_approval": "the subject cannot approve their own change",
    "check.bad_cap": "cap {cap} does not fit points {points}: {why}",
    "check.bad_total_caps": "the total floor {low} is above the total cap {high}",
    "check.invalid_time": "`{value}` is not a valid time of day",
    "check.invalid_date": "`{value}` is not a valid date",
    "check.bad_interval": "{what} must be a whole number of {unit}, at least 1",
    "check.bad_every_days": "`every N … from a date` counts days or weeks, at least 1; found `{value}`",
    "check.bad_day_of_month": "a day of the month is 1 to 31 (31 means the month's last day); found {value}",
    "check.bad_nth_weekday": "which weekdays of the month: each of 1st to 5th, once; found {value}",
    "check.zero_divisor": "division by zero",
    "check.undefined_name": "`{name}` is used before it is defined",
    # ---- load
    "load.no_rules": "no rule files (*.rules) under {path}",
    "load.bad_schema": "form schema {path} is not valid: {detail}",
    "load.unreadable": "cannot read {path}: {detail}",
    "load.org_no_role_column": "{path} has no `角色` or `role` column in its first row",
    # ---- eval
    "eval.missing_field": "rule `{rule}` needs field `{field}`, which the facts lack",
    "eval.wrong_type": "rule `{rule}`: field `{field}` should be {expected}, got {found}",
    "eval.division_by_zero": "rule `{rule}` divides by zero (line {line})",
    "eval.empty_window": "rule `{rule}`: no values to take `{func}` of (line {line})",
    "eval.unknown_form": "no rules listen to form `{form}`",
    "eval.bad_history": "history must be a list of earlier periods' facts (objects)",
    "eval.history_too_long": "history holds {count} periods; at most {limit} are read",
    "eval.budget_exceeded": "evaluation stopped before rule `{rule}`: over its budget of {seconds} s",
}
MESSAGES.update({
    "eval.no_history": "rule `{rule}`: not enough earlier periods of `{field}`",
    "eval.bad_facts": "facts must be a JSON object",
    "eval.bad_shape": "rule `{rule}`: the facts do not have the shape of form `{form}` ({detail})",
    "check.bound_only_in_target": "`within ±N%` bounds belong in a target rule",
    "parse.too_deep": "expression nested too deeply",
    "check.example_kind": "examples are for {kinds} rules, not {kind}",
    "check.too_complex": "rule `{rule}` nests its expressions too deeply to compile; "
                         "split it with named formulas",
    "eval.missing_period": "rule `{rule}`: no `{field}` for {period} (nothing was submitted for that period)",
    "check.silence_example": "`{rule}` is a silence alert (`when no …`): it takes no examples — it is "
                             "evaluated for a person on a day, not on a form's facts; test it with a rule "
                             "test that gives `today:` and `history:`",
    "check.silence_other_form": "`no {name}` must name the rule's own form `{form}` (its `on` clause)",
})
MESSAGES.update({     # limits (dsl/limits.py): what a rule set may say, and how big a load may be
    "parse.file_too_large": "the file has {size} characters; at most {limit} are allowed",
    "parse.number_too_long": "a number of more than {limit} digits",
    "check.number_out_of_range": "{value} is out of range: numbers must be below 10^15 in size",
    "check.too_many_decimals": "{value} has more than {limit} decimals",
    "check.count_out_of_range": "{what} must be between {low} and {high}, found {value}",
    "check.duration_out_of_range": "{what} of {value} is longer than 10 years",
    "check.too_deep": "expressions nest more than {limit} levels deep; split them with named formulas",
    "check.too_many_rules": "form `{form}` has {count} rules; at most {limit} rules may be on one form",
    "check.schedule_unrunnable": "schedule `{name}`: its next run cannot be computed ({detail})",
    "load.over_budget": "loading the rule set took more than {budget} s (stopped while {stage}); "
                        "simplify or split the rules",
    "internal.error": "internal error while {stage} this file ({detail}); please report it",
    "eval.out_of_range": "rule `{rule}`: a value is too large to compute ({detail})",
    "eval.internal": "rule `{rule}`: internal error ({detail}); please report it",
})
MESSAGES.update({     # versions (dsl/versions.py): a revision of the rules read from git
    "git.missing": "the git command is not installed",
    "git.timeout": "git {command} took longer than {seconds} s",
    "git.failed": "git {command} failed: {detail}",
    "git.no_path": "{path} does not exist",
    "git.not_a_repository": "{path} is not inside a git repository",
    "git.outside": "{path} is outside the repository {repo}",
    "git.bad_revision": "`{rev}` is not a revision name",
    "git.unknown_revision": "unknown revision `{rev}` in {repo}",
    "git.bad_encoding": "{commit}:{path} is not UTF-8 text",
    "git.no_rules": "no *.rules under {dir}/ at {rev} ({commit})",
})
MESSAGES.update({     # rule test files (dsl/rule_tests.py): rules/tests/*.yaml
    "test.bad_yaml": "not valid YAML: {detail}",
    "test.not_a_list": "expected a mapping with a `tests:` list",
    "test.file_schema": "{detail} (at {json_path})",
    "test.schema": "test “{test}”: {detail} (at {json_path})",
    "test.needs_expect": "test “{test}”: needs one of `expect:`, `expect_error:` or `expect_eval_error:`",
    "test.not_a_mapping": "test “{test}”: each test is a mapping (name, form, facts, expect)",
    "test.language_only": "test “{test}”: `{key}` belongs to the language's own cases "
                          "(tests/cases); a rule test runs the rules beside it",
    "test.unknown_form": "test “{test}” names unknown form `{name}`",
    "test.unknown_rule": "test “{test}” names unknown rule `{name}`",
})
MESSAGES.update({     # decoding a submission (dsl/decode.py): JSON bytes → facts of a form
    "decode.malformed": "the body is not JSON: {detail}",
    "decode.invalid": "{detail}",
    "decode.missing_field": "Object missing required field `{name}`",
    "decode.unknown_field": "Object contains unknown field `{name}`",
    "decode.wrong_type": "Expected `{expected}`, got `{found}`",
    "decode.not_a_date": "{value} is not a 'date'",
    "decode.out_of_bounds": "{value} is outside the field's bounds",
    "decode.too_many_decimals": "{value} has more than {limit} decimal places",
    "decode.not_a_number": "{value} is not of type 'number'",
})
MESSAGES.update({     # percent fields hold fractions (dsl/percents.py)
    "eval.percent_not_fraction": "`{field}` is a percent field: a fraction from {low} to {high} "
                                 "({low_pct} to {high_pct}); {value} is outside it. "
                                 "Percent fields are fractions: {fraction} or \"{percent}\"",
    "eval.percent_out_of_range": "`{field}` is {value}, outside its range of {low} to {high}",
    "check.plain_number_vs_percent": "`{value}` is a plain number, but {name} is a percentage "
                                     "(a fraction: 75% is 0.75), so this means {shown}; "
                                     "write `{value}%` for {value} percent",
    "check.unknown_level": "`{name}` is not an alert level: write `yellow`, `orange` or `red` "
                           "(`黄`, `橙`, `红`)",
    "hint.percent_fraction": "percent fields are fractions: {fraction} or \"{percent}\"",
})
MESSAGES.update({     # no-code parameters (dsl/parameters.py): a rule's numbers set from a form
    "param.unknown": "no parameter `{id}` in this file",
    "param.bad_value": "{label}: `{value}` is not a number in this rule's notation",
    "param.out_of_range": "{label}: {value} is outside what the rule allows ({allowed})",
})
