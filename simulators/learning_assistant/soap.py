"""SOAP 1.1 envelopes for Learning Assistant: every byte read from or written to the wire goes through here.

Reading is tolerant, as the spec asks: inline values or .NET multi-references (``href="#id1"`` pointing at
an element with ``id="id1"``), with or without ``xsi:type``, ``encodingStyle`` or ``arrayType``, any
prefixes. Parsing refuses DTDs, entity declarations and external entities (defusedxml, ``forbid_dtd``),
and bounds size and depth, so no request can make the parser hang or fetch anything.

Writing follows Apache Axis 1 as ColdFusion publishes it: ``<Op>Response``/``<Op>Return``, ``xsi:type``
on every leaf, ``soapenc:Array`` with ``soapenc:arrayType`` for lists, ``xsi:nil`` for absent values.
"""

from __future__ import annotations

import functools
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from .errors import SoapFault
from .schemas import (
    PREFIX_OF,
    SOAPENC,
    SOAPENV,
    TNS,
    XSD,
    XSI,
    Operation,
    array_name,
    fields_of,
    namespace_of,
)

MAX_BODY = 1024 * 1024  # bytes
MAX_DEPTH = 40  # the deepest real request (GroupEnrolment) nests 6 levels
MAX_ELEMENTS = 20_000
TOKEN_NAMESPACES = (TNS, "http://api.learningassistant.com")
SOAP_CONTENT_TYPES = ("text/xml", "application/soap+xml", "application/xml")


@dataclass
class Request:
    """A parsed call: the operation's local name, its decoded parameters and the authToken header."""

    operation: str
    namespace: str | None
    body: ET.Element
    refs: dict[str, ET.Element]
    token: tuple[str, str] | None = None
    params: dict[str, Any] = field(default_factory=dict)


@functools.lru_cache(maxsize=1024)  # the same few dozen tags in every envelope
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _ns(tag: str) -> str | None:
    return tag[1:].split("}", 1)[0] if isinstance(tag, str) and tag.startswith("{") else None


def check_transport(content_type: str | None, length: int | None) -> None:
    """Faults for a request the envelope reader must not even try: wrong media type, too large."""
    if length is not None and length > MAX_BODY:
        raise SoapFault.client(f"request body is {length} bytes; the limit is {MAX_BODY} bytes", status=413)
    mimetype = (content_type or "").split(";", 1)[0].strip().lower()
    if mimetype not in SOAP_CONTENT_TYPES:
        raise SoapFault.client(f"Content-Type must be text/xml for SOAP 1.1, got {content_type or 'none'!r}")


