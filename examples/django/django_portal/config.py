"""What the composition root is given: `settings.REGFLOW_PORTAL`, a `PortalSettings`."""

from __future__ import annotations

import attrs

from regflow.ports import BhxhRegistry, Clock, PasswordHasher, SmsGateway


@attrs.frozen(kw_only=True)
class PortalSettings:
    """How the portal wires regflow.

    `database` is the alias in `settings.DATABASES` that holds the accounts (the ORM) and the
    flows (regflow's own store on the same database). The ports left None get regflow's
    production defaults (argon2id, the system clock); `bhxh` defaults to the demo registry and
    `sms` must be given (the console gateway prints OTPs: development only).
    """

    otp_secret: bytes = attrs.field(repr=False)
    sms: SmsGateway
    database: str = "default"
    bhxh: BhxhRegistry | None = None
    hasher: PasswordHasher | None = None
    clock: Clock | None = None
    seed_demo_accounts: bool = True
