"""Every code block of README.md and docs/*.md runs, in order, in a temporary directory, so the docs cannot
drift from the code.

- ``sh``/``bash``/``shell`` blocks: each command (``\\`` continuations joined) runs in bash and must exit 0;
  ``console`` blocks: the lines after a ``$ `` prompt.
- ``python`` blocks: executed in one namespace per file, in document order with the shell blocks.
- Other blocks (output samples, tables, ``toml``) are not run unless marked.

Training is cut short, openly, by rewriting the numbers in the text that is run: ``--epochs N`` and
``epochs=N`` become 2, ``num_iterations=N`` 3, ``max_iter=N`` 5 (a ``vecprop train`` without
``--epochs`` gets ``--epochs 2``). Nothing else is changed and no output is faked.

An HTML comment on the line before a fence controls that block:

- ``<!-- docs-test: skip (why) -->`` — not run; the reason is required (``make`` builds its own .venv,
  ``mpiexec`` needs an MPI launcher, a server that never returns, ...).
- ``<!-- docs-test: file NAME -->`` — the block is written to NAME in the temporary directory.
- ``<!-- docs-test: output of `COMMAND` -->`` — COMMAND is run and must print every line of the block
  (``...`` lines aside), in order.

The example data files the docs use (``data.csv``, ``test.csv``, ``new.csv``: iris-like measurements
with a ``species`` column) are written into the directory first.
"""

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL = {"sh", "bash", "shell", "zsh"}
FENCE = re.compile(r"^(```+|~~~+)\s*([\w+-]*)")
MARK = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
SHORTER = [
    (re.compile(r"--epochs[ =]\d+"), "--epochs 2"),
    (re.compile(r"\bepochs\s*=\s*\d+"), "epochs=2"),
    (re.compile(r"\bnum_iterations\s*=\s*\d+"), "num_iterations=3"),
    (re.compile(r"\bmax_iter\s*=\s*\d+"), "max_iter=5"),
]
TIMEOUT = 300


@dataclass
class Block:
    lang: str
    text: str
    line: int  # line number of the opening fence
    mark: str  # the docs-test comment before it, or ""


