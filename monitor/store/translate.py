"""The store's error edge: every SQLAlchemy error that leaves ``monitor.store`` is a StoreError.

One function (``store_error``) decides the message and whether the failure is transient; the rest
are the three ways of applying it: ``translating`` around a block, ``translated`` on a function, and
``translates_errors`` on a class (every public method, so a method added later cannot forget it).
An error that is already a StoreError passes through unchanged, so nested uses keep the innermost,
most specific message.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import inspect
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import exc as sa

from monitor.errors import StoreError

P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound=type)

# SQLite result codes (and their extended forms, e.g. SQLITE_IOERR_WRITE, SQLITE_BUSY_SNAPSHOT) of
# conditions that pass: another connection holds the lock, the disk is full or failing.
_SQLITE_TRANSIENT = ("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR", "SQLITE_FULL", "SQLITE_PROTOCOL")
# PostgreSQL SQLSTATE classes and codes of the same: 08 connection exception, 40 transaction
# rollback (serialization failure, deadlock), 53 insufficient resources (disk full, too many
# connections), 57P01-03 the server shutting down or starting, 58 system (I/O) error, 55P03 a lock
# not available.
_PG_TRANSIENT = ("08", "40", "53", "57P01", "57P02", "57P03", "58", "55P03")
_OS_TRANSIENT = {errno.ENOSPC, errno.EIO, errno.EAGAIN, errno.EINTR, errno.EDQUOT}

TRANSIENT_HINT = "a passing condition (the database busy, restarting or out of space): try again"


def is_transient(exc: BaseException) -> bool:
    """Whether trying the same work again may succeed (see StoreError)."""
    if isinstance(exc, sa.TimeoutError | sa.DisconnectionError):  # the pool waited, or a connection died
        return True
    if isinstance(exc, OSError):
        return exc.errno in _OS_TRANSIENT
    if not isinstance(exc, sa.DBAPIError):
        return False  # no database answered: the statement, the URL or the schema is wrong
    if exc.connection_invalidated:
        return True
    orig = exc.orig
    if isinstance(orig, sqlite3.Error):
        return str(getattr(orig, "sqlite_errorname", "")).startswith(_SQLITE_TRANSIENT)
    state = getattr(orig, "sqlstate", None)
    if state:
        return str(state).startswith(_PG_TRANSIENT)
    # psycopg without an SQLSTATE: the server never answered (connection refused, closed mid-way).
    return isinstance(exc, sa.OperationalError)


def reason(exc: BaseException) -> str:
    """The driver's own first line (SQLAlchemy adds the statement and a link below it)."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def store_error(exc: sa.SQLAlchemyError | OSError, message: str | None = None,
                hint: str | None = None) -> StoreError:
    """The StoreError for ``exc``: ``message`` as given, else "database error: <reason>"."""
    transient = is_transient(exc)
    if hint is None and transient:
        hint = TRANSIENT_HINT
    return StoreError(message or f"database error: {reason(exc)}", hint, transient=transient)


@contextlib.contextmanager
def translating(prefix: str | None = None) -> Iterator[None]:
    """Raise the SQLAlchemy errors of the block as StoreError; with ``prefix`` the message is
    "<prefix>: <SQLAlchemy's full message>" (the wording these messages have always had)."""
    try:
        yield
    except sa.SQLAlchemyError as exc:
        raise store_error(exc, f"{prefix}: {exc}" if prefix else None) from exc


def translated(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` with its SQLAlchemy errors raised as StoreError (a generator's too, while iterated)."""
    if inspect.isgeneratorfunction(func):
        @functools.wraps(func)
        def generator(*args: P.args, **kwargs: P.kwargs) -> Any:
            with translating():
                yield from func(*args, **kwargs)

        return cast(Callable[P, R], generator)

    @functools.wraps(func)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with translating():
            return func(*args, **kwargs)

    return call


def translates_errors(cls: C) -> C:
    """Apply ``translated`` to every public method of ``cls`` (class methods included)."""
    for name, value in list(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(value, classmethod):
            setattr(cls, name, classmethod(translated(value.__func__)))
        elif isinstance(value, staticmethod):
            setattr(cls, name, staticmethod(translated(value.__func__)))
        elif inspect.isfunction(value):
            setattr(cls, name, translated(value))
    return cls
