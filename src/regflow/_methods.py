"""Who may register and how: the choices of the "Chọn phương thức đăng ký" screen."""

from __future__ import annotations

import attrs

from regflow._errors import Message


@attrs.frozen
class RegistrationMethod:
    """One supported (registrant type, method) pair, with the labels the screen shows."""

    subject: str
    method: str
    subject_label: Message
    method_label: Message


CITIZEN_BY_BHXH = RegistrationMethod(
    subject="citizen",
    method="bhxh",
    subject_label=Message("Công dân", "Citizen"),
    method_label=Message("Bảo hiểm xã hội", "Social insurance"),
)


@attrs.frozen
class MethodRegistry:
    """The methods a deployment offers; `with_method` returns an extended registry."""

    methods: tuple[RegistrationMethod, ...] = (CITIZEN_BY_BHXH,)

    def find(self, subject: object, method: object) -> RegistrationMethod | None:
        for offered in self.methods:
            if offered.subject == subject and offered.method == method:
                return offered
        return None

    def with_method(self, method: RegistrationMethod) -> MethodRegistry:
        return MethodRegistry((*self.methods, method))