def code_blocks(path):
    """The fenced blocks of a Markdown file, with the docs-test comment on the line before each."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group(1), i
        j = i + 1
        while j < len(lines) and not lines[j].startswith(fence):
            j += 1
        mark = MARK.match(lines[start - 1]) if start else None
        blocks.append(
            Block(m.group(2).lower(), "\n".join(lines[start + 1 : j]) + "\n", start + 1, mark.group(1) if mark else "")
        )
        i = j + 1
    return blocks


def shell_commands(block):
    """The commands of a shell block: continuations joined, blank and comment-only lines dropped."""
    text = block.text.replace("\\\n", " ")
    if block.lang == "console":
        return [line[2:] for line in text.splitlines() if line.startswith("$ ")]
    return [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def _strip_comment(command):
    """The command without a trailing `# comment` (a # after whitespace, outside quotes)."""
    quote = None
    for k, ch in enumerate(command):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and k and command[k - 1].isspace():
            return command[:k].rstrip()
    return command


def shorten(text, shell=False):
    for pattern, replacement in SHORTER:
        text = pattern.sub(replacement, text)
    if shell:
        text = _strip_comment(text)
        if re.search(r"\bvecprop train\b", text) and "--epochs" not in text:
            text += " --epochs 2"
    return text


def run_shell(command, cwd, where):
    env = {
        **os.environ,
        "PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""),
        "PYTHONWARNINGS": "ignore",
        "MPLBACKEND": "Agg",
    }
    proc = subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, (
        f"{where}: `{command}` exited {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
    )
    return proc.stdout


def check_output(block, cwd, where):
    command = re.match(r"output of `(.+)`$", block.mark).group(1)
    out = [line.rstrip() for line in run_shell(command, cwd, where).splitlines()]
    k = 0
    for expected in (line.rstrip() for line in block.text.splitlines()):
        if expected in ("...", ""):
            continue
        while k < len(out) and out[k] != expected:
            k += 1
        assert k < len(out), f"{where}: `{command}` does not print the documented line {expected!r}:\n" + "\n".join(out)
        k += 1


def write_example_data(directory):
    """Iris-like files: four measurements and a species, three well-separated classes."""
    rng = np.random.default_rng(0)
    centers = {"setosa": (5.0, 3.4, 1.5, 0.2), "versicolor": (5.9, 2.8, 4.3, 1.3), "virginica": (6.6, 3.0, 5.6, 2.0)}
    header = "sepal_length,sepal_width,petal_length,petal_width"

    def rows(n, labelled=True):
        out = []
        for name, center in centers.items():
            for x in rng.normal(center, 0.25, size=(n, 4)):
                out.append(",".join(f"{v:.2f}" for v in x) + (f",{name}" if labelled else ""))
        return out

    (directory / "data.csv").write_text("\n".join([header + ",species", *rows(50)]) + "\n")
    (directory / "test.csv").write_text("\n".join([header + ",species", *rows(20)]) + "\n")
    (directory / "new.csv").write_text("\n".join([header, *rows(4, labelled=False)]) + "\n")


@pytest.mark.parametrize("doc", DOC_FILES, ids=lambda p: p.name)
def test_every_code_block_runs(doc, tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    if shutil.which("bash") is None:
        pytest.skip("needs bash")
    write_example_data(tmp_path)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": "__docs__"}
    ran = 0
    for block in code_blocks(doc):
        where = f"{doc.relative_to(ROOT)}:{block.line}"
        if block.mark.startswith("skip"):
            assert re.match(r"skip \(.+\)$", block.mark), f"{where}: a skip needs a reason: skip (why)"
            continue
        if block.mark.startswith("file "):
            (tmp_path / block.mark[5:].strip()).write_text(shorten(block.text))
        elif block.mark.startswith("output of"):
            check_output(block, tmp_path, where)
        elif block.mark:
            pytest.fail(f"{where}: unknown docs-test comment {block.mark!r}")
        elif block.lang in SHELL or block.lang == "console":
            for command in shell_commands(block):
                run_shell(shorten(command, shell=True), tmp_path, where)
        elif block.lang in ("python", "py"):
            exec(compile(shorten(block.text), where, "exec"), namespace)
        else:
            continue
        ran += 1
    assert ran > 0 or not code_blocks(doc), f"{doc.name}: no block ran"


def test_the_runner_reads_marks_and_shortens_training(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text(
        "text\n<!-- docs-test: skip (needs mpiexec) -->\n```sh\nmpiexec -n 2 vecprop train\n```\n"
        "```python\nnet.fit(X, Y, epochs=300)\n```\n````sh\nvecprop train --hidden 4 \\\n"
        "    --epochs 500  # comment\nvecprop train --data a.csv   # default epochs\n````\n"
    )
    blocks = code_blocks(doc)
    assert [(b.lang, b.line, b.mark) for b in blocks] == [
        ("sh", 3, "skip (needs mpiexec)"),
        ("python", 6, ""),
        ("sh", 9, ""),
    ]
    assert shorten(blocks[1].text) == "net.fit(X, Y, epochs=2)\n"
    commands = [shorten(c, shell=True) for c in shell_commands(blocks[2])]
    assert commands == ["vecprop train --hidden 4      --epochs 2", "vecprop train --data a.csv --epochs 2"]
    assert _strip_comment("echo 'a # b' # c") == "echo 'a # b'"


def test_relative_links_resolve_inside_the_repository():
    for doc in DOC_FILES:
        text = doc.read_text(encoding="utf-8")
        prose = re.sub(r"`[^`\n]*`", "", re.sub(r"(?ms)^```.*?^```", "", text))  # links are not in code
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", prose):
            if re.match(r"[a-z]+://|mailto:", target):
                continue
            path = (doc.parent / target).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), f"{doc.name}: link to {target} leaves the repository"
        assert "shared/" not in text, f"{doc.name} names a file outside the repository (shared/...)"
