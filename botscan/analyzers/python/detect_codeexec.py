"""BOT501 and BOT502 in Python: code decoded or downloaded at run time, then run.

`exec`, `eval` and their disguises (the CodeExec concept, `execution.py`) are sinks for content
the flows mark decoded or downloaded (`taint.Origin`), directly or through the module's own
functions (`taint.Relay`). Programs are judged by their command lines: a download piped into a
shell, a `pip install` of a URL, or a file the code downloaded and then starts or makes
executable.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from botscan.analyzers.python import execution, prefilter, stores
from botscan.analyzers.python.engine import CallCollector, FileContext
from botscan.analyzers.python.network import UNKNOWN
from botscan.analyzers.python.symbols import Assigned, Scope, call_text, dotted_name
from botscan.analyzers.python.taint import (
    DECODED,
    DOWNLOADED,
    Origin,
    Relay,
    Taint,
    TaintAnalysis,
)


@dataclass(frozen=True)
class _Exec:
    call: cst.Call
    name: str


@dataclass
class _Download:
    """Where the code saved something it downloaded: the path's text and the names it goes by."""

    texts: set[str]
    names: set[str]
    node: cst.CSTNode


class CodeExecDetector(CallCollector):
    rules = frozenset({"BOT501", "BOT502"})
    triggers = (prefilter.calls_to("code execution and processes", execution.call_patterns),)



    def finish(self, ctx: FileContext) -> None:
        taint = TaintAnalysis(ctx)

        def found(sink: _Exec, value: cst.BaseExpression, scope: Scope, labels: Taint,
                  via: cst.FunctionDef | None) -> None:
            _report_exec(ctx, sink, value, labels, via)

        relay: Relay[_Exec] = Relay(taint, self.calls, found)
        downloads: list[_Download] = []
        runs: list[tuple[cst.Call, execution.ProcessRun]] = []
        for ev in self.calls:
            call = ev.node
            assert isinstance(call, cst.Call)
            sink = execution.exec_sink(call, ev.scope, ctx.resolver)
            if sink is not None:
                relay.check(_Exec(call, sink.name), sink.payload, ev.scope)
            run = execution.process_run(call, ev.scope, ctx.resolver)
            if run is not None:
                runs.append((call, run))
                _report_command(ctx, call, run)
            saved = _saved_download(call, ev.scope, ctx, taint)
            if saved is not None:
                download = _download(saved[0], ev.scope, ctx, call)
                download.names |= saved[1]
                downloads.append(download)
        relay.run()
        if downloads:
            self._runs_of_downloads(ctx, runs, downloads)

    def _runs_of_downloads(self, ctx: FileContext,
                           runs: list[tuple[cst.Call, execution.ProcessRun]],
                           downloads: list[_Download]) -> None:
        for started, run in runs:
            download = next((d for d in downloads if _launched(run, d)), None)
            if download is not None:
                ctx.report("BOT502", started,
                           f"`{run.name}` starts a file this code downloaded (line @line0@): "
                           "whoever controls the download decides what runs on this machine.",
                           evidence={"call": run.name}, related=[[download.node]])
        for ev in self.calls:
            call = ev.node
            assert isinstance(call, cst.Call)
            changed = execution.chmod_call(call, ev.scope, ctx.resolver)
            if changed is None or not execution.is_exec_mode(changed[1]):
                continue
            target = _download(changed[0], ev.scope, ctx, call)
            download = next((d for d in downloads if d.texts & target.texts
                             or d.names & target.names), None)
            if download is not None:
                ctx.report("BOT502", call,
                           f"`{call_text(call.func)}` makes a file this code downloaded "
                           "(line @line0@) executable: the next step is running it.",
                           evidence={"call": call_text(call.func)}, related=[[download.node]])


def _report_exec(ctx: FileContext, sink: _Exec, value: cst.BaseExpression, labels: Taint,
                 via: cst.FunctionDef | None) -> None:
    marked = [label for label in labels if isinstance(label, Origin)]
    downloaded = [o for o in marked if o.kind == DOWNLOADED]
    decoded = [o for o in marked if o.kind == DECODED]
    if not downloaded and not decoded:
        return
    node: cst.CSTNode = value if via is not None else sink.call
    through = f", through `{via.name.value}()` (line @line1@)" if via is not None else ""
    if downloaded:
        shown = downloaded[0].detail
        ctx.report("BOT502", node,
                   f"`{sink.name}` runs code downloaded by `{shown}` (line @line0@){through}: "
                   "whoever controls that address decides what this bot does, after you "
                   "reviewed it.",
                   evidence={"sink": sink.name, "download": shown},
                   related=[[o.node for o in downloaded], [sink.call]])
        return
    kinds = sorted({o.detail for o in decoded})
    ctx.report("BOT501", node,
               f"`{sink.name}` runs code decoded at run time ({', '.join(kinds)}, line "
               f"@line0@){through}: what runs is not what you read. Decode it by hand (print "
               "it, never run it) to see what it does.",
               evidence={"sink": sink.name, "decoders": kinds},
               related=[[o.node for o in decoded], [sink.call]])


