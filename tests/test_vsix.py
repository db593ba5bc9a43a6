"""The VS Code extension builds into a .vsix with the script in the repository, and again with
npm's --offline (npm's cache only, no network), holding the generated grammar and the language
client.  npm is needed: without it this test fails rather than skips (the machine has Node 20)."""
from __future__ import annotations

import json
import shutil
import subprocess
import zipfile

import pytest

from conftest import ROOT

EXTENSION = ROOT / "scripts" / "vscode"


def build(out, *flags):
    done = subprocess.run(["bash", str(ROOT / "scripts" / "vsix.sh"), "--out", str(out), *flags],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return zipfile.ZipFile(out)


@pytest.mark.slow
def test_the_vsix_builds_and_builds_again_offline_with_the_grammar_and_the_client(tmp_path):
    if shutil.which("npm") is None or shutil.which("node") is None:
        pytest.fail("npm and node are needed to build the VS Code extension (apt-get install nodejs npm)")
    subprocess.run(["node", "--check", str(EXTENSION / "extension.js")], check=True)
    for vsix in (build(tmp_path / "online.vsix"), build(tmp_path / "offline.vsix", "--offline")):
        names = set(vsix.namelist())
        grammar = vsix.read("extension/syntaxes/trimtab.tmLanguage.json").decode("utf-8")
        assert grammar == (EXTENSION / "syntaxes" / "trimtab.tmLanguage.json").read_text(encoding="utf-8")
        manifest = json.loads(vsix.read("extension/package.json"))
        assert manifest["contributes"]["grammars"][0]["path"] == "./syntaxes/trimtab.tmLanguage.json"
        assert "extension/extension.js" in names and "extension.vsixmanifest" in names
        client = json.loads(vsix.read("extension/node_modules/vscode-languageclient/package.json"))
        assert client["version"].startswith("9.")
        assert "extension/node_modules/vscode-languageclient/node.js" in names
        assert not any("/node_modules/@vscode/vsce/" in n for n in names)     # the packager stays out
