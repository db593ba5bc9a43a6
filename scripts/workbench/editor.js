// The workbench's editor (issue 16): CodeMirror 6 on one file of a draft.
// Highlighting from the language's keyword table (served as JSON: /workbench/api/keywords),
// diagnostics of the whole rule set as one types (save with If-Match, then the draft's check),
// completion from the server (dsl/editor/completion.py), format and translate zh⇄en.
// scripts/bundle.sh builds it into server/web/static/editor.js.
import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, indentUnit } from "@codemirror/language";
import { autocompletion } from "@codemirror/autocomplete";
import { linter, lintGutter, setDiagnostics } from "@codemirror/lint";
import { threeWayMerge } from "./merge.js";

const SAVE_DELAY_MS = 500;
const host = document.getElementById("editor");
const draft = host.dataset.draft, path = host.dataset.path;
const editable = host.dataset.editable === "true";
const words = JSON.parse(host.dataset.words);
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const lang = host.dataset.lang;
const fileUrl = `/v1/drafts/${draft}/file?path=${encodeURIComponent(path)}`;
const state = { etag: null, base: "", timer: null, saving: null, theirs: null };

function api(url, options = {}) {
  const headers = { "Accept-Language": lang, "X-CSRFToken": csrf, ...(options.headers || {}) };
  if (options.json !== undefined) {
    headers["Content-Type"] = "application/json";
    options = { ...options, body: JSON.stringify(options.json) };
  }
  return fetch(url, { credentials: "same-origin", ...options, headers });
}

// ------------------------------------------------------------------ highlighting
function escape(word) { return word.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

function language(table) {
  const alternation = (list) => list.slice().sort((a, b) => b.length - a.length).map(escape).join("|");
  // An English word ends at a word boundary; a Chinese keyword may touch the next character.
  const latin = (list) => list.filter((w) => /^[a-z ]+$/i.test(w));
  const other = (list) => list.filter((w) => !/^[a-z ]+$/i.test(w));
  const both = (list) => new RegExp(`(?:(?:${alternation(latin(list)) || "(?!)"})(?![\\p{L}\\p{N}_])|(?:${alternation(other(list)) || "(?!)"}))`, "uy");
  const keyword = both(table.keywords), fn = both(table.functions);
  const level = both(table.levels), constant = both([...table.constants, ...table.periods]);
  return StreamLanguage.define({
    name: "trimtab",
    token(stream) {
      if (stream.eatSpace()) return null;
      if (stream.match("#")) { stream.skipToEnd(); return "comment"; }
      if (stream.match(/"(?:[^"\\]|\\.)*"?/)) return "string";
      if (stream.match(/[+-]?[0-9０-９]+(?:[.．][0-9０-９]+)?(?:%|％|万|元)?/)) return "number";
      for (const [re, style] of [[keyword, "keyword"], [fn, "function"], [level, "atom"], [constant, "bool"]]) {
        re.lastIndex = stream.pos;
        const found = re.exec(stream.string);
        if (found && found.index === stream.pos && found[0].length) { stream.pos += found[0].length; return style; }
      }
      if (stream.match(/[\p{L}_][\p{L}\p{N}_.]*/u)) return "variableName";
      stream.next();
      return "operator";
    },
    languageData: { commentTokens: { line: "#" } },
  });
}

// ------------------------------------------------------------------ completion
const KIND_TYPE = { keyword: "keyword", field: "variable", function: "function", role: "type", value: "enum", form: "class" };

async function complete(context) {
  const word = context.matchBefore(/[\p{L}_][\p{L}\p{N}_]*/u);
  if (!word && !context.explicit) return null;
  const line = context.state.doc.lineAt(context.pos);
  const answer = await api("/workbench/api/complete", { method: "POST", json: {
    text: context.state.doc.toString(), line: line.number - 1, column: context.pos - line.from } });
  if (!answer.ok) return null;
  const { items } = await answer.json();
  return { from: word ? word.from : context.pos, validFor: /^[\p{L}\p{N}_]*$/u,
    options: items.map((s) => ({ label: s.label, type: KIND_TYPE[s.kind] || s.kind, detail: s.detail, info: s.info || undefined })) };
}

// ------------------------------------------------------------------ saving and checking
function status(text) { document.getElementById("save-state").textContent = text; }

function schedule(view) {
  clearTimeout(state.timer);
  state.timer = setTimeout(() => save(view), SAVE_DELAY_MS);
}

async function save(view) {
  if (state.saving) { await state.saving; }
  const text = view.state.doc.toString();
  if (text === state.base) return;
  status(words.saving);
  state.saving = (async () => {
    const answer = await api(fileUrl, { method: "PUT", json: { text }, headers: { "If-Match": `"${state.etag}"` } });
    const doc = await answer.json();
    if (answer.status === 409 && doc.error && doc.error.etag) { conflict(doc.error.etag); return; }
    if (!answer.ok) { status(doc.error ? doc.error.message : String(answer.status)); return; }
    state.etag = doc.etag; state.base = text;
    status(words.saved);
    document.body.dispatchEvent(new CustomEvent("trimtab-file-saved", { bubbles: true }));
    await check(view);
  })();
  await state.saving;
  state.saving = null;
}

async function check(view) {
  status(words.checking);
  const answer = await api(`/v1/drafts/${draft}/check`);
  if (!answer.ok) return;
  const found = await answer.json();
  const doc = view.state.doc;
  const here = found.diagnostics.filter((d) => d.file === path && d.line >= 1 && d.line <= doc.lines);
  view.dispatch(setDiagnostics(view.state, here.map((d) => {
    const line = doc.line(d.line);
    const from = Math.min(line.from + Math.max(d.column - 1, 0), line.to);
    const to = Math.min(line.to, from + (/^[\p{L}\p{N}_]+/u.exec(line.text.slice(from - line.from)) || [""])[0].length || line.to);
    return { from, to: Math.max(to, from), severity: "error", message: d.hint ? `${d.message}（${d.hint}）` : d.message, source: d.code };
  })));
  const list = document.getElementById("problems");
  list.replaceChildren(...found.diagnostics.map((d) => {
    const item = document.createElement("li");
    item.dataset.code = d.code;
    item.textContent = `${d.file}:${d.line}:${d.column} ${d.message}${d.hint ? " — " + d.hint : ""}`;
    return item;
  }));
  status(found.ok ? `${words.saved} · ${words.no_problems}` : `${words.saved} · ${found.count} ${words.problems}`);
}

// ------------------------------------------------------------------ someone else wrote
function conflict(theirEtag) {
  state.theirs = theirEtag;
  document.getElementById("conflict").hidden = false;
  status("");
}

async function load(view, keepMine) {
  const answer = await api(fileUrl);
  const doc = await answer.json();
  const mine = view.state.doc.toString();
  let text = doc.text;
  if (keepMine) {
    const merged = threeWayMerge(state.base, mine, doc.text);
    if (merged === null) { document.getElementById("conflict-note").textContent = words.merge_failed; return false; }
    text = merged;
  }
  state.etag = doc.etag; state.base = doc.text;
  if (text !== mine) view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text } });
  document.getElementById("conflict").hidden = true;
  document.getElementById("conflict-note").textContent = "";
  if (text !== doc.text) await save(view); else await check(view);
  document.body.dispatchEvent(new CustomEvent("trimtab-file-reloaded", { bubbles: true }));
  return true;
}