def _report_command(ctx: FileContext, call: cst.Call, run: execution.ProcessRun) -> None:
    if execution.downloads_and_runs(run.command):
        ctx.report("BOT502", call,
                   f"`{run.name}` runs a command line that downloads a script and runs it: "
                   "whoever controls that address decides what runs on this machine.",
                   evidence={"call": run.name})
    elif execution.installs_from_url(run.command):
        ctx.report("BOT502", call,
                   f"`{run.name}` runs `pip install` of a URL at run time: unpinned code that "
                   "nobody reviewed, chosen by whoever controls that address.",
                   evidence={"call": run.name})


# --- downloaded files -------------------------------------------------------------------------

def _saved_download(call: cst.Call, scope: Scope, ctx: FileContext,
                    taint: TaintAnalysis) -> tuple[cst.BaseExpression, set[str]] | None:
    """The path a call saves downloaded content to (`urlretrieve(url, path)`,
    `open(path, "wb").write(resp.content)`, `Path(path).write_bytes(r.content)`,
    `shutil.copyfileobj(resp.raw, fh)`), and the names the file object goes by."""
    direct = execution.download_file(call, scope, ctx.resolver)
    if direct is not None:
        return direct, set()
    func = call.func
    args = [a.value for a in call.args if a.keyword is None and not a.star]
    written: cst.BaseExpression | None = None
    if isinstance(func, cst.Attribute) and func.attr.value in execution.file_write_methods() \
            and args and _downloaded(taint.of(args[0], scope)):
        written = func.value
    elif execution.is_copy_call(ctx.resolver.call_target(call, scope)) and len(args) >= 2 \
            and _downloaded(taint.of(args[0], scope)):
        written = args[1]
    if written is None:
        return None
    found = _file_path(written, scope, ctx)
    if found is None:
        return None
    path, opened = found
    name = None if opened else dotted_name(written)  # `target.write_bytes(...)`
    return path, {name} if name else set()


def _downloaded(labels: Taint) -> bool:
    return any(isinstance(label, Origin) and label.kind == DOWNLOADED for label in labels)


def _file_path(node: cst.BaseExpression, scope: Scope,
               ctx: FileContext) -> tuple[cst.BaseExpression, bool] | None:
    """The path of a file object (`open(path, "wb")`, or a name bound to one by `with`), or
    the path object itself (`Path(path)`); True when it came from an `open`."""
    for _ in range(4):
        if isinstance(node, cst.Name):
            bound = [b for b in scope.lookup(node.value) if isinstance(b, Assigned)]
            if not bound:
                return None
            node, scope = bound[0].value, bound[0].scope
            continue
        if isinstance(node, cst.Call):
            target = ctx.resolver.call_target(node, scope) or ""
            args = [a.value for a in node.args if a.keyword is None]
            if target.endswith(".open") and args:
                return args[0], True
        return node, False
    return None


def _download(path: cst.BaseExpression, scope: Scope, ctx: FileContext,
              node: cst.CSTNode) -> _Download:
    texts: set[str] = set()
    text = stores.path_text(path, scope, ctx.resolver)
    if text and UNKNOWN not in text:
        texts.add(text.removeprefix("./"))
    if isinstance(path, cst.Call) and len(path.args) == 1:
        path = path.args[0].value  # `Path(local)`: the file goes by `local`
    name = dotted_name(path)
    return _Download(texts, {name} if name else set(), node)


def _launched(run: execution.ProcessRun, download: _Download) -> bool:
    """Does the command start the downloaded file (as the program, or a launcher's script), or
    make it executable?"""
    words = stores.normalise(run.command).split()
    if not words:
        return False
    chmod = execution.makes_executable(run.command)
    for index, word in enumerate(words):
        word = word.strip("\"'").removeprefix("./")
        named = word and UNKNOWN not in word and any(word == t or word.endswith("/" + t)
                                                     for t in download.texts)
        if named and (chmod or execution.launches(words, index)):
            return True
    if not execution.command_names(run) & download.names:
        return False
    if chmod:
        return True
    position = next((i for i, p in enumerate(run.pieces)
                     if (dotted_name(p) or "") in download.names), None)
    if position is not None:
        return execution.launches(words, position)
    # Inside an f-string (`f"{path} --daemon"`): the file is where the unknown word is.
    return any(UNKNOWN in word and execution.launches(words, i)
               for i, word in enumerate(words[:2]))
