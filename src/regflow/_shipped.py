"""The flows regflow ships, in the order `regflow flows` lists them."""

from __future__ import annotations

from typing import Final

from regflow.flows.recovery import PASSWORD_RECOVERY
from regflow.flows.vneid import VNEID_REGISTRATION
from regflow.machine import BHXH_REGISTRATION

SHIPPED_FLOWS: Final = (BHXH_REGISTRATION, PASSWORD_RECOVERY, VNEID_REGISTRATION)
