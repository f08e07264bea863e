"""The portal's accounts: one row per account, one per CMT/CCCD number it is known by.

regflow's `UserStore` port asks the store to keep every ID number an account is known by
(current and former) and its BHXH number unique across accounts. The database does it: the
ID numbers are the primary key of `IdNumber`, the BHXH number a unique column, so two racing
registrations of one citizen cannot both commit (`users.DjangoUserStore.add`).
"""

from __future__ import annotations

from typing import ClassVar

from django.db import models


class PortalAccount(models.Model):
    """An account a registration created: regflow's `Account` and the password hash."""

    account_id = models.CharField(primary_key=True, max_length=64)
    id_number = models.CharField(max_length=12)  # the current one; unique as an `IdNumber`
    #: 10 digits, or a VNeID account's 12-digit personal ID number (the BHXH code since 2025).
    bhxh_number = models.CharField(max_length=12, unique=True)
    full_name = models.TextField()
    date_of_birth = models.DateField()
    phone = models.CharField(max_length=16)
    email = models.TextField(null=True)  # noqa: DJ001 - None is "not given", as in `Account`
    verification_level = models.PositiveSmallIntegerField()
    source = models.CharField(max_length=32)
    created_at = models.DateTimeField()
    flow_id = models.CharField(max_length=64)
    #: None: an account made by VNeID without a password (its citizen signs in by VNeID).
    password_hash = models.TextField(null=True)  # noqa: DJ001 - None is "no password"
    #: When VNeID last verified the account's citizen (None: never).
    vneid_verified_at = models.DateTimeField(null=True)

    objects: ClassVar[models.Manager[PortalAccount]] = models.Manager()

    class Meta:
        db_table = "portal_accounts"

    def __str__(self) -> str:
        return self.account_id


class IdNumber(models.Model):
    """A CMT/CCCD number, current or former, and the one account known by it."""

    number = models.CharField(primary_key=True, max_length=12)
    account = models.ForeignKey(PortalAccount, on_delete=models.CASCADE, related_name="numbers")

    objects: ClassVar[models.Manager[IdNumber]] = models.Manager()

    class Meta:
        db_table = "portal_id_numbers"

    def __str__(self) -> str:
        return self.number
