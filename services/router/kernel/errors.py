"""The router core's named refusals; the shell turns them into dead letters with the reason."""

from __future__ import annotations


class TransitionError(ValueError):
    """An input the ticket's state does not allow (e.g. resolve before claim)."""


class UnknownTicketError(TransitionError):
    """An update for a ticket whose request has not been seen (yet)."""
