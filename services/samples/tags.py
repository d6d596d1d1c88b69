"""Tags: ``#word`` in an info field (Vidjil ``tag.py``, section 2.2 S3/S5/S19).

A tag is ``#`` followed by letters, digits, ``_`` or ``-``; tags are compared lower-case. Each tag found in a set's
or sample's info is linked to the record (search) and added to the vocabulary of the groups owning the set
(autocomplete). Editing the info re-registers its tags.
"""

from __future__ import annotations

import re
from typing import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

from services.samples.models import GroupTag, SampleSetTag, SampleTag, Tag

TAG_PATTERN = re.compile(r"(?<![\w#])#([\w-]+)", re.UNICODE)
MAX_TAG_LENGTH = 255


def extract_tags(text: str | None) -> list[str]:
    """The tags of ``text``, lower-case, without ``#``, in order of first appearance, without repeats."""
    seen: dict[str, None] = {}
    for match in TAG_PATTERN.finditer(text or ""):
        seen.setdefault(match.group(1).lower()[:MAX_TAG_LENGTH], None)
    return list(seen)


def split_search(text: str | None) -> tuple[list[str], list[str]]:
    """Split a search string into ``(tags, words)``: tokens starting with ``#`` are tags (all required), the
    others free-text words (Vidjil ``tag.parse_search``)."""
    tags, words = [], []
    for token in (text or "").split():
        if token.startswith("#") and len(token) > 1:
            tags.extend(extract_tags(token) or [token[1:].lower()])
        elif token != "#":
            words.append(token)
    return tags, words


def _tag_ids(session: Session, names: Iterable[str]) -> dict[str, int]:
    names = list(dict.fromkeys(names))
    if not names:
        return {}
    existing = dict(session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())
    for name in names:
        if name not in existing:
            # another worker may insert the same tag at once: insert-ignore, then read back
            session.execute(sa.insert(Tag).prefix_with("IGNORE").values(name=name))
    if len(existing) < len(names):
        existing = dict(session.execute(sa.select(Tag.name, Tag.id).where(Tag.name.in_(names))).all())
    return existing


def _add_vocabulary(session: Session, tag_ids: Iterable[int], group_ids: Iterable[int]) -> None:
    rows = [{"group_id": g, "tag_id": t} for g in set(group_ids) for t in set(tag_ids)]
    if rows:
        session.execute(sa.insert(GroupTag).prefix_with("IGNORE"), rows)


def register_set_tags(session: Session, sample_set_id: int, info: str | None, group_ids: Iterable[int]) -> list[str]:
    """Replace the tags of a set by those of ``info``; add them to the vocabulary of ``group_ids``."""
    names = extract_tags(info)
    ids = _tag_ids(session, names)
    session.execute(sa.delete(SampleSetTag).where(SampleSetTag.sample_set_id == sample_set_id))
    if ids:
        session.execute(sa.insert(SampleSetTag), [{"sample_set_id": sample_set_id, "tag_id": i}
                                                  for i in ids.values()])
    _add_vocabulary(session, ids.values(), group_ids)
    return names


def register_sample_tags(session: Session, sample_id: int, info: str | None, group_ids: Iterable[int]) -> list[str]:
    """Replace the tags of a sample by those of ``info``; add them to the vocabulary of ``group_ids``."""
    names = extract_tags(info)
    ids = _tag_ids(session, names)
    session.execute(sa.delete(SampleTag).where(SampleTag.sample_id == sample_id))
    if ids:
        session.execute(sa.insert(SampleTag), [{"sample_id": sample_id, "tag_id": i} for i in ids.values()])
    _add_vocabulary(session, ids.values(), group_ids)
    return names


def vocabulary(session: Session, group_ids: Iterable[int] | None, prefix: str = "", limit: int = 20) -> list[str]:
    """Tags of the vocabulary of ``group_ids`` (``None``: every group, for administrators) starting with
    ``prefix`` (case-insensitive, ``#`` optional), alphabetical, at most ``limit``."""
    prefix = prefix.lstrip("#").lower()
    query = sa.select(Tag.name).distinct().join(GroupTag, GroupTag.tag_id == Tag.id)
    if group_ids is not None:
        query = query.where(GroupTag.group_id.in_(list(group_ids) or [-1]))
    if prefix:
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(Tag.name.like(escaped + "%", escape="\\"))
    return list(session.scalars(query.order_by(Tag.name).limit(max(1, min(limit, 200)))))
