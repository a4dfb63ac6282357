"""Phone and ID numbers masked wherever a person reads: ``13905981234`` → ``139****1234``.

One implementation for every service (HTTP views, Open311, console, SSE, ``watch``, logs,
notifications to anyone but the assignee). The events on Kafka keep the numbers: the handler
must be able to call the resident back. Pure functions plus one logging filter.

Covered writings: mobiles as ``13905981234``, ``139-0598-1234``, ``139 0598 1234``, with
``+86``/``86``, in full-width digits (``１３９…``); landlines with an area code
(``0598-5823317``); 18-digit 身份证 numbers (last digit ``X`` allowed); and a number a summary
cut short with an ellipsis (``139 0598 …``).
"""

from __future__ import annotations

import contextlib
import logging
import re

_EDGE_BEFORE = r"(?<![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
_EDGE_AFTER = r"(?![0-9０-９A-Za-zＡ-Ｚａ-ｚ])"
_D = "[0-9０-９]"
_SEP = r"[-－\s]?"

_ID_NUMBER = re.compile(
    _EDGE_BEFORE + f"({_D}{{6}})({_D}{{8}})({_D}{{3}}[0-9０-９XxＸｘ])" + _EDGE_AFTER
)
_MOBILE = re.compile(
    _EDGE_BEFORE
    + rf"(?:[+＋]?[8８][6６]{_SEP})?([1１][3-9３-９]{_D})({_SEP})({_D}{{4}})({_SEP})({_D}{{4}})"
    + _EDGE_AFTER
)
_LANDLINE = re.compile(
    _EDGE_BEFORE + rf"([0０]{_D}{{2,3}})([-－\s]?)({_D}{{3,4}})({_D}{{4}})" + _EDGE_AFTER
)


# A number cut short by a summary's ellipsis ("请回电139 0598 …"): too short for the shapes
# above, still a resident's digits. Every digit after the first three is starred.
_CUT = re.compile(_EDGE_BEFORE + r"([+＋]?[0-9０-９][0-9０-９\-－ ]*[0-9０-９])(\s?(?:…|\.\.\.))")


def _star_cut(found: re.Match[str]) -> str:
    run = found.group(1)
    digits = sum(c.isdigit() for c in run)
    if digits < 4:
        return found.group(0)
    kept, out = 0, []
    for c in run:
        if c.isdigit():
            kept += 1
            out.append(c if kept <= 3 else "*")
        else:
            out.append(c)
    return "".join(out) + found.group(2)


def mask_text(text: str) -> str:
    """Every phone and ID number in ``text`` with its middle digits starred."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(3)[-4:]}", text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(5)}", text)
    text = _LANDLINE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}", text
    )
    return _CUT.sub(_star_cut, text)


def mask_phone(phone: str | None) -> str | None:
    """A phone field: a number that matches no known shape keeps only its last four digits."""
    if phone is None:
        return None
    masked = mask_text(phone)
    if masked != phone:
        return masked
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]


class MaskPersonal(logging.Filter):
    """Rewrites a log record's message with every phone and ID number masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FACTORY_MARK = "_dispatch_masking"


def install_log_masking() -> None:
    """Mask phones and ID numbers in everything this process logs (each composition root).

    At the record factory, so every logger is covered whatever its handlers and wherever they
    were configured (uvicorn's ``uvicorn.error`` and ``uvicorn.access`` do not propagate to the
    root); the filter is also put on every handler known now, for records made elsewhere."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, _FACTORY_MARK, False):

        def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            # a bad format string: logging reports it when it emits, as without masking
            with contextlib.suppress(Exception):
                MaskPersonal().filter(record)
            return record

        setattr(masked_record, _FACTORY_MARK, True)
        logging.setLogRecordFactory(masked_record)
    loggers = [logging.getLogger(), *(logging.getLogger(n) for n in UVICORN_LOGGERS)]
    for logger in loggers:
        for handler in logger.handlers:
            if not any(isinstance(f, MaskPersonal) for f in handler.filters):
                handler.addFilter(MaskPersonal())
        if not any(isinstance(f, MaskPersonal) for f in logger.filters):
            logger.addFilter(MaskPersonal())


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def mask_name(name: str | None) -> str | None:
    """A person's name where others read it (a ranking): the family name and, from three
    characters on, the last one kept (黄明 → 黄*, 赖清香 → 赖*香); digits masked as in text."""
    if not name:
        return None
    name = mask_text(name.strip())
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
