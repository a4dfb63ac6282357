"""Phone numbers masked wherever operators or logs see them: ``13905981234`` → ``139****1234``.

Pure functions plus one logging filter; the events on Kafka keep the number (the handler must be
able to call the resident back), everything the intake shows or logs does not.
"""

from __future__ import annotations

import logging
import re

# Mainland mobiles (11 digits, 1[3-9]…) and landlines with an area code (0598-1234567).
_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)(0\d{2,3})([- ]?)(\d{3,4})(\d{4})(?!\d)")


def mask_phones(text: str) -> str:
    """Every phone number in ``text`` with its middle digits starred."""
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}", text
    )


def mask_phone(phone: str | None) -> str | None:
    """A phone field: a number that matches no known shape keeps only its last four digits."""
    if phone is None:
        return None
    masked = mask_phones(phone)
    if masked != phone:
        return masked
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 4:
        return "*" * len(phone)
    return "*" * (len(phone) - 4) + phone[-4:]


class MaskPhones(logging.Filter):
    """Rewrites a log record's message with every phone number masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_phones(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


def install_log_masking() -> None:
    """Mask phones in everything this process logs (the intake's composition root calls it)."""
    root = logging.getLogger()
    for handler in root.handlers:
        if not any(isinstance(f, MaskPhones) for f in handler.filters):
            handler.addFilter(MaskPhones())
    if not any(isinstance(f, MaskPhones) for f in root.filters):
        root.addFilter(MaskPhones())
