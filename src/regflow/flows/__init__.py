"""The flows regflow ships, each declared once on the engine (`regflow.FlowSpec`).

- `regflow.machine`: the BHXH registration (``bhxh_registration``), the seed's steps;
  its rules live in `regflow.flows.registration`;
- `regflow.flows.recovery`: the password recovery (``password_recovery``, "Quên mật
  khẩu"), the seed's remedy for an account that already exists.
"""
