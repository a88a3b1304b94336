"""Email addresses from the command line, run config or $REPORT_RECIPIENTS, checked strictly.

Each comma-separated entry must be one bare address (`name@example.com`): no display name, no
group, no second address, no character that could end a header line. Anything else is refused
with a one-line error naming the entry, before any work is done.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from orchestration.reporting.errors import ReportArgumentError

# The dot-atom form of RFC 5322 for the local part; DNS labels for the domain. A single-label
# domain (`reports@localhost`, the default sender) is allowed for local setups.
_LOCAL = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*")


def validate_address(value: str, role: str = "recipient") -> str:
    """The address, normalised to lower case, or a ReportArgumentError naming it."""
    address = value.strip()
    shown = ascii(address[:120])  # quoted, with control characters shown as escapes
    if not address:
        raise ReportArgumentError(f"empty {role} address")
    if any(ord(char) < 32 or ord(char) == 127 for char in address):
        raise ReportArgumentError(f"invalid {role} address {shown}: it holds a control character "
                                  "(a line break could inject a mail header)")
    if not _ADDRESS.fullmatch(address):
        raise ReportArgumentError(f"invalid {role} address {shown}: expected one bare address "
                                  "such as name@example.com")
    local, _, _domain = address.partition("@")
    if len(local) > 64 or len(address) > 254:
        raise ReportArgumentError(f"invalid {role} address {shown}: too long")
    return address.lower()


def parse_recipients(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Sorted, distinct, validated addresses from a comma-separated string or a list of them.

    Empty entries (a trailing comma) are ignored; no address at all is an error, since a report
    has to go somewhere.
    """
    if value is None:
        entries: list[str] = []
    elif isinstance(value, str):
        entries = value.split(",")
    else:
        entries = [piece for item in value for piece in str(item).split(",")]
    addresses = {validate_address(entry) for entry in entries if entry.strip()}
    if not addresses:
        raise ReportArgumentError("no recipients: pass --to a@example.com,b@example.com "
                                  "(or `recipients` in run config) or set REPORT_RECIPIENTS")
    return tuple(sorted(addresses))
