"""BOT1xx in Python: credentials written into the code.

A literal is a credential because of where it goes: the name it is bound to (variable,
attribute, class attribute, dict key, keyword, parameter default, environment variable name),
the client constructor parameter it fills (`Client("k", "s")`), or the key loader it is passed
to (`Account.from_key`). Seed phrases, Telegram tokens, Discord webhooks and PEM private keys
identify themselves, so any literal holding one is reported.
"""

from __future__ import annotations

import libcst as cst

from botscan import credentials as cred
from botscan.analyzers.python import concepts, prefilter
from botscan.analyzers.python.engine import (
    AssignEvent,
    Detector,
    Event,
    FileContext,
    ParamEvent,
)
from botscan.analyzers.python.symbols import dotted_name, literal_value
from botscan.credentials import choose_rule, message
from botscan.model import Confidence
from botscan.redact import redact

_ENV_GETTERS = ("os.getenv", "os.environ.get", "os.environ.setdefault", "os.getenvb")


def string_value(node: cst.BaseExpression) -> str | None:
    """The value of a plain literal (implicit concatenation included); None for the rest."""
    if isinstance(node, cst.SimpleString):
        return literal_value(node)
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        return left + right if left is not None and right is not None else None
    return None


def _int_list(node: cst.BaseExpression) -> list[int] | None:
    """A literal list of 64 small ints: the JSON form of a Solana keypair."""
    if isinstance(node, cst.Call) and len(node.args) == 1:  # bytes([...])
        node = node.args[0].value
    if not isinstance(node, (cst.List, cst.Tuple)) or len(node.elements) != 64:
        return None
    values = []
    for element in node.elements:
        if not isinstance(element.value, cst.Integer):
            return None
        values.append(int(element.value.value, 0))
    return values if all(0 <= v <= 255 for v in values) and len(set(values)) > 8 else None


