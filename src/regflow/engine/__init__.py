"""The engine: runs any declared flow, one request at a time, over ports.

`Engine` is the public entry point, `AsyncEngine` the same engine for asyncio hosts;
`regflow.engine.codec` turns snapshots into the JSON documents text stores keep. The engine
imports no flow: it is given the declarations.
"""

from regflow.engine._async import AsyncEngine
from regflow.engine._engine import Engine

__all__ = ["AsyncEngine", "Engine"]