def parse(raw: bytes) -> Request:
    """The envelope's operation, body element, multi-ref targets and token; SoapFault(Client) otherwise."""
    if len(raw) > MAX_BODY:
        raise SoapFault.client(f"request body is {len(raw)} bytes; the limit is {MAX_BODY} bytes", status=413)
    if not raw.strip():
        raise SoapFault.client("request body is empty; expected a SOAP 1.1 envelope")
    try:
        if _plain_utf8(raw):  # no DTD can be in it: the C parser, a tenth of defusedxml's pure-Python one
            root = ET.fromstring(raw)
        else:
            root = fromstring(raw, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SoapFault.client(f"XML with a DTD or entity declarations is refused ({type(exc).__name__})") from None
    except ET.ParseError as exc:
        raise SoapFault.client(f"request body is not well-formed XML: {exc}") from None
    except LookupError as exc:  # expat: an XML declaration naming an encoding Python does not know
        raise SoapFault.client(f"request body declares an unknown character encoding: {exc}") from None
    except (ValueError, RecursionError, UnicodeError):
        raise SoapFault.client("request body is not well-formed XML") from None
    _check_shape(root)
    if _local(root.tag) != "Envelope" or _ns(root.tag) != SOAPENV:
        raise SoapFault.client(f"request is not a SOAP 1.1 envelope: root element is {root.tag!r}, expected "
                               f"{{{SOAPENV}}}Envelope")
    header = body = None
    for child in root:
        if _ns(child.tag) == SOAPENV and _local(child.tag) == "Header":
            header = child
        elif _ns(child.tag) == SOAPENV and _local(child.tag) == "Body":
            body = child
    if body is None:
        raise SoapFault.client("SOAP envelope has no Body")
    refs: dict[str, ET.Element] = {}
    for el in body.iter():
        if el.get("id"):
            refs[el.get("id")] = el
    # the call is the Body's first child that is not a multi-ref target (.NET puts those after it)
    elements = [c for c in body if isinstance(c.tag, str)]
    calls = [c for c in elements if c.get("id") is None] or elements
    if not calls:
        raise SoapFault.client("SOAP Body is empty; expected an operation element")
    call = calls[0]
    return Request(operation=_local(call.tag), namespace=_ns(call.tag), body=call, refs=refs,
                   token=_token(header))


_ENCODING_DECL = re.compile(rb"""^<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset((b"utf-8", b"utf8", b"us-ascii", b"ascii"))


def _plain_utf8(raw: bytes) -> bool:
    """Whether ``raw`` is certainly a document without a DTD, which the standard (C) parser reads safely:
    with no DTD there are no entity declarations, so nothing to expand and nothing external to fetch, and
    an undeclared entity is a parse error. That is certain only when the document is UTF-8 (declared so, or
    not declared at all and not UTF-16/32, which hold NUL bytes), where a DTD can only begin with the bytes
    ``<!D``, and when it holds no ``<!`` at all (comments and CDATA go the careful way too). Everything else
    goes to defusedxml, which refuses DTDs, entities and external references whatever the encoding."""
    if b"<!" in raw or b"\x00" in raw or raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return False
    head = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    if not head.startswith(b"<?xml"):
        return not head.lstrip().startswith(b"<?xml")  # a declaration after whitespace is an error: careful way
    end = head.find(b"?>")
    if end < 0:
        return False
    m = _ENCODING_DECL.match(head[:end + 2])
    return m is None or m.group(1).lower() in _UTF8_NAMES


def _check_shape(root: ET.Element) -> None:
    """Bound depth and size without recursion: level by level, one list per level (a real envelope has 6)."""
    level, depth, count = [root], 0, 0
    while level:
        depth += 1
        if depth > MAX_DEPTH:
            raise SoapFault.client(f"XML nests deeper than {MAX_DEPTH} levels")
        count += len(level)
        if count > MAX_ELEMENTS:
            raise SoapFault.client(f"XML has more than {MAX_ELEMENTS} elements")
        level = [child for el in level for child in el]


def _token(header: ET.Element | None) -> tuple[str, str] | None:
    if header is None:
        return None
    for child in header:
        if _local(child.tag) == "authToken" and (_ns(child.tag) in TOKEN_NAMESPACES or _ns(child.tag) is None):
            parts = {_local(c.tag): (c.text or "").strip() for c in child}
            return parts.get("id", ""), parts.get("uuid", "")
    return None


# -- decoding ---------------------------------------------------------------------------------------


def _deref(el: ET.Element, refs: dict[str, ET.Element]) -> ET.Element:
    seen = 0
    while el.get("href", "").startswith("#") and seen < 10:
        target = refs.get(el.get("href")[1:])
        if target is None:
            raise SoapFault.client(f"element <{_local(el.tag)}> refers to {el.get('href')!r}, which is not in "
                                   "the Body")
        el, seen = target, seen + 1
    return el


_XSI_NIL, _XSI_NULL = f"{{{XSI}}}nil", f"{{{XSI}}}null"


def _is_nil(el: ET.Element) -> bool:
    return (el.get(_XSI_NIL) or el.get(_XSI_NULL) or "").strip().lower() in ("true", "1")


def decode(el: ET.Element | None, type_name: str, refs: dict[str, ET.Element]) -> Any:
    """The value of ``el`` read as ``type_name``: None (absent or nil), a str, a list or a dict of fields.

    Leaves stay text (the model validates them, so a bad value becomes a MessageList entry, not a fault);
    unknown child elements are ignored, as Axis does.
    """
    if el is None:
        return None
    attrib = el.attrib  # most elements carry only xsi:type: no reference to follow, not nil
    if "href" in attrib:
        el = _deref(el, refs)
        attrib = el.attrib
    if (_XSI_NIL in attrib or _XSI_NULL in attrib) and _is_nil(el):
        return None
    if type_name.startswith("[]"):
        item_type = type_name[2:]
        return [decode(child, item_type, refs) for child in el if isinstance(child.tag, str)]
    if type_name in ("string", "boolean", "int"):
        if len(el):
            raise SoapFault.client(f"element <{_local(el.tag)}> must hold a simple value, not child elements")
        return el.text or ""
    children: dict[str, ET.Element] = {}
    for child in el:
        if isinstance(child.tag, str):
            children.setdefault(_local(child.tag), child)
    out: dict[str, Any] = {}
    for name, ftype in fields_of(type_name):
        if name in children:
            out[name] = decode(children[name], ftype, refs)
    return out


def read_params(req: Request, op: Operation) -> dict[str, Any]:
    """Parameters by name (rpc style: child elements of the operation element, any namespace)."""
    children: dict[str, ET.Element] = {}
    for child in req.body:
        if isinstance(child.tag, str):
            children.setdefault(_local(child.tag), child)
    return {name: decode(children.get(name), ptype, req.refs) for name, ptype in op.params}


# -- encoding ---------------------------------------------------------------------------------------

_ENVELOPE_OPEN = (f'<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="{SOAPENV}" '
                  f'xmlns:xsd="{XSD}" xmlns:xsi="{XSI}">')


_SCALAR_TYPES = frozenset(("string", "boolean", "int"))


def _scalar(value: Any, type_name: str) -> str:
    if isinstance(value, bool) or type_name == "boolean":
        return "true" if value else "false"
    text = value if type(value) is str else str(value)
    if "&" in text or "<" in text or ">" in text:  # most values hold none: no escaping to do
        return escape(text)
    return text


def _encode(tag: str, value: Any, type_name: str, out: list[str]) -> None:
    if value is None:
        out.append(f'<{tag} xsi:type="{_xsi_type(type_name)}" xsi:nil="true"/>')
        return
    if type_name in _SCALAR_TYPES:
        out.append(f'<{tag} xsi:type="xsd:{type_name}">{_scalar(value, type_name)}</{tag}>')
        return
    if type_name.startswith("[]"):
        item = type_name[2:]
        out.append(f'<{tag} xsi:type="soapenc:Array" soapenc:arrayType="{_xsi_type(item)}[{len(value)}]">')
        for v in value:
            _encode("item", v, item, out)
        out.append(f"</{tag}>")
        return
    out.append(f'<{tag} xsi:type="{_xsi_type(type_name)}">')
    for name, ftype in fields_of(type_name):
        field = value.get(name)
        if field is not None and ftype in _SCALAR_TYPES:  # the common case, without a call of its own
            out.append(f'<{name} xsi:type="xsd:{ftype}">{_scalar(field, ftype)}</{name}>')
        else:
            _encode(name, field, ftype, out)
    out.append(f"</{tag}>")


@functools.lru_cache(maxsize=256)  # a handful of type names, looked up once per encoded value
def _xsi_type(type_name: str) -> str:
    if type_name in ("string", "boolean", "int"):
        return f"xsd:{type_name}"
    if type_name.startswith("[]"):
        return f"impl:{array_name(type_name)}"
    return f"{PREFIX_OF[namespace_of(type_name)]}:{type_name}"


def _header(token: tuple[str, str] | None) -> str:
    if token is None:
        return ""
    return (f'<soapenv:Header><ns1:authToken soapenv:actor="" soapenv:mustUnderstand="0" loggedin="YES" '
            f'xmlns:ns1="{TNS}"><id xsi:type="xsd:string">{escape(token[0])}</id>'
            f'<uuid xsi:type="xsd:string">{escape(token[1])}</uuid></ns1:authToken></soapenv:Header>')


def response(op: Operation, value: Any, token: tuple[str, str] | None = None) -> str:
    """``<Op>Response`` with ``<Op>Return`` of the operation's return type, and the token header if any."""
    ns_decls = " ".join(f"xmlns:{p}={quoteattr(ns)}" for ns, p in PREFIX_OF.items())
    out = [_ENVELOPE_OPEN, _header(token), "<soapenv:Body>",
           f'<ns1:{op.name}Response soapenv:encodingStyle="{SOAPENC}" xmlns:ns1="{TNS}" xmlns:soapenc="{SOAPENC}" '
           f"{ns_decls}>"]
    _encode(f"{op.name}Return", value, op.returns, out)
    out += [f"</ns1:{op.name}Response>", "</soapenv:Body></soapenv:Envelope>"]
    return "".join(out)


def fault(code: str, message: str, detail: str | None = None) -> str:
    """A SOAP 1.1 Fault envelope (Axis shape: faultcode, faultstring, detail)."""
    detail_xml = (f'<detail><ns1:hostname xmlns:ns1="http://xml.apache.org/axis/">{escape(detail)}</ns1:hostname>'
                  "</detail>") if detail else "<detail/>"
    return (f"{_ENVELOPE_OPEN}<soapenv:Body><soapenv:Fault><faultcode>{escape(code)}</faultcode>"
            f"<faultstring>{escape(message)}</faultstring>{detail_xml}</soapenv:Fault></soapenv:Body>"
            "</soapenv:Envelope>")


def quoted(value: str) -> str:
    return quoteattr(value)