async function reformat(view, target) {
  const answer = await api("/workbench/api/format", { method: "POST", json: { text: view.state.doc.toString(), lang: target, path } });
  const doc = await answer.json();
  if (!answer.ok) { status(doc.error.message); return; }
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: doc.text } });
  await save(view);
}

// ------------------------------------------------------------------ start
async function start() {
  const [table, file] = await Promise.all([
    api("/workbench/api/keywords").then((r) => r.json()),
    api(fileUrl).then((r) => r.json()),
  ]);
  state.etag = file.etag; state.base = file.text;
  const view = new EditorView({
    parent: host,
    state: EditorState.create({
      doc: file.text,
      extensions: [
        lineNumbers(), history(), drawSelection(), highlightActiveLine(), indentUnit.of("    "),
        keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
        language(table), syntaxHighlighting(defaultHighlightStyle),
        lintGutter(), linter(null),
        autocompletion({ override: [complete], activateOnTyping: true }),
        EditorState.readOnly.of(!editable),
        EditorView.lineWrapping,
        EditorView.updateListener.of((u) => { if (u.docChanged && editable) schedule(u.view); }),
      ],
    }),
  });
  window.trimtabEditor = view;          // the browser tests read the text from here
  document.getElementById("conflict-reload").onclick = () => load(view, false);
  document.getElementById("conflict-merge").onclick = () => load(view, true);
  document.getElementById("format").onclick = () => reformat(view, undefined);
  document.getElementById("to-zh").onclick = () => reformat(view, "zh");
  document.getElementById("to-en").onclick = () => reformat(view, "en");
  document.body.addEventListener("trimtab:file-changed", (event) => {
    if (!event.detail || event.detail.path === path) load(view, true);
  });
  await check(view);
}

start();
