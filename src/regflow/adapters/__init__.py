"""The adapters regflow ships, one module per technology.

- `regflow.adapters.memory`: in-memory stores, BHXH registry and rate limiter (tests);
- `regflow.adapters.sqlite`: the SQLite stores (the embedded default, and the demo's);
- `regflow.adapters.postgres`: the PostgreSQL stores (extra `regflow[postgres]`);
  (both store a snapshot as `regflow.engine.codec` writes it, and upgrade an old one);
- `regflow.adapters.system`: the system clock;
- `regflow.adapters.console`: an SMS gateway that prints (the demo);
- `regflow.adapters.argon2`: the argon2id password hasher (production default);
- `regflow.adapters.demo`: the fictional BHXH citizens of the demo;
- `regflow.adapters.http`: resilient BHXH and SMS clients on httpx (extra `http`);
- `regflow.adapters.limits`: the rate limiter on `limits`, memory or Redis (extra `limits`).
"""
