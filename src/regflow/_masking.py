"""Masks for personal numbers, so that logs and screens can name them without exposing them."""

from __future__ import annotations


def mask_phone(phone: str) -> str:
    """Keep the country prefix and the last three digits: ``+84912345678`` → ``+849*****678``."""
    if len(phone) <= 6:
        return "*" * len(phone)
    return phone[:4] + "*" * (len(phone) - 7) + phone[-3:]


def mask_id(number: str) -> str:
    """Keep the last four characters of an ID or BHXH number: ``001099000123`` → ``…0123``."""
    if len(number) <= 4:
        return "*" * len(number)
    return "*" * (len(number) - 4) + number[-4:]
