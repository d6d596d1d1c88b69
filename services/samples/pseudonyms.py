"""Pseudonymisation of patients (Vidjil ``vidjil_utils.anon_names`` / ``anon_birth``, section 2.2 S7).

Without the ``anon`` capability on a patient's set, a patient is shown as the first three letters of the last name
and an age (``"Dup"``, ``"45y"``; under 4 years also months: ``"2y 7m"``); the first name, full last name and
birth date are never sent. With ``anon``, the full identity. Every list, result and log of the samples service
goes through :func:`patient_display`.
"""

from __future__ import annotations

from datetime import date


def age(birth_date: date | None, today: date | None = None) -> str | None:
    """``"45y"``, or ``"2y 7m"`` under 4 years; ``None`` without a birth date. A birth date in the future gives
    ``"0y 0m"`` (a typing error must not reveal the date)."""
    if birth_date is None:
        return None
    today = today or date.today()
    months = (today.year - birth_date.year) * 12 + (today.month - birth_date.month)
    if today.day < birth_date.day:
        months -= 1
    months = max(months, 0)
    years, rest = divmod(months, 12)
    return f"{years}y {rest}m" if years < 4 else f"{years}y"


def pseudonym(last_name: str | None) -> str:
    """The first three letters of the last name (``"?"`` when there is none)."""
    text = (last_name or "").strip()
    return text[:3] if text else "?"


def patient_display(first_name: str | None, last_name: str | None, birth_date: date | None, anon: bool,
                    today: date | None = None) -> dict:
    """Identity fields of a patient as the caller may see them.

    ``anon`` True: ``{"name": "Dupont Jean", "first_name", "last_name", "birth_date": "1979-03-02", "age"}``.
    ``anon`` False: ``{"name": "Dup", "first_name": None, "last_name": None, "birth_date": None, "age": "45y"}``.
    """
    if anon:
        full = " ".join(part for part in ((last_name or "").strip(), (first_name or "").strip()) if part)
        return {"name": full or "?", "first_name": first_name, "last_name": last_name,
                "birth_date": birth_date.isoformat() if birth_date else None, "age": age(birth_date, today)}
    return {"name": pseudonym(last_name), "first_name": None, "last_name": None, "birth_date": None,
            "age": age(birth_date, today)}
