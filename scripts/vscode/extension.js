// trimtab rules in VS Code: the TextMate grammar (syntaxes/, generated from dsl/keywords.py)
// colours a file at once; this starts `trimtab lsp` for diagnostics of the whole rule set,
// formatting, completion and semantic highlighting.  Plain JavaScript: nothing to compile.
"use strict";
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function serverCommand() {
  const config = vscode.workspace.getConfiguration("trimtab");
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  const command = config.get("server.command", "trimtab").replace("${workspaceFolder}", folder);
  return { command, args: config.get("server.args", ["lsp"]), options: { cwd: folder || undefined } };
}

async function activate(context) {
  const server = serverCommand();
  client = new LanguageClient("trimtab", "trimtab rules", { run: server, debug: server }, {
    documentSelector: [{ scheme: "file", language: "trimtab" }, { scheme: "untitled", language: "trimtab" }],
    // A checkout or a form schema changed on disk: the server checks the open files again.
    synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/{*.rules,form_schemas/*.json}") },
  });
  context.subscriptions.push(
    vscode.commands.registerCommand("trimtab.restartServer", () => client.restart()));
  try {
    await client.start();
  } catch (err) {
    vscode.window.showErrorMessage(
      `trimtab: could not start \`${server.command} ${server.args.join(" ")}\` (${err.message}). ` +
      "Set trimtab.server.command to the trimtab in the project's .venv.");
  }
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
