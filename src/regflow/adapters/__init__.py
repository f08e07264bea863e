"""The adapters regflow ships, one module per technology.

- `regflow.adapters.memory`: in-memory stores, BHXH registry and rate limiter (tests, demos);
- `regflow.adapters.system`: the system clock;
- `regflow.adapters.console`: an SMS gateway that prints (the demo);
- `regflow.adapters.argon2`: the argon2id password hasher (production default);
- `regflow.adapters.demo`: the fictional BHXH citizens of the demo;
- `regflow.adapters.http`: resilient BHXH and SMS clients on httpx (extra `http`);
- `regflow.adapters.limits`: the rate limiter on `limits`, memory or Redis (extra `limits`).
"""
