"""The flows regflow ships, in the order `regflow flows` lists them."""

from __future__ import annotations

from typing import Final

from regflow.flows.recovery import PASSWORD_RECOVERY
from regflow.flows.vneid import VNEID_REGISTRATION
from regflow.machine import BHXH_REGISTRATION, BHXH_REGISTRATION_V1, BHXH_REGISTRATION_V2

#: The current version of each shipped flow: what new flows begin on, and what the tools
#: draw, check and document.
SHIPPED_FLOWS: Final = (BHXH_REGISTRATION, PASSWORD_RECOVERY, VNEID_REGISTRATION)
#: Older versions the default engines still run, so the flows begun on them finish there
#: (docs/versioning.md says when one can be retired).
SHIPPED_OLDER_VERSIONS: Final = (BHXH_REGISTRATION_V1, BHXH_REGISTRATION_V2)
#: What `regflow.bootstrap` and the fakes' engine run when given no flows.
ENGINE_FLOWS: Final = (*SHIPPED_FLOWS, *SHIPPED_OLDER_VERSIONS)
