"""The analyst's normalisation in Python, mirroring the SQL macros in duck.py.

SQLite has no regexp_replace or strptime, so sqlite_peer.py normalises in
Python before inserting. Each function returns None for an empty value so that
an empty field never joins with another empty field.
"""

import datetime
import re

NON_DIGIT = re.compile(r"[^0-9]")
LAST_WORD = re.compile(r"(\S+)$")
DOB_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%b-%Y", "%d %b %Y")


def email(value):
    """Trimmed, lower-cased."""
    if value is None:
        return None
    return value.strip(" ").lower() or None


def phone(value):
    """Digits only; 00 dropped, a leading 0 becomes 44, +44 (0) loses its 0.

    >>> [phone(p) for p in ("07911 123456", "+44 (0)7911 123456", "0044 7911 123456", " ")]
    ['447911123456', '447911123456', '447911123456', None]
    """
    if value is None:
        return None
    digits = NON_DIGIT.sub("", value)
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "44" + digits[1:]
    if digits.startswith("440"):
        digits = "44" + digits[3:]
    return digits or None


def surname(value):
    """Trimmed, upper-cased."""
    if value is None:
        return None
    return value.strip(" ").upper() or None


def surname_of(name):
    """The surname of a one-field name: before a comma, else the last word.

    >>> [surname_of(n) for n in ("Mr Liam Henwood", "WILKINSON, Lynn", " ")]
    ['Henwood', 'WILKINSON', None]
    """
    if name is None:
        return None
    if "," in name:
        return name.split(",", 1)[0]
    found = LAST_WORD.search(name.strip(" "))
    return found.group(1) if found else None


def dob(value):
    """ISO date from the formats present in the dump and register, else None.

    >>> [dob(d) for d in ("03/02/1980", "1980-02-03", "03-Feb-1980", "3 Feb 1980", "31/02/1980")]
    ['1980-02-03', '1980-02-03', '1980-02-03', '1980-02-03', None]
    """
    if value is None:
        return None
    text = value.strip(" ")
    for fmt in DOB_FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def postcode(value):
    """Upper-cased, spaces removed."""
    if value is None:
        return None
    return value.replace(" ", "").upper() or None