class CredentialDetector(Detector):
    rules = frozenset({"BOT101", "BOT102", "BOT103", "BOT105", "BOT106", "BOT107", "BOT108"})
    triggers = (prefilter.CREDENTIAL_NAMES, prefilter.SECRET_FORMATS,
                prefilter.calls_to("credential-taking calls", concepts.credential_call_patterns))

    def string_wanted(self, raw: str) -> bool:
        # Self-identifying formats only; named credentials come through assignments etc.
        return (":" in raw and any(c.isdigit() for c in raw)) or "PRIVATE KEY" in raw \
            or raw.count(" ") >= 11

    # --- the places a literal can be bound to a name --------------------------------------
    def on_assign(self, ev: AssignEvent, ctx: FileContext) -> None:
        target = ev.target
        if isinstance(target, cst.Name):
            self._check_named(ctx, target.value, "", ev.value)
        elif isinstance(target, cst.Attribute):
            base = dotted_name(target.value) or ""
            client = concepts.client_instance(ctx.resolver.qualname(target.value, ev.scope))
            kind = client.attributes.get(target.attr.value) if client else None
            if client is not None and kind:
                self._check_kind(ctx, kind, target.attr.value, ev.value, exchange=True,
                                 where=f" of a {client.library} client")
            else:
                self._check_named(ctx, target.attr.value, base, ev.value)
        elif isinstance(target, cst.Subscript) and len(target.slice) == 1:
            index = target.slice[0].slice
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            if key is not None:
                self._check_named(ctx, key, dotted_name(target.value) or "", ev.value)

    def on_param(self, ev: ParamEvent, ctx: FileContext) -> None:
        if ev.param.default is not None:
            self._check_named(ctx, ev.param.name.value, "", ev.param.default)

    def on_dict(self, ev: Event, ctx: FileContext) -> None:
        node = ev.node
        assert isinstance(node, cst.Dict)
        spec = self._config_dict_client(ev, ctx)
        context = _dict_context(ev.parents)
        for element in node.elements:
            if not isinstance(element, cst.DictElement):
                continue
            key = string_value(element.key)
            if key is None:
                continue
            if spec is not None and key in spec.config_keys:
                kind = spec.config_keys[key]
                if kind:
                    self._check_kind(ctx, kind, key, element.value, exchange=True,
                                     where=f" of a {spec.library} client config")
                continue
            self._check_named(ctx, key, context, element.value)

    def on_call(self, ev: Event, ctx: FileContext) -> None:
        call = ev.node
        assert isinstance(call, cst.Call)
        target = ctx.resolver.call_target(call, ev.scope)
        if target in _ENV_GETTERS:
            self._env_default(ev, ctx)
            return
        loader_kind = concepts.key_loader_kind(target)
        if loader_kind is not None and call.args and call.args[0].keyword is None:
            self._check_kind(ctx, loader_kind, target.rsplit(".", 1)[-1] if target else "key",
                             call.args[0].value, exchange=False, where="")
        spec = concepts.client_for(target)
        where = f" passed to {spec.library} `{target.rsplit('.', 1)[-1]}`" if spec and target \
            else ""
        positional = [a for a in call.args if a.keyword is None and not a.star]
        for index, arg in enumerate(positional):
            if spec is not None and index < len(spec.positional) and spec.positional[index]:
                self._check_kind(ctx, spec.positional[index], f"argument {index + 1}",
                                 arg.value, exchange=spec.exchange, where=where)
        for arg in call.args:
            if arg.keyword is None:
                continue
            keyword = arg.keyword.value
            if spec is not None and keyword in spec.keywords:
                self._check_kind(ctx, spec.keywords[keyword], keyword, arg.value,
                                 exchange=spec.exchange, where=where)
            else:
                self._check_named(ctx, keyword, "", arg.value)

    def on_string(self, ev: Event, ctx: FileContext) -> None:
        """Formats that identify themselves, whatever name (if any) holds them."""
        node = ev.node
        value = literal_value(node) if isinstance(node, cst.SimpleString) else (
            node.value if isinstance(node, cst.FormattedStringText) else None)
        if not value:
            return
        for token in cred.telegram_tokens(value):
            ctx.report("BOT106", node, message("BOT106", cred.TOKEN, "a string", token, ""),
                       secrets=[token])
        for url in cred.discord_webhooks(value):
            ctx.report("BOT107", node, message("BOT107", cred.WEBHOOK, "a string", url, ""),
                       secrets=[url])
        if cred.seed_phrase(value):
            ctx.report("BOT105", node, message("BOT105", cred.MNEMONIC, "a string", value, ""),
                       secrets=[value])
        elif cred.wallet_key_format(value) == "pem":
            ctx.report("BOT103", node,
                       message("BOT103", cred.PRIVATE_KEY, "a string", value, ""),
                       secrets=[value])

    # --- helpers ----------------------------------------------------------------------------
    def _env_default(self, ev: Event, ctx: FileContext) -> None:
        """`os.getenv("BINANCE_SECRET", "<literal>")`: the fallback is a hardcoded secret.

        The variable's name says what it holds; when it is not a literal, the name the result
        is assigned to does (`API_SECRET = os.getenv(SECRET_ENV, "…")`).
        """
        call = ev.node
        assert isinstance(call, cst.Call)
        if len(call.args) < 2:
            return
        name = string_value(call.args[0].value)
        parent = ev.parents[-1] if ev.parents else None
        if name is None and isinstance(parent, cst.Assign) and parent.targets:
            name = dotted_name(parent.targets[0].target)
        if name is not None:
            self._check_named(ctx, name.rpartition(".")[2], "", call.args[1].value,
                              where=" (environment default)")

    def _config_dict_client(self, ev: Event, ctx: FileContext) -> concepts.ClientSpec | None:
        """The client whose config this dict literal is (`ccxt.binance({...})`), if any."""
        if len(ev.parents) < 2:
            return None
        arg, call = ev.parents[-1], ev.parents[-2]
        if not (isinstance(arg, cst.Arg) and isinstance(call, cst.Call)):
            return None
        spec = concepts.client_for(ctx.resolver.call_target(call, ev.scope))
        if spec is None or spec.config_arg is None:
            return None
        positional = [a for a in call.args if a.keyword is None]
        if spec.config_arg < len(positional) and positional[spec.config_arg] is arg:
            return spec
        return spec if arg.keyword is not None and arg.keyword.value == "config" else None

    def _check_named(self, ctx: FileContext, name: str, context: str,
                     value_node: cst.BaseExpression, where: str = "") -> None:
        info = cred.classify_name(name, context, ctx.options.extra_credential_names)
        if info is None:
            return
        self._report(ctx, info.kind, info, name, value_node, where)

    def _check_kind(self, ctx: FileContext, kind: str, name: str,
                    value_node: cst.BaseExpression, *, exchange: bool, where: str) -> None:
        info = cred.CredentialName(kind=kind, exchange=exchange, non_exchange=False)
        self._report(ctx, kind, info, name, value_node, where)

    def _report(self, ctx: FileContext, kind: str, info: cred.CredentialName, name: str,
                value_node: cst.BaseExpression, where: str) -> None:
        if ctx.is_test and kind in (cred.PASSWORD, cred.PASSPHRASE):
            return  # human-chosen test passwords are dummies (see botscan.testcode)
        if kind == cred.PRIVATE_KEY:
            keypair = _int_list(value_node)
            if keypair is not None:
                ctx.report("BOT103", value_node,
                           message("BOT103", kind, name, "", where,
                                    shown="a 64-byte keypair array"),
                           secrets=[cst.Module([]).code_for_node(value_node)],
                           evidence={"credential_kind": kind, "format": "keypair-array"})
                return
        value = string_value(value_node)
        if value is None:
            return
        rule_id = choose_rule(kind, info, value)
        if rule_id is None:
            return
        confidence = Confidence.HIGH if rule_id != "BOT108" else Confidence.MEDIUM
        ctx.report(
            rule_id,
            value_node,
            message(rule_id, kind, name, value, where),
            secrets=[value],
            evidence={"credential_kind": kind, "name": name, "value": redact(value)},
            confidence=confidence,
        )


def _dict_context(parents: tuple[cst.CSTNode, ...]) -> str:
    """The name a dict literal is assigned to or passed as: it speaks for the dict's keys."""
    for parent in reversed(parents):
        if isinstance(parent, cst.Assign) and parent.targets:
            return dotted_name(parent.targets[0].target) or ""
        if isinstance(parent, cst.Arg) and parent.keyword is not None:
            return parent.keyword.value
        if isinstance(parent, cst.DictElement):
            key = string_value(parent.key)
            return key or ""
    return ""
